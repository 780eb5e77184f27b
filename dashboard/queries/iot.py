"""IoT devices and their alarms (物联感知): the overview's strip and map points, the 物联感知 page.

Alarms are counted as the iot block of the KPI object counts them: alarms of the devices under a
region raised on a day of the period, in their latest state. Devices are a snapshot. Neither is a
count of people, so the gate hides nothing here; it confines every question to the scope.
"""

from __future__ import annotations

import os

import pandas as pd

from dashboard.queries.common import DateLike, Period, _child_length, region_range
from dashboard.queries.connections import _fetch_df
from dashboard.queries.gate import regional
from pipelines.contract import LEVELS

# Periods up to this many days are drawn by day, longer ones by month.
DAILY_UP_TO_DAYS = 62
OPEN_ALARMS_SHOWN = 20
NOISY_DEVICES_SHOWN = 10

CHILD_COLUMNS = [
    "code", "name", "devices", "online", "online_share", "alarms", "handled", "handled_rate", "open_alarms",
    "false_alarm_share", "escalated", "escalated_share",
]  # fmt: skip

# Alarms of the devices under a region (a range of grid numbers) raised in the period, of one type or all.
_ALARMS_IN = """
    from alarms
    where grid_number >= $grid_lo and grid_number < $grid_hi
      and raised_date between $start and $end
      and ($device_type::varchar is null or device_type = $device_type)
"""

# The moment ages are measured at: the end of the period, or the newest alarm if the data stops earlier.
_AGE_AT = "least($end::date + interval 1 day, (select max(raised_at) from alarms))"

# The measures of a set of alarms, as the KPI object defines them.
_MEASURES = """
    count(*) as alarms,
    count(*) filter (where is_handled) as handled,
    count(*) filter (where is_handled) / nullif(count(*), 0) as handled_rate,
    count(*) filter (where is_open) as open_alarms,
    count(*) filter (where is_verified) as verified,
    count(*) filter (where is_false_alarm) as false_alarms,
    count(*) filter (where is_false_alarm) / nullif(count(*) filter (where is_verified), 0)
        as false_alarm_share,
    count(*) filter (where is_escalated) as escalated,
    count(*) filter (where is_escalated) / nullif(count(*), 0) as escalated_share
"""


def _grid_numbers(code: str) -> tuple[int, int]:
    """The grid numbers (grid codes read as numbers) under a region: [lo, hi)."""
    padding = 10 ** (LEVELS["grid"] - len(code))
    return int(code) * padding, (int(code) + 1) * padding


def _params(code: str, start: DateLike, end: DateLike, device_type: str | None = None) -> dict:
    period = Period.of(start, end)
    grid_lo, grid_hi = _grid_numbers(str(code))
    return {
        "grid_lo": grid_lo,
        "grid_hi": grid_hi,
        "start": period.start,
        "end": period.end,
        "device_type": device_type or None,
    }


def _place(alias: str) -> str:
    """'街镇 社区' of a row carrying township_code and community_code, joined to regions as t_ and c_."""
    return f"coalesce(t_{alias}.name, '') || ' ' || coalesce(c_{alias}.name, '')"


@regional("code")
def device_mix(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """Devices under the region by type and status (a snapshot), retired ones included."""
    return _fetch_df(
        db,
        """
        select device_type, status, sum(devices)::bigint as devices
        from devices_by_region
        where region_code = $code
        group by all
        order by device_type, status
        """,
        {"code": str(code)},
    )


@regional("code")
def device_points(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """Every device under the region with its place on the map, type and status; `code` is the child
    region it lies in (where a click drills)."""
    code = str(code)
    lo, hi = region_range(code)
    return _fetch_df(
        db,
        f"""
        select
            substr(devices.grid_code, 1, $child_length) as code,
            devices.device_id,
            devices.device_type,
            devices.status,
            devices.lon,
            devices.lat,
            {_place("d")} as place
        from devices
        left join regions as t_d on t_d.code = devices.township_code
        left join regions as c_d on c_d.code = devices.community_code
        where devices.grid_code >= $lo and devices.grid_code < $hi
          and devices.lon is not null
        order by devices.device_id
        """,
        {"lo": lo, "hi": hi, "child_length": _child_length(code)},
    )


@regional("code")
def alarm_points(
    db: str | os.PathLike, code: str, start: DateLike, end: DateLike, device_type: str | None = None
) -> pd.DataFrame:
    """Each device that raised alarms in the period, where it is, with its alarms and those still open."""
    code = str(code)
    return _fetch_df(
        db,
        f"""
        with raised as (
            select device_id, count(*) as alarms, count(*) filter (where is_open) as open_alarms
            {_ALARMS_IN}
            group by device_id
        )
        select
            substr(devices.grid_code, 1, $child_length) as code,
            devices.device_id,
            devices.device_type,
            devices.lon,
            devices.lat,
            raised.alarms,
            raised.open_alarms
        from raised
        join devices using (device_id)
        where devices.lon is not null
        order by raised.open_alarms, raised.alarms, devices.device_id
        """,
        _params(code, start, end, device_type) | {"child_length": _child_length(code)},
    )


@regional("code")
def alarms_over_time(
    db: str | os.PathLike, code: str, start: DateLike, end: DateLike, device_type: str | None = None
) -> pd.DataFrame:
    """Alarms by device type per day (periods up to DAILY_UP_TO_DAYS) or per month; `day` is the first
    day of the month for months."""
    period = Period.of(start, end)
    bucket = "raised_date" if period.days <= DAILY_UP_TO_DAYS else "date_trunc('month', raised_date)::date"
    return _fetch_df(
        db,
        f"""
        select {bucket} as day, device_type, sum(alarms)::bigint as alarms
        from alarms_by_region_day
        where region_number = $region_number
          and raised_date between $start and $end
          and ($device_type::varchar is null or device_type = $device_type)
        group by all
        order by day, device_type
        """,
        {
            "region_number": int(str(code)),
            "start": period.start,
            "end": period.end,
            "device_type": device_type or None,
        },
    )


@regional("code")
def alarms_by_hour(
    db: str | os.PathLike, code: str, start: DateLike, end: DateLike, device_type: str | None = None
) -> pd.DataFrame:
    """Alarms by hour of day they were raised (0–23) and device type."""
    return _fetch_df(
        db,
        f"""
        select hour(raised_at) as hour, device_type, count(*) as alarms
        {_ALARMS_IN}
        group by all
        order by hour, device_type
        """,
        _params(str(code), start, end, device_type),
    )


@regional("code")
def alarms_by_type(db: str | os.PathLike, code: str, start: DateLike, end: DateLike) -> pd.DataFrame:
    """Per device type: the alarms' measures, and the minutes to handle (median and 90th percentile)."""
    return _fetch_df(
        db,
        f"""
        select
            device_type,
            {_MEASURES},
            median(ms_to_handle) / 60000.0 as median_minutes,
            quantile_cont(ms_to_handle, 0.9) / 60000.0 as p90_minutes
        {_ALARMS_IN}
        group by device_type
        order by alarms desc, device_type
        """,
        _params(str(code), start, end),
    )


@regional("code")
def iot_by_child(db: str | os.PathLike, code: str, start: DateLike, end: DateLike) -> pd.DataFrame:
    """The children of a region with their devices (not retired), those online, and their alarms'
    measures in the period; children without devices or alarms are left out."""
    code = str(code)
    child_length = _child_length(code)
    lo, hi = region_range(code)
    if child_length == len(code):
        return pd.DataFrame(columns=CHILD_COLUMNS)  # a grid has no children
    return _fetch_df(
        db,
        f"""
        with fleet as (
            select
                substr(grid_code, 1, $child_length) as code,
                count(*) filter (where status <> 'retired') as devices,
                count(*) filter (where status = 'online') as online
            from devices
            where grid_code >= $lo and grid_code < $hi
            group by 1
        ),
        raised as (
            select substr(grid_code, 1, $child_length) as code, {_MEASURES}
            {_ALARMS_IN}
            group by 1
        )
        select
            regions.code,
            regions.name,
            coalesce(fleet.devices, 0) as devices,
            coalesce(fleet.online, 0) as online,
            fleet.online / nullif(fleet.devices, 0) as online_share,
            coalesce(raised.alarms, 0) as alarms,
            coalesce(raised.handled, 0) as handled,
            raised.handled_rate,
            coalesce(raised.open_alarms, 0) as open_alarms,
            raised.false_alarm_share,
            coalesce(raised.escalated, 0) as escalated,
            raised.escalated_share
        from regions
        left join fleet using (code)
        left join raised using (code)
        where regions.parent_code = $code
          and (fleet.code is not null or raised.code is not null)
        order by regions.code
        """,
        _params(code, start, end) | {"code": code, "child_length": child_length, "lo": lo, "hi": hi},
    )


@regional("code")
def noisy_devices(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    device_type: str | None = None,
    limit: int = NOISY_DEVICES_SHOWN,
) -> pd.DataFrame:
    """The devices with the most false alarms in the period (then the most alarms), with their place."""
    return _fetch_df(
        db,
        f"""
        with raised as (
            select device_id, any_value(device_type) as device_type, any_value(township_code) as township_code,
                any_value(community_code) as community_code, {_MEASURES}
            {_ALARMS_IN}
            group by device_id
        )
        select
            raised.device_id,
            raised.device_type,
            {_place("r")} as place,
            raised.alarms,
            raised.verified,
            raised.false_alarms,
            raised.false_alarm_share
        from raised
        left join regions as t_r on t_r.code = raised.township_code
        left join regions as c_r on c_r.code = raised.community_code
        where raised.false_alarms > 0
        order by raised.false_alarms desc, raised.alarms desc, raised.device_id
        limit $limit
        """,
        _params(str(code), start, end, device_type) | {"limit": int(limit)},
    )


@regional("code")
def open_alarms(
    db: str | os.PathLike,
    code: str,
    start: DateLike,
    end: DateLike,
    device_type: str | None = None,
    limit: int = OPEN_ALARMS_SHOWN,
) -> pd.DataFrame:
    """The newest open alarms raised in the period, with their place and age in minutes, and `total`,
    the number of open alarms of the period (the KPI's open_alarms for all types)."""
    return _fetch_df(
        db,
        f"""
        with waiting as (
            select alarm_id, device_id, device_type, township_code, community_code, raised_at, event_id,
                count(*) over () as total
            {_ALARMS_IN}
              and is_open
        )
        select
            waiting.alarm_id,
            waiting.device_id,
            waiting.device_type,
            {_place("w")} as place,
            waiting.raised_at,
            greatest(epoch({_AGE_AT} - waiting.raised_at) / 60.0, 0) as age_minutes,
            waiting.event_id,
            waiting.total
        from waiting
        left join regions as t_w on t_w.code = waiting.township_code
        left join regions as c_w on c_w.code = waiting.community_code
        order by waiting.raised_at desc, waiting.alarm_id
        limit $limit
        """,
        _params(str(code), start, end, device_type) | {"limit": int(limit)},
    )
