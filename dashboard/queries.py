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
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.contract import CITY_CODE, TAGS

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
                connection = duckdb.connect(path, read_only=True)
            except duckdb.Error as exc:
                raise QueryError(f"无法打开数据库 {db}：{str(exc).splitlines()[0]}") from None
            _connections[path] = (identity, connection)
            cached = _connections[path]
        return cached[1].cursor()


def publication(db: str | os.PathLike) -> tuple[int, int]:
    """What identifies the published file now; caches key on it to notice a new publish."""
    try:
        stat = os.stat(db)
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_ino, stat.st_mtime_ns)


def _fetch_df(db: str | os.PathLike, sql: str, params: dict | list | None = None) -> pd.DataFrame:
    cur = cursor(db)
    try:
        return cur.execute(sql, params).df()
    except duckdb.Error as exc:
        raise QueryError(f"查询失败：{str(exc).splitlines()[0]}") from None
    finally:
        cur.close()


def _fetch_one(db: str | os.PathLike, sql: str, params: dict | list | None = None) -> dict:
    cur = cursor(db)
    try:
        result = cur.execute(sql, params)
        names = [d[0] for d in result.description]
        rows = result.fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"查询失败：{str(exc).splitlines()[0]}") from None
    finally:
        cur.close()
    return dict(zip(names, rows[0], strict=True)) if rows else {}


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
with population as (
    select * from population_by_region where region_code = $region
),

elderly as (
    select coalesce(sum(residents), 0) as elderly
    from residents_by_region_age
    where region_code = $region
      and birth_year <= $elderly_born_by
),

housing as (
    select * from housing_by_region where region_code = $region
),

events_in_period as (
    select *
    from events
    where grid_code >= $lo and grid_code < $hi
      and reported_date between $start and $end
      and status <> 'cancelled'
),

event_measures as (
    select
        count(*) as total,
        count(*) filter (where status = 'resolved') as resolved,
        count(*) filter (where resolved_on_time) as resolved_on_time,
        median(hours_to_resolve) as median_hours_to_resolve,
        count(*) filter (where category = 'dispute') as disputes,
        count(*) filter (where category = 'dispute' and status = 'resolved' and resolved_grassroots)
            as disputes_grassroots,
        count(*) filter (where satisfaction is not null) as rated,
        count(*) filter (where satisfied) as satisfied,
        count(*) filter (where is_open and due_at < $end_exclusive) as overdue_open
    from events_in_period
),

economy as (
    select
        count(*) as villages,
        coalesce(sum(operating_income), 0) as operating_income,
        count(*) filter (where operating_income >= 50000) as villages_ge_50k,
        count(*) filter (where operating_income >= 100000) as villages_ge_100k,
        count(*) filter (where operating_profit >= 100000) as villages_profit_ge_100k
    from collective_economy
    where village_code >= $lo and village_code < $hi
      and year = $year
)

select
    population.residents, population.households, population.floating,
    {", ".join(f"population.{tag}" for tag in TAGS)},
    elderly.elderly,
    housing.units, housing.rented, housing.vacant,
    event_measures.*,
    economy.*
from event_measures
cross join economy
cross join elderly
left join population on true
left join housing on true
"""


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
    lo, hi = region_range(code)
    params = {
        "region": code,
        "lo": lo,
        "hi": hi,
        "start": period.start,
        "end": period.end,
        "end_exclusive": dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time()),
        "elderly_born_by": period.end.year - 60,
        "year": year,
    }
    row = _fetch_one(db, KPI_SQL, params)
    if row.get("residents") is None and row.get("units") is None:
        # Neither mart has the region: it does not exist (every region has a row in both).
        raise QueryError(f"区划代码 {code} 不存在")
    residents = int(row["residents"] or 0)
    units = int(row["units"] or 0)
    resolved = int(row["resolved"])
    villages = int(row["villages"])
    median = row["median_hours_to_resolve"]
    return {
        "region": code,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "year": year,
        "population": {
            "residents": residents,
            "households": int(row["households"] or 0),
            "elderly_share": _rate(row["elderly"], residents),
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
            "total": int(row["total"]),
            "resolved": resolved,
            "resolution_rate": _rate(resolved, row["total"]),
            "on_time_rate": _rate(row["resolved_on_time"], resolved),
            "median_hours_to_resolve": float(median) if median is not None else None,
            "grassroots_rate": _rate(row["disputes_grassroots"], row["disputes"]),
            "satisfaction_rate": _rate(row["satisfied"], row["rated"]),
            "overdue_open": int(row["overdue_open"]),
        },
        "collective_economy": {
            "villages": villages,
            "operating_income": float(row["operating_income"]),
            "share_ge_50k": _rate(row["villages_ge_50k"], villages),
            "share_ge_100k": _rate(row["villages_ge_100k"], villages),
            "share_profit_ge_100k": _rate(row["villages_profit_ge_100k"], villages),
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
    frame = _fetch_df(db, "select code, name from regions where code in (select unnest(?::varchar[]))", [codes])
    return dict(zip(frame["code"], frame["name"], strict=True))


# ------------------------------------------------------------------------------ overview

_EVENTS_IN = """
    from events
    where grid_code >= $lo and grid_code < $hi
      and reported_date between $start and $end
      and status <> 'cancelled'
"""


def _event_params(code: str, period: Period) -> dict:
    lo, hi = region_range(code)
    return {"lo": lo, "hi": hi, "start": period.start, "end": period.end}


def ranking(db: str | os.PathLike, code: str, start: DateLike, end: DateLike, scope: str | None = None) -> pd.DataFrame:
    """The children of a region with their event rates in the period (擂台比武)."""
    check_scope(code, scope)
    period = Period.of(start, end)
    child_length = {2: 6, 6: 9, 9: 12, 12: 15}.get(len(code))
    if child_length is None:
        return pd.DataFrame(columns=["code", "name", "total", "resolution_rate", "grassroots_rate", "satisfaction_rate"])
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
    db: str | os.PathLike, code: str, start: DateLike, end: DateLike, limit: int = 12, scope: str | None = None
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
    db: str | os.PathLike, code: str, start: DateLike, end: DateLike, scope: str | None = None
) -> pd.DataFrame:
    """Every H3 cell holding grids of the region, with each map metric (events, rates, density, overdue)."""
    check_scope(code, scope)
    period = Period.of(start, end)
    resolution = map_resolution(code)
    column = f"h3_r{resolution}"
    params = _event_params(code, period) | {
        "end_exclusive": dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time()),
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
            {_EVENTS_IN}
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
        """,
        params,
    )
    if frame.empty:
        return frame.assign(resolution_rate=pd.Series(dtype=float), density=pd.Series(dtype=float))
    import h3

    area = {res: h3.average_hexagon_area(res, unit="km^2") for res in (resolution,)}[resolution]
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
