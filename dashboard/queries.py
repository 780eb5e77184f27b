"""The query layer: the only reader of the database. Pages and commands ask here, never in SQL.

Every function takes the database path and, where it reads regional data, an optional `scope`: a
region code that confines the query (a user limited to a district can ask about nothing else).
Values always travel as parameters, never pasted into SQL.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipelines.contract import CITY_CODE, LEVELS, SUPPRESS_BELOW, TAGS

DateLike = dt.date | str


class QueryError(Exception):
    """A question the database cannot answer: no database, unknown region, region out of scope."""


# ------------------------------------------------------------------------------ connections

_connections: dict[str, tuple[tuple[int, int], duckdb.DuckDBPyConnection]] = {}
_lock = threading.Lock()


def cursor(db: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A fresh cursor on a read-only connection to the file as it is published now.

    A publish renames a new file over the old one; the connection is reopened when the file
    changes, while cursors already handed out keep reading the file they started on.
    """
    path = os.path.abspath(db)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise QueryError(f"数据库不存在：{db}") from None
    identity = (stat.st_ino, stat.st_mtime_ns)
    with _lock:
        cached = _connections.get(path)
        if cached is None or cached[0] != identity:
            try:
                connection = _open(path)
            except duckdb.Error as exc:
                raise QueryError(f"无法打开数据库 {db}：{str(exc).splitlines()[0]}") from None
            _connections[path] = (identity, connection)
            cached = _connections[path]
        handed_out = cached[1].cursor()
    handed_out.execute(f"use {_PUBLISHED}")
    return handed_out


_PUBLISHED = "published"


def _open(path: str) -> duckdb.DuckDBPyConnection:
    """A connection to the file at `path` as it is now.

    Not `duckdb.connect(path)`: DuckDB keeps one database instance per path in a process, so after a
    publish it would hand back the replaced file for as long as any cursor on it lives
    (duckdb/duckdb#15912). A fresh in-memory instance that attaches the file reads what is there now.
    """
    connection = duckdb.connect(":memory:")
    try:
        connection.execute(f"attach '{path.replace(chr(39), chr(39) * 2)}' as {_PUBLISHED} (read_only)")
    except duckdb.Error:
        connection.close()
        raise
    return connection


def publication(db: str | os.PathLike) -> tuple[int, int]:
    """What identifies the published file now; caches key on it to notice a new publish."""
    try:
        stat = os.stat(db)
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_ino, stat.st_mtime_ns)


def _frame(cur: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> pd.DataFrame:
    try:
        return cur.execute(sql, params).df()
    except duckdb.Error as exc:
        raise QueryError(f"查询失败：{str(exc).splitlines()[0]}") from None


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> list[tuple]:
    try:
        return cur.execute(sql, params).fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"查询失败：{str(exc).splitlines()[0]}") from None


def _one(cur: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> dict:
    try:
        result = cur.execute(sql, params)
        names = [d[0] for d in result.description]
        rows = result.fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"查询失败：{str(exc).splitlines()[0]}") from None
    return dict(zip(names, rows[0], strict=True)) if rows else {}


_held = threading.local()


def _thread_cursor(db: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """This thread's cursor on the file as published now, kept for the thread's next questions.

    Making a cursor and pointing it at the published file costs as much as a small query, and a page
    asks many questions in one run. The thread keeps one cursor, for the database it asked last, and
    makes another when a new file is published or it asks another database; the old one is closed
    then, so a replaced file stays open only until the thread's next question. The caller does not
    close it.
    """
    path = os.path.abspath(db)
    identity = publication(path)
    kept = getattr(_held, "kept", None)
    if kept is not None:
        if kept[:2] == (path, identity):
            return kept[2]
        _held.kept = None
        kept[2].close()
    fresh = cursor(path)
    _held.kept = (path, identity, fresh)
    return fresh


def _fetch_df(db: str | os.PathLike, sql: str, params: dict | list | None = None) -> pd.DataFrame:
    return _frame(_thread_cursor(db), sql, params)


def _fetch_one(db: str | os.PathLike, sql: str, params: dict | list | None = None) -> dict:
    return _one(_thread_cursor(db), sql, params)


# ---------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """Dates from start to end, both inclusive."""

    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, start: DateLike, end: DateLike) -> Period:
        period = cls(_as_date(start), _as_date(end))
        if period.start > period.end:
            raise QueryError(f"开始日期 {period.start} 晚于结束日期 {period.end}")
        return period

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)


def _as_date(value: DateLike) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise QueryError(f"不是 YYYY-MM-DD 格式的日期：{value}") from None


def twelve_months_ending(day: dt.date) -> Period:
    """The 12 months ending on `day`."""
    try:
        start = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        start = day.replace(year=day.year - 1, day=28)
    return Period(start + dt.timedelta(days=1), day)


# ---------------------------------------------------------------------------------- regions


def region_range(code: str) -> tuple[str, str]:
    """Bounds such that lo <= c < hi holds exactly for the codes that begin with `code`."""
    return code, code + ":"  # ':' sorts right after '9'


def check_scope(region: str, scope: str | None) -> None:
    """A region outside the user's scope is refused here, in the data layer."""
    if scope and not str(region).startswith(scope):
        raise QueryError(f"无权查看区划 {region}（仅限 {scope} 及其下级）")


def region(db: str | os.PathLike, code: str, scope: str | None = None) -> dict:
    """One region's row of the regions mart; QueryError when it does not exist."""
    code = str(code).strip()
    check_scope(code, scope)
    row = _fetch_one(db, "select * from regions where code = ?", [code])
    if not row:
        raise QueryError(f"区划代码 {code} 不存在")
    return row


def build_info(db: str | os.PathLike) -> dict:
    """When and from what the database was published."""
    return _fetch_one(db, "select * from build_info")


def default_period(db: str | os.PathLike) -> Period:
    """The 12 months ending on the day of the latest event (today when there are no events)."""
    latest = build_info(db).get("latest_event_date") or dt.date.today()
    return twelve_months_ending(latest)


# -------------------------------------------------------------------------------------- KPIs

KPI_SQL = f"""
with snapshot as (
    select
        residents, households, floating,
        {", ".join(TAGS)},
        units, rented, vacant,
        first_birth_year, residents_born_by, economy_by_year
    from region_snapshot
    where region_code = $region
),

event_counts as (
    select
        sum(total) as total,
        sum(resolved) as resolved,
        sum(resolved_on_time) as resolved_on_time,
        sum(disputes) as disputes,
        sum(disputes_grassroots) as disputes_grassroots,
        sum(rated) as rated,
        sum(satisfied) as satisfied,
        sum(len(list_filter(open_due_dates, lambda due: due <= $end))) as overdue_open
    from events_by_region_day
    where region_number = $region_number
      and reported_date between $start and $end
),

resolve_median as (
    select median(ms_to_resolve) / 3600000.0 as median_hours_to_resolve
    from resolve_times_by_grid
    where grid_number >= $grid_lo and grid_number < $grid_hi
      and reported_date between $start and $end
)

select snapshot.*, event_counts.*, resolve_median.*
from event_counts
cross join resolve_median
left join snapshot on true
"""


def _born_by(row: dict, year: int) -> int:
    """Residents born in or before `year`: residents_born_by holds that count for each year from
    first_birth_year to the last birth year."""
    counts, first = row["residents_born_by"], row["first_birth_year"]
    if not counts or year < first:
        return 0
    return int(counts[min(year - first, len(counts) - 1)])


def _economy_of(row: dict, year: int) -> dict:
    """The collective-economy figures of `year` from the region's list by year ({} without any)."""
    return next((figures for figures in row["economy_by_year"] or () if figures["year"] == year), {})


def _grid_numbers(code: str) -> tuple[int, int]:
    """The grid numbers (grid codes read as numbers) under a region: [lo, hi)."""
    padding = 10 ** (LEVELS["grid"] - len(code))
    return int(code) * padding, (int(code) + 1) * padding


def _city_median_hours_to_resolve(
    cur: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date
) -> float | None:
    """The exact median of resolved_at - reported_at in hours over the city's resolved events.

    No filter narrows the city's scan, so the histogram of durations by day finds the buckets
    holding the middle ranks, and only those buckets' durations are read (resolve_times is
    clustered by them), the middle one or two picked from them by DuckDB.
    """
    period = {"start": start, "end": end}
    counts = _rows(
        cur,
        """
        select bucket, sum(events) as events
        from resolve_time_histogram
        where reported_date between $start and $end
        group by bucket
        order by bucket
        """,
        period,
    )
    total = sum(events for _, events in counts)
    if total == 0:
        return None
    low, high = (total - 1) // 2, total // 2  # ranks from 0 of the middle value, or the middle two
    first = last = skipped = None
    below = 0
    for bucket, events in counts:
        if first is None and below + events > low:
            first, skipped = bucket, below
        if below <= high:
            last = bucket
        below += events
    middle = _rows(
        cur,
        """
        select ms_to_resolve
        from resolve_times
        where bucket between $first and $last
          and reported_date between $start and $end
        order by ms_to_resolve
        limit $count offset $skip
        """,
        period | {"first": first, "last": last, "count": high - low + 1, "skip": low - skipped},
    )
    if not middle:  # the histogram and the durations come from the same events: not expected
        raise QueryError("办结时长直方图与明细不一致，请重新构建数据库")
    return (middle[0][0] + middle[-1][0]) / 2 / 3600000.0


def _rate(numerator: float | None, denominator: float | None) -> float | None:
    if not denominator:
        return None
    return float(numerator or 0) / float(denominator)


def kpis(
    db: str | os.PathLike,
    region: str,
    start: DateLike,
    end: DateLike,
    year: int | None = None,
    scope: str | None = None,
) -> dict:
    """The KPI object of SPEC section 6 for a region, a period and a year (default: the year of `end`)."""
    code = str(region).strip()
    check_scope(code, scope)
    period = Period.of(start, end)
    year = int(year) if year is not None else period.end.year
    if not (code.isascii() and code.isdigit()) or len(code) > LEVELS["grid"]:
        raise QueryError(f"区划代码 {code} 不存在")
    # the city's median comes from its histogram: its range of grids in the statement is empty
    grid_lo, grid_hi = (0, 0) if code == CITY_CODE else _grid_numbers(code)
    params = {
        "region": code,
        "region_number": int(code),
        "grid_lo": grid_lo,
        "grid_hi": grid_hi,
        "start": period.start,
        "end": period.end,
    }
    cur = _thread_cursor(db)  # one cursor: every figure comes from the same published file
    row = _one(cur, KPI_SQL, params)
    if code == CITY_CODE and row.get("residents") is not None:
        row["median_hours_to_resolve"] = _city_median_hours_to_resolve(cur, period.start, period.end)
    if row.get("residents") is None:
        # every region has a row in region_snapshot
        raise QueryError(f"区划代码 {code} 不存在")
    economy = _economy_of(row, year)
    residents = int(row["residents"] or 0)
    units = int(row["units"] or 0)
    resolved = int(row["resolved"] or 0)
    villages = int(economy.get("villages") or 0)
    median = row["median_hours_to_resolve"]
    return {
        "region": code,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "year": year,
        "population": {
            "residents": residents,
            "households": int(row["households"] or 0),
            "elderly_share": _rate(_born_by(row, period.end.year - 60), residents),
            "floating_share": _rate(row["floating"], residents),
            "special_care": {tag: int(row[tag] or 0) for tag in TAGS},
        },
        "housing": {
            "units": units,
            "rented": int(row["rented"] or 0),
            "rental_share": _rate(row["rented"], units),
            "vacancy_rate": _rate(row["vacant"], units),
        },
        "events": {
            "total": int(row["total"] or 0),
            "resolved": resolved,
            "resolution_rate": _rate(resolved, row["total"]),
            "on_time_rate": _rate(row["resolved_on_time"], resolved),
            "median_hours_to_resolve": float(median) if median is not None else None,
            "grassroots_rate": _rate(row["disputes_grassroots"], row["disputes"]),
            "satisfaction_rate": _rate(row["satisfied"], row["rated"]),
            "overdue_open": int(row["overdue_open"] or 0),
        },
        "collective_economy": {
            "villages": villages,
            "operating_income": float(economy.get("operating_income") or 0),
            "share_ge_50k": _rate(economy.get("villages_ge_50k"), villages),
            "share_ge_100k": _rate(economy.get("villages_ge_100k"), villages),
            "share_profit_ge_100k": _rate(economy.get("villages_profit_ge_100k"), villages),
        },
    }


def kpis_with_previous(
    db: str | os.PathLike,
    region: str,
    start: DateLike,
    end: DateLike,
    year: int | None = None,
    scope: str | None = None,
) -> tuple[dict, dict]:
    """The KPIs and those of the previous period of the same length (previous year for the economy)."""
    current = kpis(db, region, start, end, year=year, scope=scope)
    period = Period.of(start, end).previous()
    previous = kpis(db, region, period.start, period.end, year=current["year"] - 1, scope=scope)
    return current, previous


# ----------------------------------------------------------------------------- region tree


def children(db: str | os.PathLike, code: str, scope: str | None = None) -> pd.DataFrame:
    """The regions one level below `code`, by code."""
    check_scope(code, scope)
    return _fetch_df(
        db,
        "select code, name, level, kind, lon, lat from regions where parent_code = ? order by code",
        [str(code)],
    )


def ancestors(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """The region and every region above it, from the city down."""
    prefixes = sorted({str(code)[:n] for n in (2, 6, 9, 12, 15) if n <= len(str(code))}, key=len)
    return _fetch_df(
        db,
        "select code, name, level from regions where code in (select unnest(?::varchar[])) order by depth",
        [prefixes],
    )


def region_names(db: str | os.PathLike, codes: list[str]) -> dict[str, str]:
    """code -> name for the given codes."""
    if not codes:
        return {}
    frame = _fetch_df(
        db, "select code, name from regions where code in (select unnest(?::varchar[]))", [codes]
    )
    return dict(zip(frame["code"], frame["name"], strict=True))


# ------------------------------------------------------------------------------ overview

_EVENTS_IN = """
    from events
    where district_code >= $district_lo and district_code < $district_hi
      and grid_code >= $lo and grid_code < $hi
      and reported_date between $start and $end
      and is_counted
"""


def _event_params(code: str, period: Period) -> dict:
    """Parameters of _EVENTS_IN; the district bounds let DuckDB skip row groups of other districts."""
    lo, hi = region_range(code)
    district_lo, district_hi = region_range(code[:6])
    return {
        "lo": lo,
        "hi": hi,
        "district_lo": district_lo,
        "district_hi": district_hi,
        "start": period.start,
        "end": period.end,
    }


def ranking(
    db: str | os.PathLike, code: str, start: DateLike, end: DateLike, scope: str | None = None
) -> pd.DataFrame:
    """The children of a region with their event rates in the period (擂台比武)."""
    check_scope(code, scope)
    period = Period.of(start, end)
    child_length = {2: 6, 6: 9, 9: 12, 12: 15}.get(len(code))
    if child_length is None:
        return pd.DataFrame(
            columns=["code", "name", "total", "resolution_rate", "grassroots_rate", "satisfaction_rate"]
        )
    params = _event_params(code, period) | {"parent": code, "child_length": child_length}
    return _fetch_df(
        db,
        f"""
        with measures as (
            select
                substr(grid_code, 1, $child_length) as code,
                count(*) as total,
                count(*) filter (where status = 'resolved') as resolved,
                count(*) filter (where resolved_on_time) as resolved_on_time,
                count(*) filter (where category = 'dispute') as disputes,
                count(*) filter (where category = 'dispute' and status = 'resolved' and resolved_grassroots)
                    as disputes_grassroots,
                count(*) filter (where satisfaction is not null) as rated,
                count(*) filter (where satisfied) as satisfied
            {_EVENTS_IN}
            group by 1
        )
        select
            regions.code,
            regions.name,
            coalesce(measures.total, 0) as total,
            measures.resolved / nullif(measures.total, 0) as resolution_rate,
            measures.resolved_on_time / nullif(measures.resolved, 0) as on_time_rate,
            measures.disputes_grassroots / nullif(measures.disputes, 0) as grassroots_rate,
            measures.satisfied / nullif(measures.rated, 0) as satisfaction_rate
        from regions
        left join measures using (code)
        where regions.parent_code = $parent
        order by regions.code
        """,
        params,
    )


def event_sheet(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    limit: int = 12,
    scope: str | None = None,
) -> pd.DataFrame:
    """The newest open events of the period, overdue ones first, with their place and age."""
    check_scope(code, scope)
    period = Period.of(start, end)
    params = _event_params(code, period) | {"limit": int(limit)}
    return _fetch_df(
        db,
        f"""
        with reference as (
            -- ages are measured at the end of the period, or at the newest event if the data stops earlier
            select least($end::date + interval 1 day, (select max(reported_at) from events)) as at
        ),
        open_events as (
            select event_id, grid_code, community_code, township_code, category, status, reported_at, due_at,
                description
            {_EVENTS_IN}
              and is_open
        )
        select
            open_events.event_id,
            open_events.reported_at,
            coalesce(township.name, '') || ' ' || coalesce(community.name, '') as place,
            open_events.category,
            open_events.status,
            epoch(reference.at - open_events.reported_at) / 3600.0 as age_hours,
            open_events.due_at < reference.at as overdue,
            open_events.description
        from open_events
        cross join reference
        left join regions as community on community.code = open_events.community_code
        left join regions as township on township.code = open_events.township_code
        order by overdue desc, open_events.reported_at desc
        limit $limit
        """,
        params,
    )


def event_trend(
    db: str | os.PathLike, code: str, start: DateLike, end: DateLike, scope: str | None = None
) -> pd.DataFrame:
    """Events and resolution rate by month of report; months without events are there with zero."""
    check_scope(code, scope)
    period = Period.of(start, end)
    frame = _fetch_df(
        db,
        f"""
        with months as (
            select unnest(generate_series(date_trunc('month', $start::date), $end::date, interval 1 month))::date
                as month
        ),
        counted as (
            select
                date_trunc('month', reported_date)::date as month,
                count(*) as total,
                count(*) filter (where status = 'resolved') as resolved
            {_EVENTS_IN}
            group by 1
        )
        select
            months.month,
            coalesce(counted.total, 0) as total,
            coalesce(counted.resolved, 0) as resolved,
            counted.resolved / nullif(counted.total, 0) as resolution_rate
        from months
        left join counted using (month)
        order by 1
        """,
        _event_params(code, period),
    )
    return frame if frame["total"].sum() > 0 else frame.iloc[0:0]


MAP_METRICS = ("events", "resolution_rate", "density", "overdue")


def map_resolution(code: str) -> int:
    """The H3 resolution the map uses for a region: coarser for larger regions."""
    return {2: 6, 6: 8}.get(len(code), 9)


def map_cells(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
    scope: str | None = None,
) -> pd.DataFrame:
    """Every H3 cell holding grids of the region, with each map metric (events, rates, density, overdue)."""
    check_scope(code, scope)
    period = Period.of(start, end)
    resolution = map_resolution(code)
    column = f"h3_r{resolution}"
    params = _chosen_params(code, period.start, period.end, category, source) | {
        "end_exclusive": _end_exclusive(period.end)
    }
    frame = _fetch_df(
        db,
        f"""
        with grids as (
            select code, {column} as cell from regions
            where level = 'grid' and code >= $lo and code < $hi
        ),
        people as (
            select region_code as code, residents from population_by_region
            where level = 'grid' and region_code >= $lo and region_code < $hi
        ),
        happened as (
            select
                grid_code as code,
                count(*) as events,
                count(*) filter (where status = 'resolved') as resolved,
                count(*) filter (where is_open and due_at < $end_exclusive) as overdue
            {_EVENTS_CHOSEN}
            group by 1
        )
        select
            grids.cell,
            count(*) as grids,
            coalesce(sum(people.residents), 0) as residents,
            coalesce(sum(happened.events), 0) as events,
            coalesce(sum(happened.resolved), 0) as resolved,
            coalesce(sum(happened.overdue), 0) as overdue
        from grids
        left join people using (code)
        left join happened using (code)
        group by grids.cell
        order by grids.cell
        """,
        params,
    )
    if frame.empty:
        return frame.assign(resolution_rate=pd.Series(dtype=float), density=pd.Series(dtype=float))
    import h3

    area = h3.average_hexagon_area(resolution, unit="km^2")
    frame["density"] = frame["residents"] / area
    frame["resolution_rate"] = (frame["resolved"] / frame["events"].where(frame["events"] > 0)).astype(float)
    return frame


def child_positions(db: str | os.PathLike, code: str, scope: str | None = None) -> pd.DataFrame:
    """Each child of the region at the centre of its grids, for labels on the map."""
    check_scope(code, scope)
    child_length = {2: 6, 6: 9, 9: 12, 12: 15}.get(len(code), len(code))
    lo, hi = region_range(code)
    return _fetch_df(
        db,
        """
        with placed as (
            select substr(code, 1, $child_length) as code, avg(lon) as lon, avg(lat) as lat,
                min(lon) as lon_min, max(lon) as lon_max, min(lat) as lat_min, max(lat) as lat_max
            from regions
            where level = 'grid' and code >= $lo and code < $hi
            group by 1
        )
        select regions.code, regions.name, placed.lon, placed.lat,
            placed.lon_min, placed.lon_max, placed.lat_min, placed.lat_max
        from placed
        join regions using (code)
        order by regions.code
        """,
        {"child_length": child_length, "lo": lo, "hi": hi},
    )


def boundaries(db: str | os.PathLike, codes: list[str]) -> pd.DataFrame:
    """GeoJSON outlines of the given regions, when the input folder supplied them."""
    if not codes:
        return pd.DataFrame(columns=["code", "geometry"])
    return _fetch_df(
        db, "select code, geometry from boundaries where code in (select unnest(?::varchar[]))", [codes]
    )


def economy_years(db: str | os.PathLike) -> list[int]:
    """The years with collective-economy accounts, newest first."""
    frame = _fetch_df(db, "select distinct year from collective_economy order by year desc")
    return [int(y) for y in frame["year"]]


# --------------------------------------------------------------------------- analyst pages

# SPEC section 7: a special-care count below SUPPRESS_BELOW in a unit smaller than a township shows as "<5".
SMALL_UNIT_LEVELS = ("community", "grid")
SUPPRESSED_TEXT = f"<{SUPPRESS_BELOW}"
AGE_BAND_YEARS = 5
OLDEST_AGE_BAND = 85
# 网格 → 村社区 → 街镇 → 区县: where an event can be resolved, from the bottom up.
CHAIN_LEVELS = tuple(reversed(LEVELS))


def _level_of(code: str) -> str:
    return {2: "city", 6: "district", 9: "township", 12: "community", 15: "grid"}.get(len(code), "grid")


def _child_length(code: str) -> int:
    """The code length of the region's children; a grid's own length for a grid."""
    return {2: 6, 6: 9, 9: 12, 12: 15}.get(len(code), len(code))


def _suppressed(frame: pd.DataFrame, counts: list[str], small: pd.Series) -> pd.DataFrame:
    """Replace counts below SUPPRESS_BELOW in small units by NA, with the text to show beside each."""
    out = frame.copy()
    for column in counts:
        values = out[column].astype("Int64")
        hidden = small & (values < SUPPRESS_BELOW)
        out[column] = values.mask(hidden)
        out[f"{column}_shown"] = [
            SUPPRESSED_TEXT if h else f"{int(v):,}" for h, v in zip(hidden, values.fillna(0), strict=True)
        ]
    return out


def special_care(db: str | os.PathLike, code: str, scope: str | None = None) -> pd.DataFrame:
    """The region's residents per special-care tag; "<5" (count NA) in a community or grid."""
    code = str(code)
    check_scope(code, scope)
    frame = _fetch_df(
        db,
        f"select {', '.join(TAGS)} from population_by_region where region_code = ?",
        [code],
    )
    if frame.empty:
        return pd.DataFrame(
            {
                "tag": pd.Series(dtype=str),
                "residents": pd.Series(dtype="Int64"),
                "residents_shown": pd.Series(dtype=str),
            }
        )
    long = pd.DataFrame({"tag": list(TAGS), "residents": [int(frame[tag].iloc[0]) for tag in TAGS]})
    small = pd.Series(_level_of(code) in SMALL_UNIT_LEVELS, index=long.index)
    return _suppressed(long, ["residents"], small)


def special_care_by_child(db: str | os.PathLike, code: str, scope: str | None = None) -> pd.DataFrame:
    """Each child region's residents per special-care tag, one row per child and tag, suppressed below 5
    in communities and grids."""
    code = str(code)
    check_scope(code, scope)
    frame = _fetch_df(
        db,
        f"""
        select regions.code, regions.name, regions.level, {", ".join(f"people.{tag}" for tag in TAGS)}
        from regions
        join population_by_region as people
            on people.region_code = regions.code
        where regions.parent_code = ?
        order by regions.code
        """,
        [code],
    )
    long = frame.melt(
        id_vars=["code", "name", "level"], value_vars=list(TAGS), var_name="tag", value_name="residents"
    )
    order = {tag: number for number, tag in enumerate(TAGS)}
    long = long.sort_values(["code", "tag"], key=lambda s: s.map(order) if s.name == "tag" else s)
    long = long.reset_index(drop=True)
    return _suppressed(long, ["residents"], long["level"].isin(SMALL_UNIT_LEVELS))


def age_pyramid(db: str | os.PathLike, code: str, end: DateLike, scope: str | None = None) -> pd.DataFrame:
    """Residents by five-year age band and gender, ages counted as year(end) − birth year (85+ together)."""
    code = str(code)
    check_scope(code, scope)
    year = _as_date(end).year
    frame = _fetch_df(
        db,
        """
        select
            least(($year - birth_year) // $band * $band, $oldest) as age_start,
            gender,
            sum(residents) as residents
        from residents_by_region_age
        where region_code = $region
          and birth_year <= $year
        group by all
        order by age_start, gender
        """,
        {"region": code, "year": year, "band": AGE_BAND_YEARS, "oldest": OLDEST_AGE_BAND},
    )
    frame["age_start"] = frame["age_start"].astype(int)
    frame["residents"] = frame["residents"].astype(int)
    frame.insert(
        0,
        "age_group",
        [f"{a}+" if a >= OLDEST_AGE_BAND else f"{a}-{a + AGE_BAND_YEARS - 1}" for a in frame["age_start"]],
    )
    return frame


def population_composition(db: str | os.PathLike, code: str, scope: str | None = None) -> pd.DataFrame:
    """The region's residents by residence type, with each type's share."""
    code = str(code)
    check_scope(code, scope)
    frame = _fetch_df(
        db,
        """
        unpivot (select registered, floating, overseas from population_by_region where region_code = ?)
        on registered, floating, overseas
        into name residence_type value residents
        """,
        [code],
    )
    total = frame["residents"].sum()
    frame["share"] = frame["residents"] / total if total else float("nan")
    return frame


def population_by_child(
    db: str | os.PathLike, code: str, end: DateLike, scope: str | None = None
) -> pd.DataFrame:
    """Each child region's residents with its elderly (age ≥ 60 in year(end)) and floating shares."""
    code = str(code)
    check_scope(code, scope)
    return _fetch_df(
        db,
        """
        with kids as (
            select code, name, level from regions where parent_code = $region
        ),

        elderly as (
            select region_code as code, sum(residents) as elderly
            from residents_by_region_age
            where region_code in (select code from kids)
              and birth_year <= $elderly_born_by
            group by 1
        )

        select
            kids.code,
            kids.name,
            kids.level,
            people.residents,
            people.households,
            people.floating,
            coalesce(elderly.elderly, 0)::bigint as elderly,
            coalesce(elderly.elderly, 0) / nullif(people.residents, 0) as elderly_share,
            people.floating / nullif(people.residents, 0) as floating_share
        from kids
        join population_by_region as people
            on people.region_code = kids.code
        left join elderly using (code)
        order by kids.code
        """,
        {"region": code, "elderly_born_by": _as_date(end).year - 60},
    )


def cell_children(db: str | os.PathLike, code: str, scope: str | None = None) -> pd.DataFrame:
    """Each map cell of the region with the child region holding most of its grids: where a click drills."""
    code = str(code)
    check_scope(code, scope)
    lo, hi = region_range(code)
    column = f"h3_r{map_resolution(code)}"
    return _fetch_df(
        db,
        f"""
        with grids as (
            select {column} as cell, substr(code, 1, $child_length) as child
            from regions
            where level = 'grid' and code >= $lo and code < $hi
        ),

        counted as (
            select cell, child, count(*) as grids from grids group by all
        ),

        dominant as (
            select cell, first(child order by grids desc, child) as code from counted group by cell
        )

        select dominant.cell, dominant.code, regions.name
        from dominant
        join regions using (code)
        order by dominant.cell
        """,
        {"lo": lo, "hi": hi, "child_length": _child_length(code)},
    )


def population_cells(db: str | os.PathLike, code: str, scope: str | None = None) -> pd.DataFrame:
    """Every map cell of the region with its residents and their density (per km²); a snapshot, so the map
    stays the same when the period changes."""
    code = str(code)
    check_scope(code, scope)
    lo, hi = region_range(code)
    resolution = map_resolution(code)
    frame = _fetch_df(
        db,
        f"""
        with grids as (
            select code, h3_r{resolution} as cell from regions
            where level = 'grid' and code >= $lo and code < $hi
        ),

        people as (
            select region_code as code, residents from population_by_region
            where level = 'grid' and region_code >= $lo and region_code < $hi
        )

        select grids.cell, count(*) as grids, coalesce(sum(people.residents), 0) as residents
        from grids
        left join people using (code)
        group by grids.cell
        order by grids.cell
        """,
        {"lo": lo, "hi": hi},
    )
    import h3

    frame["density"] = frame["residents"] / h3.average_hexagon_area(resolution, unit="km^2")
    return frame


# ----------------------------------------------------------------------------------- housing


def housing_mix(
    db: str | os.PathLike, code: str, building_type: str | None = None, scope: str | None = None
) -> pd.DataFrame:
    """The region's housing units by building type and usage."""
    code = str(code)
    check_scope(code, scope)
    return _fetch_df(
        db,
        """
        select building_type, usage, sum(units) as units, sum(area_m2) as area_m2
        from housing_by_region_type
        where region_code = $region
          and ($building_type::varchar is null or building_type = $building_type)
        group by all
        order by all
        """,
        {"region": code, "building_type": building_type},
    )


def housing_age(
    db: str | os.PathLike, code: str, building_type: str | None = None, scope: str | None = None
) -> pd.DataFrame:
    """The region's housing units by decade built (NA: unknown) and building type."""
    code = str(code)
    check_scope(code, scope)
    return _fetch_df(
        db,
        """
        select built_decade, building_type, sum(units) as units
        from housing_by_region_type
        where region_code = $region
          and ($building_type::varchar is null or building_type = $building_type)
        group by all
        order by built_decade nulls last, building_type
        """,
        {"region": code, "building_type": building_type},
    )


def housing_by_child(
    db: str | os.PathLike, code: str, building_type: str | None = None, scope: str | None = None
) -> pd.DataFrame:
    """Each child region's housing units with its rental share and vacancy rate."""
    code = str(code)
    check_scope(code, scope)
    return _fetch_df(
        db,
        """
        with counted as (
            select
                region_code as code,
                sum(units) as units,
                sum(units) filter (where usage = 'rented') as rented,
                sum(units) filter (where usage = 'vacant') as vacant
            from housing_by_region_type
            where region_code in (select code from regions where parent_code = $region)
              and ($building_type::varchar is null or building_type = $building_type)
            group by 1
        )

        select
            regions.code,
            regions.name,
            regions.level,
            coalesce(counted.units, 0) as units,
            coalesce(counted.rented, 0) as rented,
            coalesce(counted.vacant, 0) as vacant,
            counted.rented / nullif(counted.units, 0) as rental_share,
            counted.vacant / nullif(counted.units, 0) as vacancy_rate
        from regions
        left join counted using (code)
        where regions.parent_code = $region
        order by regions.code
        """,
        {"region": code, "building_type": building_type},
    )


def housing_cells(
    db: str | os.PathLike, code: str, building_type: str | None = None, scope: str | None = None
) -> pd.DataFrame:
    """Every map cell of the region with its housing units, rental share and vacancy rate."""
    code = str(code)
    check_scope(code, scope)
    lo, hi = region_range(code)
    column = f"h3_r{map_resolution(code)}"
    return _fetch_df(
        db,
        f"""
        with grids as (
            select code, {column} as cell from regions
            where level = 'grid' and code >= $lo and code < $hi
        ),

        counted as (
            select
                region_code as code,
                sum(units) as units,
                sum(units) filter (where usage = 'rented') as rented,
                sum(units) filter (where usage = 'vacant') as vacant
            from housing_by_region_type
            where region_code >= $lo and region_code < $hi
              and length(region_code) = 15
              and ($building_type::varchar is null or building_type = $building_type)
            group by 1
        )

        select
            grids.cell,
            coalesce(sum(counted.units), 0) as units,
            coalesce(sum(counted.rented), 0) as rented,
            coalesce(sum(counted.vacant), 0) as vacant,
            sum(counted.rented) / nullif(sum(counted.units), 0) as rental_share,
            sum(counted.vacant) / nullif(sum(counted.units), 0) as vacancy_rate
        from grids
        left join counted using (code)
        group by grids.cell
        order by grids.cell
        """,
        {"lo": lo, "hi": hi, "building_type": building_type},
    )


# ------------------------------------------------------------------------------------ events

_EVENTS_CHOSEN = (
    _EVENTS_IN
    + """
      and ($category::varchar is null or category = $category)
      and ($source::varchar is null or source = $source)
"""
)


def _chosen_params(
    code: str, start: DateLike, end: DateLike, category: str | None, source: str | None
) -> dict:
    period = Period.of(start, end)
    return _event_params(code, period) | {"category": category or None, "source": source or None}


def _end_exclusive(end: DateLike) -> dt.datetime:
    """The first moment after the last day of the period."""
    return dt.datetime.combine(_as_date(end) + dt.timedelta(days=1), dt.time())


def events_monthly(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
    scope: str | None = None,
) -> pd.DataFrame:
    """Events of the period by month of report, category, source and status."""
    code = str(code)
    check_scope(code, scope)
    return _fetch_df(
        db,
        f"""
        select
            date_trunc('month', reported_date)::date as month,
            category,
            source,
            status,
            count(*) as events
        {_EVENTS_CHOSEN}
        group by all
        order by all
        """,
        _chosen_params(code, start, end, category, source),
    )


FUNNEL_STAGES = ("reported", "accepted", "resolved")


def events_funnel(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
    scope: str | None = None,
) -> pd.DataFrame:
    """How many events of the period were reported, accepted and resolved."""
    code = str(code)
    check_scope(code, scope)
    row = _fetch_one(
        db,
        f"""
        select
            count(*) as reported,
            count(*) filter (where accepted_at is not null or status in ('in_progress', 'resolved'))
                as accepted,
            count(*) filter (where status = 'resolved') as resolved
        {_EVENTS_CHOSEN}
        """,
        _chosen_params(code, start, end, category, source),
    )
    frame = pd.DataFrame({"stage": list(FUNNEL_STAGES), "events": [int(row[s] or 0) for s in FUNNEL_STAGES]})
    first = frame["events"].iloc[0]
    frame["share"] = frame["events"] / first if first else float("nan")
    return frame


_RATE_MEASURES = """
        count(*) as total,
        count(*) filter (where status = 'resolved') as resolved,
        count(*) filter (where status = 'resolved') / count(*) as resolution_rate,
        count(*) filter (where resolved_on_time) / nullif(count(*) filter (where status = 'resolved'), 0)
            as on_time_rate,
        count(*) filter (where satisfied) / nullif(count(*) filter (where satisfaction is not null), 0)
            as satisfaction_rate,
        median(hours_to_resolve) as median_hours,
        quantile_cont(hours_to_resolve, 0.9) as p90_hours
"""


def event_rates_by_child(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
    scope: str | None = None,
) -> pd.DataFrame:
    """Each child region's events of the period with resolution, on-time, grassroots, satisfaction rates."""
    code = str(code)
    check_scope(code, scope)
    params = _chosen_params(code, start, end, category, source) | {
        "parent": code,
        "child_length": _child_length(code),
    }
    return _fetch_df(
        db,
        f"""
        with measures as (
            select
                substr(grid_code, 1, $child_length) as code,
                {_RATE_MEASURES},
                count(*) filter (where category = 'dispute' and status = 'resolved' and resolved_grassroots)
                    / nullif(count(*) filter (where category = 'dispute'), 0) as grassroots_rate
            {_EVENTS_CHOSEN}
            group by 1
        )

        select
            regions.code,
            regions.name,
            coalesce(measures.total, 0) as total,
            coalesce(measures.resolved, 0) as resolved,
            measures.resolution_rate,
            measures.on_time_rate,
            measures.grassroots_rate,
            measures.satisfaction_rate,
            measures.median_hours,
            measures.p90_hours
        from regions
        left join measures using (code)
        where regions.parent_code = $parent
        order by regions.code
        """,
        params,
    )


def event_rates_by_category(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    source: str | None = None,
    scope: str | None = None,
) -> pd.DataFrame:
    """Each category's events of the period with its rates and the median and 90th-percentile hours to
    resolve. The grassroots rate of a category: resolved at grid, community or township over all its events
    (for disputes the KPI's definition)."""
    code = str(code)
    check_scope(code, scope)
    return _fetch_df(
        db,
        f"""
        select
            category,
            {_RATE_MEASURES},
            count(*) filter (where status = 'resolved' and resolved_grassroots) / count(*) as grassroots_rate
        {_EVENTS_CHOSEN}
        group by category
        order by total desc, category
        """,
        _chosen_params(code, start, end, None, source),
    )


def resolution_chain(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = "dispute",
    source: str | None = None,
    scope: str | None = None,
) -> pd.DataFrame:
    """Where the period's events (disputes by default) were resolved along 网格 → 村社区 → 街镇 → 区县,
    with open ones last; shares are of all of them, cumulative along the chain."""
    code = str(code)
    check_scope(code, scope)
    frame = _fetch_df(
        db,
        f"""
        select
            case when status = 'resolved' then coalesce(resolution_level, 'unknown') else 'open' end as level,
            count(*) as events
        {_EVENTS_CHOSEN}
        group by 1
        """,
        _chosen_params(code, start, end, category or "dispute", source),
    )
    order = [*CHAIN_LEVELS, "unknown", "open"]
    counts = dict(zip(frame["level"], frame["events"].astype(int), strict=True))
    chain = pd.DataFrame({"level": order, "events": [counts.get(level, 0) for level in order]})
    chain = chain[(chain["events"] > 0) | chain["level"].isin(CHAIN_LEVELS)].reset_index(drop=True)
    total = chain["events"].sum()
    chain["share"] = chain["events"] / total if total else float("nan")
    resolved_part = chain["level"].isin(CHAIN_LEVELS)
    chain["cumulative_share"] = chain["share"].where(resolved_part).cumsum().where(resolved_part)
    return chain


SATISFACTION_ORDER = ("satisfied", "basically_satisfied", "dissatisfied", "unrated")


def satisfaction_mix(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
    scope: str | None = None,
) -> pd.DataFrame:
    """The period's events by satisfaction (unrated last), with each one's share of the rated."""
    code = str(code)
    check_scope(code, scope)
    frame = _fetch_df(
        db,
        f"""
        select coalesce(satisfaction, 'unrated') as satisfaction, count(*) as events
        {_EVENTS_CHOSEN}
        group by 1
        """,
        _chosen_params(code, start, end, category, source),
    )
    counts = dict(zip(frame["satisfaction"], frame["events"].astype(int), strict=True))
    mix = pd.DataFrame(
        {"satisfaction": list(SATISFACTION_ORDER), "events": [counts.get(s, 0) for s in SATISFACTION_ORDER]}
    )
    rated = mix.loc[mix["satisfaction"] != "unrated", "events"].sum()
    mix["share_of_rated"] = (mix["events"] / rated if rated else mix["events"] * float("nan")).where(
        mix["satisfaction"] != "unrated"
    )
    return mix


def overdue_events(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    category: str | None = None,
    source: str | None = None,
    limit: int = 500,
    scope: str | None = None,
) -> pd.DataFrame:
    """Open events of the period past their deadline at the end of the period (the KPI overdue_open), most
    overdue first, with their place, age and hours overdue; `total` repeats how many there are in all."""
    code = str(code)
    check_scope(code, scope)
    params = _chosen_params(code, start, end, category, source) | {
        "limit": int(limit),
        "end_exclusive": _end_exclusive(end),
    }
    return _fetch_df(
        db,
        f"""
        with overdue as (
            select event_id, grid_code, community_code, township_code, category, source, status, reported_at,
                due_at, description
            {_EVENTS_CHOSEN}
              and is_open
              and due_at < $end_exclusive
        )

        select
            overdue.event_id,
            concat_ws(' ', township.name, community.name, grid.name) as place,
            overdue.category,
            overdue.source,
            overdue.status,
            overdue.reported_at,
            overdue.due_at,
            epoch($end_exclusive - overdue.reported_at) / 3600.0 as age_hours,
            epoch($end_exclusive - overdue.due_at) / 3600.0 as overdue_hours,
            overdue.description,
            count(*) over () as total
        from overdue
        left join regions as grid on grid.code = overdue.grid_code
        left join regions as community on community.code = overdue.community_code
        left join regions as township on township.code = overdue.township_code
        order by overdue.due_at, overdue.event_id
        limit $limit
        """,
        params,
    )


# ------------------------------------------------------------------------- collective economy


def economy_villages(db: str | os.PathLike, code: str, year: int, scope: str | None = None) -> pd.DataFrame:
    """The villages under the region with accounts for `year`, ranked by operating income, with the
    growth against their own previous year."""
    code = str(code)
    check_scope(code, scope)
    lo, hi = region_range(code)
    return _fetch_df(
        db,
        """
        select
            row_number() over (order by operating_income desc, village_code) as rank,
            village_code as code,
            village_name as name,
            township_name,
            district_name,
            entity_type,
            operating_income,
            total_income,
            operating_profit,
            previous_operating_income,
            (operating_income - previous_operating_income) / nullif(previous_operating_income, 0) as growth,
            dividends,
            shareholders,
            dividends_per_shareholder
        from collective_economy
        where village_code >= $lo and village_code < $hi
          and year = $year
        order by rank
        """,
        {"lo": lo, "hi": hi, "year": int(year)},
    )


def economy_by_child(db: str | os.PathLike, code: str, year: int, scope: str | None = None) -> pd.DataFrame:
    """Collective economy of `year` and the year before for each child region (each township at or below
    a township): villages, income and its growth, the shares at 5万 and 10万, dividends per shareholder."""
    code = str(code)
    check_scope(code, scope)
    lo, hi = region_range(code)
    group_length = _child_length(code) if len(code) <= 6 else 9
    return _fetch_df(
        db,
        """
        with accounts as (
            select substr(village_code, 1, $group_length) as code, *
            from collective_economy
            where village_code >= $lo and village_code < $hi
              and year in ($year, $year - 1)
        ),

        measures as (
            select
                code,
                count(*) filter (where year = $year) as villages,
                coalesce(sum(operating_income) filter (where year = $year), 0) as operating_income,
                sum(operating_income) filter (where year = $year - 1) as previous_operating_income,
                count(*) filter (where year = $year and operating_income >= 50000) as villages_ge_50k,
                count(*) filter (where year = $year and operating_income >= 100000) as villages_ge_100k,
                count(*) filter (where year = $year and operating_profit >= 100000)
                    as villages_profit_ge_100k,
                -- dividends per shareholder over the villages that report both
                sum(dividends) filter (where year = $year and dividends is not null and shareholders > 0)
                    as dividends,
                sum(shareholders) filter (where year = $year and dividends is not null and shareholders > 0)
                    as shareholders
            from accounts
            group by code
        )

        select
            regions.code,
            regions.name,
            measures.villages,
            measures.operating_income,
            measures.previous_operating_income,
            (measures.operating_income - measures.previous_operating_income)
                / nullif(measures.previous_operating_income, 0) as growth,
            measures.villages_ge_50k / nullif(measures.villages, 0) as share_ge_50k,
            measures.villages_ge_100k / nullif(measures.villages, 0) as share_ge_100k,
            measures.villages_profit_ge_100k / nullif(measures.villages, 0) as share_profit_ge_100k,
            measures.dividends,
            measures.shareholders,
            measures.dividends / nullif(measures.shareholders, 0) as dividends_per_shareholder
        from measures
        join regions using (code)
        where measures.villages > 0
        order by regions.code
        """,
        {"lo": lo, "hi": hi, "year": int(year), "group_length": group_length},
    )


def economy_entities(db: str | os.PathLike, code: str, year: int, scope: str | None = None) -> pd.DataFrame:
    """The villages under the region by the type of their operating entity in `year`, with their income."""
    code = str(code)
    check_scope(code, scope)
    lo, hi = region_range(code)
    return _fetch_df(
        db,
        """
        select
            coalesce(entity_type, 'other') as entity_type,
            count(*) as villages,
            sum(operating_income) as operating_income
        from collective_economy
        where village_code >= $lo and village_code < $hi
          and year = $year
        group by 1
        order by villages desc, entity_type
        """,
        {"lo": lo, "hi": hi, "year": int(year)},
    )
