"""The KPI object of SPEC section 6, and the same for the period it is compared with."""

from __future__ import annotations

import datetime as dt
import os

import duckdb

from dashboard.queries.common import DateLike, Period
from dashboard.queries.connections import QueryError, _one, _rows, _thread_cursor
from dashboard.queries.gate import regional
from pipelines.contract import CITY_CODE, LEVELS, TAGS

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
        sum(satisfied) as satisfied
    from events_by_region_day
    where region_number = $region_number
      and reported_date between $start and $end
),

-- the backlog at the end of the period, whenever its events were reported: what entered it and
-- what left it, up to the last day
overdue as (
    select coalesce(sum(change), 0) as overdue_open
    from overdue_changes_by_region_day
    where region_number = $region_number
      and change_date <= $end
),

resolve_median as (
    select median(ms_to_resolve) / 3600000.0 as median_hours_to_resolve
    from resolve_times_by_grid
    where grid_number >= $grid_lo and grid_number < $grid_hi
      and reported_date between $start and $end
),

-- the iot block: devices a snapshot, alarms raised in the period; the city's handling median reads
-- every handled alarm (alarms are few beside events), so its range of grids is all of them
device_counts as (
    select
        sum(devices) filter (where status <> 'retired') as devices,
        sum(devices) filter (where status = 'online') as online
    from devices_by_region
    where region_code = $region
),

alarm_counts as (
    select
        sum(alarms) as alarms,
        sum(handled) as handled,
        sum(open_alarms) as open_alarms,
        sum(verified) as verified,
        sum(false_alarms) as false_alarms,
        sum(escalated) as escalated
    from alarms_by_region_day
    where region_number = $region_number
      and raised_date between $start and $end
),

handle_median as (
    select median(ms_to_handle) / 60000.0 as median_minutes_to_handle
    from alarms
    where grid_number >= $alarm_grid_lo and grid_number < $alarm_grid_hi
      and raised_date between $start and $end
      and is_handled
)

select snapshot.*, event_counts.*, overdue.*, resolve_median.*, device_counts.*, alarm_counts.*, handle_median.*
from event_counts
cross join overdue
cross join resolve_median
cross join device_counts
cross join alarm_counts
cross join handle_median
left join snapshot on true
"""


def _iot(row: dict) -> dict:
    """The iot block of SPEC section 6 from the KPI statement's row: devices a snapshot, alarms raised in
    the period."""
    devices, alarms, handled = (int(row[key] or 0) for key in ("devices", "alarms", "handled"))
    median = row["median_minutes_to_handle"]
    return {
        "devices": devices,
        "online_share": _rate(row["online"], devices),
        "alarms": alarms,
        "handled": handled,
        "handled_rate": _rate(handled, alarms),
        "median_minutes_to_handle": float(median) if median is not None else None,
        "false_alarm_share": _rate(row["false_alarms"], row["verified"]),
        "open_alarms": int(row["open_alarms"] or 0),
        "escalated": int(row["escalated"] or 0),
    }


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


@regional("region")
def kpis(
    db: str | os.PathLike,
    region: str,
    start: DateLike,
    end: DateLike,
    year: int | None = None,
) -> dict:
    """The KPI object of SPEC section 6 for a region, a period and a year (default: the year of `end`)."""
    code = str(region).strip()
    period = Period.of(start, end)
    year = int(year) if year is not None else period.end.year
    if not (code.isascii() and code.isdigit()) or len(code) > LEVELS["grid"]:
        raise QueryError(f"区划代码 {code} 不存在")
    # the city's median comes from its histogram: its range of grids in the statement is empty
    grid_lo, grid_hi = (0, 0) if code == CITY_CODE else _grid_numbers(code)
    alarm_grid_lo, alarm_grid_hi = _grid_numbers(code)
    params = {
        "region": code,
        "region_number": int(code),
        "grid_lo": grid_lo,
        "grid_hi": grid_hi,
        "alarm_grid_lo": alarm_grid_lo,
        "alarm_grid_hi": alarm_grid_hi,
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
        "iot": _iot(row),
    }


@regional("region")
def kpis_with_previous(
    db: str | os.PathLike,
    region: str,
    start: DateLike,
    end: DateLike,
    year: int | None = None,
    compare: str = "yoy",
) -> tuple[dict, dict]:
    """The KPIs and those of the compared period: 同比 (`yoy`, the same dates a year earlier) by default,
    环比 (`prev`, the same length just before) on request; the collective economy's previous year either way."""
    compared = Period.of(start, end).compared(compare)
    current = kpis(db, region, start, end, year=year)
    previous = kpis(db, region, compared.start, compared.end, year=current["year"] - 1)
    return current, previous
