"""The KPIs of SPEC section 6 computed the plain way, in pandas, from the input folder held in memory.

This is what a competent analyst would write without the pipeline: read the files, keep the needed
columns, and for each question filter the rows by code prefix and date with boolean masks. It is the
yardstick for the speed of `dashboard.queries.kpis` and, since it shares none of the pipeline's
SQL, a cross-check of the whole pipeline's answers. Only the header spellings and enumeration
labels of the contract are borrowed, to read the files.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.contract import SLA_HOURS, TABLES_BY_NAME, TAGS, header_lookup

SUFFIXES = (".parquet", ".csv", ".xlsx")
COLUMNS = {
    "regions": ["code", "level"],
    "residents": ["grid_code", "household_id", "birth_year", "residence_type", "tags"],
    "housing": ["grid_code", "usage"],
    "events": [
        "event_id",
        "grid_code",
        "category",
        "status",
        "reported_at",
        "resolved_at",
        "due_at",
        "resolution_level",
        "satisfaction",
    ],
    "collective_economy": ["village_code", "year", "operating_income", "operating_profit"],
    "devices": ["device_id", "grid_code", "status"],
    "alarms": ["alarm_id", "device_id", "raised_at", "status", "handled_at", "outcome", "event_id"],
}
ENUMS = {
    "regions": ["level"],
    "residents": ["residence_type"],
    "housing": ["usage"],
    "events": ["category", "status", "resolution_level", "satisfaction"],
    "devices": ["status"],
    "alarms": ["status", "outcome"],
}
TAG_SEPARATORS = r"[;,、，]"
GRASSROOTS = ["grid", "community", "township"]
SATISFIED = ["satisfied", "basically_satisfied"]


@dataclass
class Tables:
    residents: pd.DataFrame
    housing: pd.DataFrame
    events: pd.DataFrame
    economy: pd.DataFrame
    devices: pd.DataFrame
    alarms: pd.DataFrame


# ------------------------------------------------------------------------------ reading


def _file(folder: Path, table: str) -> Path:
    for suffix in SUFFIXES:
        path = folder / f"{table}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"{folder} has no {table} file")


def _read(folder: Path, table: str) -> pd.DataFrame:
    """One input file with the needed columns under their English names, enumerations as codes."""
    path = _file(folder, table)
    lookup = header_lookup(TABLES_BY_NAME[table])
    wanted = COLUMNS[table]
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        picked = [n for n in names if lookup.get(n.strip().lower(), lookup.get(n.strip())) in wanted]
        frame = pd.read_parquet(path, columns=picked)
    elif path.suffix == ".csv":
        frame = None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                frame = pd.read_csv(path, dtype=str, encoding=encoding)
                break
            except UnicodeDecodeError:
                continue
        if frame is None:
            raise ValueError(f"{path.name}: neither UTF-8 nor GB18030")
    else:
        frame = pd.read_excel(path, dtype=object, engine="calamine")
    frame = frame.rename(columns=lambda n: lookup.get(str(n).strip().lower(), lookup.get(str(n).strip(), n)))
    frame = frame[[c for c in wanted if c in frame.columns]].copy()
    for column in ENUMS.get(table, []):
        labels = {label: code for code, label in (TABLES_BY_NAME[table].column(column).enum or {}).items()}
        values = frame[column].astype("str").str.strip()
        frame[column] = values.where(~values.isin(list(labels)), values.map(labels)).where(
            frame[column].notna()
        )
    return frame


def _text(series: pd.Series) -> pd.Series:
    """Codes as text; a spreadsheet cell may hold one as a number (500153.0)."""
    if series.dtype == object:
        series = series.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else v)
    return series.astype("str").str.strip()


def _timestamp(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    return pd.to_datetime(series, format="mixed")


def load(folder: Path) -> Tables:
    """Read the input folder into memory: the needed columns, typed, joined to the regions they name."""
    folder = Path(folder)
    regions = _read(folder, "regions")
    regions["code"] = _text(regions["code"])
    grids = regions.loc[regions["level"] == "grid", "code"]
    villages = regions.loc[regions["level"] == "community", "code"]

    residents = _read(folder, "residents")
    residents["grid_code"] = _text(residents["grid_code"])
    residents = residents[residents["grid_code"].isin(grids)]
    residents["birth_year"] = pd.to_numeric(residents["birth_year"]).astype("int64")
    tags = residents.pop("tags").fillna("")
    for tag, label in TAGS.items():
        pattern = (
            rf"(?:^|{TAG_SEPARATORS})\s*(?:{re.escape(tag)}|{re.escape(label)})\s*(?:$|{TAG_SEPARATORS})"
        )
        residents[tag] = tags.str.contains(pattern, regex=True)

    housing = _read(folder, "housing")
    housing["grid_code"] = _text(housing["grid_code"])
    housing = housing[housing["grid_code"].isin(grids)]

    events = _read(folder, "events")
    events["grid_code"] = _text(events["grid_code"])
    events = events[events["grid_code"].isin(grids)]
    events = events.drop_duplicates("event_id", keep="last")  # a later row for an id supersedes
    for column in ("reported_at", "resolved_at", "due_at"):
        events[column] = _timestamp(events[column])
    default_due = events["reported_at"] + pd.to_timedelta(events["category"].map(SLA_HOURS), unit="h")
    events["due_at"] = events["due_at"].fillna(default_due)

    economy = _read(folder, "collective_economy")
    economy["village_code"] = _text(economy["village_code"])
    economy = economy[economy["village_code"].isin(villages)]
    economy["year"] = pd.to_numeric(economy["year"]).astype("int64")
    for column in ("operating_income", "operating_profit"):
        economy[column] = pd.to_numeric(economy[column]).astype("float64")
    economy = economy.drop_duplicates(["village_code", "year"], keep="last")

    devices, alarms = _iot(folder, grids)
    return Tables(
        residents.reset_index(drop=True),
        housing.reset_index(drop=True),
        events.reset_index(drop=True),
        economy.reset_index(drop=True),
        devices.reset_index(drop=True),
        alarms.reset_index(drop=True),
    )


def _iot(folder: Path, grids: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Devices in grids and their alarms, each in its last state, each alarm with its device's grid;
    empty frames for a city without sensors (both files are optional)."""
    try:
        devices = _read(folder, "devices")
    except FileNotFoundError:
        devices = pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS["devices"]})
    devices["grid_code"] = _text(devices["grid_code"])
    devices = devices[devices["grid_code"].isin(grids)].drop_duplicates("device_id", keep="last")
    try:
        alarms = _read(folder, "alarms")
    except FileNotFoundError:
        alarms = pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS["alarms"]})
    alarms = alarms.drop_duplicates("alarm_id", keep="last")
    alarms = alarms.merge(devices[["device_id", "grid_code"]], on="device_id", how="inner")
    for column in ("raised_at", "handled_at"):
        alarms[column] = _timestamp(alarms[column])
    return devices, alarms


# ------------------------------------------------------------------------------ answering


def _rate(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def kpis(tables: Tables, region: str, start: dt.date, end: dt.date, year: int | None = None) -> dict:
    """The KPI object of SPEC section 6, computed in pandas."""
    year = end.year if year is None else int(year)

    people = tables.residents[tables.residents["grid_code"].str.startswith(region)]
    residents = len(people)
    population = {
        "residents": residents,
        "households": int(people["household_id"].nunique()),
        "elderly_share": _rate((end.year - people["birth_year"] >= 60).sum(), residents),
        "floating_share": _rate((people["residence_type"] == "floating").sum(), residents),
        "special_care": {tag: int(people[tag].sum()) for tag in TAGS},
    }

    houses = tables.housing[tables.housing["grid_code"].str.startswith(region)]
    units = len(houses)
    rented = int((houses["usage"] == "rented").sum())
    housing = {
        "units": units,
        "rented": rented,
        "rental_share": _rate(rented, units),
        "vacancy_rate": _rate((houses["usage"] == "vacant").sum(), units),
    }

    day_after = pd.Timestamp(end) + pd.Timedelta(days=1)
    e = tables.events
    under = e[e["grid_code"].str.startswith(region) & (e["status"] != "cancelled")]
    # the backlog at the end of the period, whenever its events were reported
    backlog = under[
        (under["reported_at"] < day_after)
        & (under["due_at"] < day_after)
        & (under["resolved_at"].isna() | (under["resolved_at"] >= day_after))
    ]
    e = under[(under["reported_at"] >= pd.Timestamp(start)) & (under["reported_at"] < day_after)]
    resolved = e[e["status"] == "resolved"]
    hours = (resolved["resolved_at"] - resolved["reported_at"]).dt.total_seconds() / 3600
    disputes = e[e["category"] == "dispute"]
    grassroots = disputes[(disputes["status"] == "resolved") & disputes["resolution_level"].isin(GRASSROOTS)]
    rated = e[e["satisfaction"].notna()]
    events = {
        "total": len(e),
        "resolved": len(resolved),
        "resolution_rate": _rate(len(resolved), len(e)),
        "on_time_rate": _rate((resolved["resolved_at"] <= resolved["due_at"]).sum(), len(resolved)),
        "median_hours_to_resolve": float(hours.median()) if len(hours) else None,
        "grassroots_rate": _rate(len(grassroots), len(disputes)),
        "satisfaction_rate": _rate(rated["satisfaction"].isin(SATISFIED).sum(), len(rated)),
        "overdue_open": len(backlog),
    }

    v = tables.economy
    v = v[v["village_code"].str.startswith(region) & (v["year"] == year)]
    villages = len(v)
    economy = {
        "villages": villages,
        "operating_income": float(v["operating_income"].sum()),
        "share_ge_50k": _rate((v["operating_income"] >= 50_000).sum(), villages),
        "share_ge_100k": _rate((v["operating_income"] >= 100_000).sum(), villages),
        "share_profit_ge_100k": _rate((v["operating_profit"] >= 100_000).sum(), villages),
    }
    d = tables.devices
    d = d[d["grid_code"].str.startswith(region) & (d["status"] != "retired")]
    a = tables.alarms
    a = a[
        a["grid_code"].str.startswith(region)
        & (a["raised_at"] >= pd.Timestamp(start))
        & (a["raised_at"] < day_after)
    ]
    handled = a[a["status"] == "handled"]
    minutes = (handled["handled_at"] - handled["raised_at"]).dt.total_seconds() / 60
    verified = handled[handled["outcome"].notna()]
    iot = {
        "devices": len(d),
        "online_share": _rate((d["status"] == "online").sum(), len(d)),
        "alarms": len(a),
        "handled": len(handled),
        "handled_rate": _rate(len(handled), len(a)),
        "median_minutes_to_handle": float(minutes.median()) if len(minutes) else None,
        "false_alarm_share": _rate((verified["outcome"] == "false_alarm").sum(), len(verified)),
        "open_alarms": int((a["status"] == "open").sum()),
        "escalated": int(a["event_id"].notna().sum()),
    }
    return {
        "region": region,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "year": year,
        "population": population,
        "housing": housing,
        "events": events,
        "collective_economy": economy,
        "iot": iot,
    }


def differences(ours: dict, theirs: dict, tolerance: float = 1e-9, prefix: str = "") -> list[tuple]:
    """(key, ours, theirs) for every value that differs: numbers within `tolerance` (absolute, or
    relative for large sums) are equal; keys present on one side only differ."""
    found = []
    for key in sorted(set(ours) | set(theirs)):
        name = f"{prefix}{key}"
        a, b = ours.get(key, "<missing>"), theirs.get(key, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, tolerance, prefix=name + ".")
        elif not _same(a, b, tolerance):
            found.append((name, a, b))
    return found


def _same(a, b, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    return abs(a - b) <= max(tolerance, tolerance * max(abs(a), abs(b)))
