"""What the domain modules share: periods, region code ranges, region levels and event filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dashboard.queries.connections import QueryError
from pipelines.contract import LEVELS, SUPPRESS_BELOW

DateLike = dt.date | str


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
        """环比: the period of the same length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def year_before(self) -> Period:
        """同比: the same dates one year earlier (29 February → 28 February)."""
        return Period(_year_earlier(self.start), _year_earlier(self.end))

    def compared(self, mode: str = "yoy") -> Period:
        """The period a change is measured against: `yoy` (同比, the default) or `prev` (环比)."""
        if mode == "prev":
            return self.previous()
        if mode == "yoy":
            return self.year_before()
        raise QueryError(f"比较方式只能是 yoy 或 prev：{mode}")


COMPARE_MODES = ("yoy", "prev")


def _year_earlier(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


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


# ---------------------------------------------------------------------------- event filters

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


MAP_METRICS = ("events", "resolution_rate", "density", "overdue")


def map_resolution(code: str) -> int:
    """The H3 resolution the map uses for a region: coarser for larger regions."""
    return {2: 6, 6: 8}.get(len(code), 9)


# ------------------------------------------------------------------------------ region levels

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


_EVENTS_CHOSEN = (
    _EVENTS_IN
    + """
      and ($category::varchar is null or category = $category)
      and ($source::varchar is null or source = $source)
"""
)


# SPEC section 6, overdue_open: the backlog at the end of the period, whenever its events were reported;
# with the parameters of _chosen_params and $end_exclusive.
_OVERDUE_AT_END = """
    from events
    where district_code >= $district_lo and district_code < $district_hi
      and grid_code >= $lo and grid_code < $hi
      and reported_date <= $end
      and is_counted
      and due_at < $end_exclusive
      and (resolved_at is null or resolved_at >= $end_exclusive)
      and ($category::varchar is null or category = $category)
      and ($source::varchar is null or source = $source)
"""


def _chosen_params(
    code: str, start: DateLike, end: DateLike, category: str | None, source: str | None
) -> dict:
    period = Period.of(start, end)
    return _event_params(code, period) | {"category": category or None, "source": source or None}


def _end_exclusive(end: DateLike) -> dt.datetime:
    """The first moment after the last day of the period."""
    return dt.datetime.combine(_as_date(end) + dt.timedelta(days=1), dt.time())


# The figures of a snapshot, not of a period (SPEC section 6), by section of the KPI object: every figure
# of a section named with None, else the keys named. The database holds one snapshot, today's: the KPIs
# of a compared period repeat it, so no change of these can be measured and none is shown.
SNAPSHOT_FIGURES: dict[str, tuple[str, ...] | None] = {
    "population": None,
    "housing": None,
    "iot": ("devices", "online_share"),
}


def is_snapshot(section: str, key: str) -> bool:
    """Whether the KPI `key` of `section` is a snapshot figure (no earlier value to compare with)."""
    if section not in SNAPSHOT_FIGURES:
        return False
    keys = SNAPSHOT_FIGURES[section]
    return keys is None or key.split(".", 1)[0] in keys
