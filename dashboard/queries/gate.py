"""The gate: every question a page asks passes here, and here scope and suppression apply.

A page never calls a query function itself. It asks by name, with the principal:

    from dashboard.data import ask                        # cached, for pages
    current, previous = ask(principal, "kpis_with_previous", db, code, start, end)

    Gate(principal).ask("age_pyramid", db, code, end)     # uncached, e.g. for a report

On the way in, the gate
- refuses a name that no query registered (`@regional("code")` or `@general` on the function);
- checks the region argument of a regional query against the principal's scope before the query
  runs: a region outside it raises `OutOfScope` (无权查看 …) and nothing is read.

On the way out, it
- drops rows of regions outside the scope (the breadcrumb starts at the scope's own region);
- hides small counts about people in units smaller than a township (SPEC section 7): a count below 5
  is shown as "<5", and further cells are withheld ("…") until no hidden count follows from shown
  figures by one subtraction: a total minus the rest of its row, its column, or a parent's figure
  minus its other children (`protect`, `suppress_table`). A place's own figures (its cards, its
  report) are hidden as its parent's list of children hides them, so a figure withheld in one table
  is withheld wherever it appears. Each query that returns such counts has its rule in `RULES`.

Operator commands (the `kpi` and `report` commands, the benchmarks) call the functions directly, or
ask as `OPERATOR`, who sees the whole city with the same suppression.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboard.access import Principal
from dashboard.queries.common import SMALL_UNIT_LEVELS, SUPPRESSED_TEXT, _level_of
from dashboard.queries.connections import QueryError
from pipelines.contract import CITY_CODE, SUPPRESS_BELOW, TAGS

WITHHELD_TEXT = "…"  # withheld so that a "<5" cannot be worked out; the value itself is not small
# residents are a snapshot: any day serves to read them (the day only moves the elderly count)
SNAPSHOT_DAY = dt.date(2000, 1, 1)
OPERATOR = Principal(name="operator", role="admin", scope=CITY_CODE, via="command")


class OutOfScope(QueryError):
    """A region outside the principal's scope: refused before anything is read."""


# --------------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Query:
    """A query function the gate may call, and which of its arguments names the region."""

    name: str
    function: Callable[..., Any]
    region: str | None  # None: the same for everyone (build facts, the years there are)
    signature: inspect.Signature


REGISTRY: dict[str, Query] = {}


def _register(function: Callable[..., Any], region: str | None) -> None:
    signature = inspect.signature(function)
    if region is not None and region not in signature.parameters:
        raise TypeError(f"{function.__name__} has no argument {region!r}")
    REGISTRY[function.__name__] = Query(function.__name__, function, region, signature)


def regional(argument: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a query whose `argument` is a region code (or a list of codes) to check against scope."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _register(function, argument)
        return function

    return register


def general(function: Callable[..., Any]) -> Callable[..., Any]:
    """Register a query that reads nothing regional: the same answer whoever asks."""
    _register(function, None)
    return function


# ------------------------------------------------------------------------------------ scope


def _codes_asked(query: Query, args: tuple, kwargs: dict) -> list[str]:
    try:
        bound = query.signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise QueryError(f"查询 {query.name} 的参数有误：{exc}") from None
    value = bound.arguments[query.region]
    values = value if isinstance(value, list | tuple) else [value]
    return [str(code).strip() for code in values]


def admit(scope: str, name: str, args: tuple, kwargs: dict) -> Query:
    """The registered query `name`, once its region lies inside `scope`; refused otherwise."""
    query = REGISTRY.get(name)
    if query is None:
        raise QueryError(f"未登记的查询：{name}")
    if query.region is not None:
        for code in _codes_asked(query, args, kwargs):
            if not (code.isascii() and code.isdigit() and code.startswith(CITY_CODE)):
                raise QueryError(f"区划代码 {code} 不存在")  # no region of this city: for anyone
            if not code.startswith(scope):
                raise OutOfScope(f"无权查看 {code}（仅限 {scope} 及其下级）")
    return query


def _confined(result: Any, scope: str) -> Any:
    """Rows of regions outside the scope dropped (regions above it, which name the scope's place,
    stay: a community's economy figures are grouped under its township)."""
    if scope == CITY_CODE:
        return result
    if isinstance(result, pd.DataFrame) and "code" in result.columns and len(result):
        codes = result["code"].astype(str)
        keep = codes.str.startswith(scope) | codes.map(lambda code: scope.startswith(code))
        if not keep.all():
            return result[keep].reset_index(drop=True)
    if isinstance(result, dict) and result and all(isinstance(key, str) for key in result):
        return {key: value for key, value in result.items() if not key.isdigit() or key.startswith(scope)}
    return result


def ask_within(scope: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the query `name` for a principal confined to `scope`, and return what may be shown."""
    query = admit(scope, name, args, kwargs)
    result = query.function(*args, **kwargs)
    arguments = query.signature.bind(*args, **kwargs)
    arguments.apply_defaults()
    rule = RULES.get(name)
    if rule is not None:
        result = rule(result, dict(arguments.arguments), scope)
    return _confined(result, scope)


class Gate:
    """The principal's way to the data: `Gate(principal).ask("kpis", db, code, start, end)`."""

    def __init__(self, principal: Principal) -> None:
        if not isinstance(principal, Principal):
            raise QueryError("无权查看：未登录")
        self.principal = principal

    def ask(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return ask_within(self.principal.scope, name, *args, **kwargs)


# ----------------------------------------------------------------------- small numbers


def protect(
    values: Sequence[float],
    hidden: Sequence[bool],
    relations: Sequence[tuple[int, Sequence[int]]],
    fixed: Sequence[bool] | None = None,
) -> list[bool]:
    """Complementary suppression: which values to hide so that no hidden one follows from the others.

    values: every figure, the totals among them. hidden: those hidden already (below 5). relations:
    (total, parts) pairs of positions in `values` such that values[total] = sum of values[parts] and
    a reader could know it. fixed: figures shown elsewhere, which hiding here would not protect.
    While a relation has exactly one hidden figure (it would be the total minus the rest), the
    smallest other figure of that relation that is neither hidden nor fixed is hidden too, until
    nothing changes; a figure that another relation would give straight back (all else in it shown
    and fixed) is passed over while there is another. Returns the new hidden mask.
    """
    hidden = [bool(h) for h in hidden]
    fixed = [bool(f) for f in fixed] if fixed is not None else [False] * len(values)
    member_of: dict[int, list[list[int]]] = {}
    for total, parts in relations:
        members = [total, *parts]
        for i in members:
            member_of.setdefault(i, []).append(members)

    def given_back(i: int) -> bool:
        """Hidden alone, `i` would follow from a relation where nothing else could be hidden."""
        return any(
            all(not hidden[j] and fixed[j] for j in members if j != i) for members in member_of.get(i, [])
        )

    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            members = [total, *parts]
            if sum(hidden[i] for i in members) != 1:
                continue
            candidates = [i for i in members if not hidden[i] and not fixed[i]]
            if candidates:
                useful = [i for i in candidates if not given_back(i)] or candidates
                hidden[min(useful, key=lambda i: (values[i], i))] = True
                changed = True
    return hidden


@dataclass
class Shown:
    """What `suppress_table` lets through: True where a figure is hidden."""

    cells: pd.DataFrame
    row_totals: pd.Series
    column_totals: pd.Series
    primary: pd.DataFrame  # hidden because below 5 ("<5"); the rest of `cells` is withheld ("…")


def suppress_table(
    counts: pd.DataFrame,
    small: bool | Sequence[bool] = True,
    *,
    row_totals: bool = False,
    column_totals: bool = False,
    small_totals: bool = False,
    hidden_column_totals: Sequence[bool] | None = None,
) -> Shown:
    """Which cells of a table of counts may be shown, its row and column totals being known.

    counts: rows by columns of counts of people. small: whether each row (or all) is a unit smaller
    than a township, where a count below 5 is hidden. row_totals / column_totals: whether each row's /
    column's total is shown (a column total is also a parent's figure, its children being the rows).
    small_totals: whether the totals belong to a small unit too (hidden below 5 themselves).
    hidden_column_totals: which column totals are hidden, where another table decided it (a parent's
    own figures as its parent's table shows them). Totals are shown elsewhere, so hiding them would
    protect nothing: only cells are withheld.
    """
    values = counts.to_numpy(dtype=float)
    n_rows, n_columns = values.shape
    small_rows = np.broadcast_to(np.asarray(small, dtype=bool), (n_rows,))
    row_sums, column_sums = values.sum(axis=1), values.sum(axis=0)
    flat = [*values.ravel(), *row_sums, *column_sums]
    primary_cells = (values < SUPPRESS_BELOW) & small_rows[:, None]
    hidden = [
        *primary_cells.ravel(),
        *((row_sums < SUPPRESS_BELOW) & small_totals if row_totals else np.ones(n_rows, bool)),
        *(
            np.asarray(hidden_column_totals, dtype=bool)
            if column_totals and hidden_column_totals is not None
            else (column_sums < SUPPRESS_BELOW) & small_totals
            if column_totals
            else np.ones(n_columns, bool)
        ),
    ]
    fixed = [False] * values.size + [True] * (n_rows + n_columns)
    relations = []
    if row_totals:
        relations += [(values.size + r, [r * n_columns + c for c in range(n_columns)]) for r in range(n_rows)]
    if column_totals:
        relations += [
            (values.size + n_rows + c, [r * n_columns + c for r in range(n_rows)]) for c in range(n_columns)
        ]
    mask = np.array(protect(flat, hidden, relations, fixed))
    cells = pd.DataFrame(
        mask[: values.size].reshape(values.shape), index=counts.index, columns=counts.columns
    )
    return Shown(
        cells=cells,
        row_totals=pd.Series(mask[values.size : values.size + n_rows] & row_totals, index=counts.index),
        column_totals=pd.Series(mask[values.size + n_rows :] & column_totals, index=counts.columns),
        primary=pd.DataFrame(primary_cells, index=counts.index, columns=counts.columns),
    )


def _small(code: str) -> bool:
    return _level_of(str(code)) in SMALL_UNIT_LEVELS


def _texts(values: pd.Series, hidden: pd.Series, primary: pd.Series) -> list[str]:
    return [
        (SUPPRESSED_TEXT if p else WITHHELD_TEXT) if h else f"{int(v):,}"
        for v, h, p in zip(values.fillna(0), hidden, primary, strict=True)
    ]


def _hide(frame: pd.DataFrame, column: str, hidden: pd.Series, primary: pd.Series) -> pd.DataFrame:
    """`column` as nullable integers, NA where hidden, with the text to show beside it."""
    values = frame[column].astype("Int64")
    frame[f"{column}_shown"] = _texts(values, hidden, primary)
    frame[column] = values.mask(hidden.to_numpy())
    return frame


def primary_suppressed(frame: pd.DataFrame, counts: list[str], small: pd.Series) -> pd.DataFrame:
    """Counts below 5 in small units replaced by NA, with the text to show beside each (no totals)."""
    out = frame.copy()
    for column in counts:
        hidden = small & (out[column].astype("Int64") < SUPPRESS_BELOW).fillna(False)
        out = _hide(out, column, hidden, hidden)
    return out


def _parent(code: str) -> str:
    return code[: {15: 12, 12: 9, 9: 6, 6: 2}.get(len(code), 0)]


def _care_of_children(db: Any, code: str) -> tuple[pd.DataFrame, Shown]:
    """The children's special-care counts (child by tag) and what of them may be shown.

    Each tag's column adds up to the region's own count, as the region's own page and its parent's
    table show it; the region's own counts are taken from the same decision one level up, so a count
    withheld in one table is withheld wherever it appears, and no page gives back what another hides.
    """
    frame = REGISTRY["special_care_by_child"].function(db, code)
    wide = frame.pivot(index="code", columns="tag", values="residents").reindex(columns=list(TAGS)).fillna(0)
    small = frame.drop_duplicates("code").set_index("code")["level"].isin(SMALL_UNIT_LEVELS)
    own = _care_of(db, code)
    return wide, suppress_table(
        wide,
        small.reindex(wide.index).to_numpy(),
        column_totals=True,
        hidden_column_totals=own["hidden"].reindex(list(TAGS)).fillna(False).to_numpy(),
    )


def _care_of(db: Any, code: str) -> pd.DataFrame:
    """A region's own special-care counts by tag (index), with `hidden` and `primary` (below 5): as its
    parent's table shows them in a community or grid, all shown above."""
    frame = REGISTRY["special_care"].function(db, code).set_index("tag")
    if not _small(code) or frame.empty:
        return frame.assign(hidden=False, primary=False)
    _, shown = _care_of_children(db, _parent(code))
    if code not in shown.cells.index:  # not among its parent's children: only its own counts to go by
        below = frame["residents"] < SUPPRESS_BELOW
        return frame.assign(hidden=below, primary=below)
    return frame.assign(
        hidden=shown.cells.loc[code].reindex(frame.index).to_numpy(),
        primary=shown.primary.loc[code].reindex(frame.index).to_numpy(),
    )


def _special_care(frame: pd.DataFrame, arguments: dict, scope: str) -> pd.DataFrame:
    """A region's own special-care counts: tags overlap, so no total of them; in a community or grid
    hidden as its parent's table hides them."""
    if frame.empty:
        return frame.assign(
            residents=frame["residents"].astype("Int64"), residents_shown=pd.Series(dtype=str)
        )
    care = _care_of(arguments["db"], str(arguments["code"])).reindex(frame["tag"])
    out = frame.copy()
    return _hide(
        out,
        "residents",
        pd.Series(care["hidden"].to_numpy(dtype=bool), index=out.index),
        pd.Series(care["primary"].to_numpy(dtype=bool), index=out.index),
    )


def _special_care_by_child(frame: pd.DataFrame, arguments: dict, scope: str) -> pd.DataFrame:
    """Children by tag; each tag's column adds up to the parent's own count, shown on the same page."""
    if frame.empty:
        return frame.assign(
            residents=frame["residents"].astype("Int64"), residents_shown=pd.Series(dtype=str)
        )
    _, shown = _care_of_children(arguments["db"], str(arguments["code"]))
    keys = pd.MultiIndex.from_arrays([frame["code"], frame["tag"]])
    out = frame.copy()
    return _hide(
        out,
        "residents",
        pd.Series(shown.cells.stack().reindex(keys).to_numpy(dtype=bool), index=out.index),
        pd.Series(shown.primary.stack().reindex(keys).to_numpy(dtype=bool), index=out.index),
    )


def _age_pyramid(frame: pd.DataFrame, arguments: dict, scope: str) -> pd.DataFrame:
    """Cells add up to the residents (a card); from 60 on to the elderly (the elderly share card), below
    60 to the residents minus the elderly; each total hidden where the region's own figure is."""
    code = str(arguments["code"])
    if frame.empty or not _small(code):
        return frame
    own = _people_of(arguments["db"], code, arguments["end"])
    values = [float(v) for v in frame["residents"]]
    old = (frame["age_start"] >= 60).to_numpy()
    cells = len(values)
    elderly = sum(v for v, o in zip(values, old, strict=True) if o)
    residents = sum(values)
    primary = [v < SUPPRESS_BELOW for v in values]
    everyone, older, younger = cells, cells + 1, cells + 2
    flat = [*values, residents, elderly, residents - elderly]
    hidden = [*primary, own["residents"], own["elderly"], own["residents"] or own["elderly"]]
    fixed = [False] * cells + [True] * 3
    relations = [
        (everyone, range(cells)),
        (older, [i for i in range(cells) if old[i]]),
        (younger, [i for i in range(cells) if not old[i]]),
        (everyone, [older, younger]),
    ]
    mask = pd.Series(protect(flat, hidden, relations, fixed)[:cells], index=frame.index)
    return _hide(frame.copy(), "residents", mask, pd.Series(primary, index=frame.index))


PEOPLE = ("residents", "floating", "elderly")


def _people_table(frame: pd.DataFrame, own_hidden: dict[str, bool]) -> Shown:
    """What of the children's residents, floating and elderly (by code) may be shown: each column adds
    up to the region's own figure (its cards), hidden or not as `own_hidden` says."""
    counts = frame.set_index("code")[list(PEOPLE)].fillna(0)
    small = frame["level"].isin(SMALL_UNIT_LEVELS).to_numpy()
    return suppress_table(
        counts, small, column_totals=True, hidden_column_totals=[own_hidden[column] for column in PEOPLE]
    )


def _people_of(db: Any, code: str, end: Any) -> dict[str, bool]:
    """Which of a region's own residents, floating and elderly figures are hidden: in a community or
    grid as its parent's list of children hides them (so that no page gives back what that list
    withholds), nothing above."""
    if not _small(code):
        return dict.fromkeys(PEOPLE, False)
    parent = _parent(code)
    siblings = REGISTRY["population_by_child"].function(db, parent, end)
    shown = _people_table(siblings, _people_of(db, parent, end))
    if code not in shown.cells.index:
        return dict.fromkeys(PEOPLE, False)
    return {column: bool(shown.cells.at[code, column]) for column in PEOPLE}


def _population_composition(frame: pd.DataFrame, arguments: dict, scope: str) -> pd.DataFrame:
    """Residence types add up to the residents (a card); the floating count is also the floating share
    card's, shown or hidden as there."""
    code = str(arguments["code"])
    if frame.empty or not _small(code):
        return frame
    own = _people_of(arguments["db"], code, SNAPSHOT_DAY)
    values = [float(v) for v in frame["residents"]]
    floating = (frame["residence_type"] == "floating").to_numpy()
    primary = [v < SUPPRESS_BELOW or (f and own["floating"]) for v, f in zip(values, floating, strict=True)]
    types = len(values)
    flat, hidden = [*values, sum(values)], [*primary, own["residents"]]
    fixed = [bool(f) for f in floating] + [True]  # the floating count is the card's, the total too
    mask = pd.Series(protect(flat, hidden, [(types, range(types))], fixed)[:types], index=frame.index)
    below = pd.Series([v < SUPPRESS_BELOW for v in values], index=frame.index)
    out = _hide(frame.copy(), "residents", mask, below)
    out.loc[mask.to_numpy(), "share"] = np.nan
    return out


def _population_by_child(frame: pd.DataFrame, arguments: dict, scope: str) -> pd.DataFrame:
    """Each child's residents, floating and elderly; each column adds up to the region's card."""
    if frame.empty:
        return frame
    code = str(arguments["code"])
    shown = _people_table(frame, _people_of(arguments["db"], code, arguments["end"]))
    out = frame.copy()
    for column in PEOPLE:
        hidden = pd.Series(shown.cells[column].to_numpy(), index=out.index)
        out = _hide(out, column, hidden, pd.Series(shown.primary[column].to_numpy(), index=out.index))
    out.loc[out["residents"].isna() | out["elderly"].isna(), "elderly_share"] = np.nan
    out.loc[out["residents"].isna() | out["floating"].isna(), "floating_share"] = np.nan
    if "households" in out.columns:
        # Residents are at least their households: a small unit's household count would bound a
        # hidden resident count from below, so below a township it is not shown at all.
        small = out["level"].isin(SMALL_UNIT_LEVELS)
        out = _hide(out, "households", small, pd.Series(False, index=out.index))
    return out


def _cells(frame: pd.DataFrame, arguments: dict, scope: str) -> pd.DataFrame:
    """Map cells are smaller than a township wherever the map is finer than the city's: their residents
    add up to the region's, and the density would give a hidden count back. On a community's pages
    each cell is also the sum of its grids, whose residents the population page lists: a cell is
    withheld where it would give a hidden grid back."""
    code = str(arguments["code"])
    if frame.empty or "residents" not in frame.columns or len(code) <= len(CITY_CODE):
        return frame
    values = [float(v) for v in frame["residents"].fillna(0)]
    primary = [v < SUPPRESS_BELOW for v in values]
    cells = len(values)
    total_hidden = _people_of(arguments["db"], code, SNAPSHOT_DAY)["residents"]
    flat, hidden, fixed = [*values, sum(values)], [*primary, total_hidden], [False] * cells + [True]
    relations: list[tuple[int, Sequence[int]]] = [(cells, range(cells))]
    if _level_of(code) == "community":
        grids = _population_by_child(
            REGISTRY["population_by_child"].function(arguments["db"], code, SNAPSHOT_DAY),
            {**arguments, "end": SNAPSHOT_DAY},
            scope,
        )
        where = REGISTRY["grid_cells"].function(arguments["db"], code).set_index("code")["cell"]
        position = {cell: number for number, cell in enumerate(frame["cell"])}
        parts: dict[int, list[int]] = {}
        for grid in grids.itertuples():
            flat.append(0.0 if pd.isna(grid.residents) else float(grid.residents))
            hidden.append(bool(pd.isna(grid.residents)))
            fixed.append(True)  # decided by the population page's list of grids
            cell = position.get(where.get(grid.code))
            if cell is not None:
                parts.setdefault(cell, []).append(len(flat) - 1)
        relations += [(cell, members) for cell, members in parts.items()]
    mask = pd.Series(protect(flat, hidden, relations, fixed)[:cells], index=frame.index)
    out = _hide(frame.copy(), "residents", mask, pd.Series(primary, index=frame.index))
    # maps and tooltips take numbers: a hidden cell is NaN, drawn as "—"
    out["residents"] = out["residents"].to_numpy(dtype=float, na_value=np.nan)
    if "density" in out.columns:
        out.loc[mask.to_numpy(), "density"] = np.nan
    return out


def _kpi_object(kpis: dict, db: Any, code: str) -> dict:
    """In a small unit: special-care counts, residents, and the shares that would give a hidden count
    back, None where the population page hides them."""
    if not _small(code):
        return kpis
    people = dict(kpis["population"])
    hidden = _care_of(db, code)["hidden"]
    people["special_care"] = {
        tag: (None if bool(hidden.get(tag, count < SUPPRESS_BELOW)) else count)
        for tag, count in people["special_care"].items()
    }
    own = _people_of(db, code, kpis["to"])
    people["households"] = None  # never below a township: see _population_by_child
    if own["residents"]:
        people["residents"] = None
    if own["residents"] or own["elderly"]:
        people["elderly_share"] = None
    if own["residents"] or own["floating"]:
        people["floating_share"] = None
    return {**kpis, "population": people}


def _kpis(result: dict, arguments: dict, scope: str) -> dict:
    return _kpi_object(result, arguments["db"], str(arguments["region"]).strip())


def _kpis_with_previous(result: tuple[dict, dict], arguments: dict, scope: str) -> tuple[dict, dict]:
    hidden = [_kpi_object(kpis, arguments["db"], str(arguments["region"]).strip()) for kpis in result]
    return hidden[0], hidden[1]


def _ancestors(frame: pd.DataFrame, arguments: dict, scope: str) -> pd.DataFrame:
    """The path from the scope's own region down: nothing above the scope to climb to."""
    return frame[frame["code"].astype(str).str.startswith(scope)].reset_index(drop=True)


# What each query may show, by name: the rule gets the result, the arguments and the scope.
RULES: dict[str, Callable[[Any, dict, str], Any]] = {
    "kpis": _kpis,
    "kpis_with_previous": _kpis_with_previous,
    "special_care": _special_care,
    "special_care_by_child": _special_care_by_child,
    "age_pyramid": _age_pyramid,
    "population_composition": _population_composition,
    "population_by_child": _population_by_child,
    "population_cells": _cells,
    "map_cells": _cells,
    "ancestors": _ancestors,
}
