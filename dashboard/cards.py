"""KPI cards: which KPIs a page shows, how each is formatted, and which way is good."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard import format as fmt
from dashboard.labels import kpi_label

# section of the KPI object, key, kind of figure, and the direction that is good (+1, -1, 0 neutral)
OVERVIEW_CARDS: tuple[tuple[str, str, str, int], ...] = (
    ("population", "residents", "count", 0),
    ("population", "households", "count", 0),
    ("housing", "units", "count", 0),
    ("housing", "rental_share", "rate", 0),
    ("events", "total", "count", 0),
    ("events", "resolution_rate", "rate", 1),
    ("events", "on_time_rate", "rate", 1),
    ("events", "grassroots_rate", "rate", 1),
    ("events", "satisfaction_rate", "rate", 1),
    ("events", "overdue_open", "count", -1),
    ("collective_economy", "operating_income", "money", 1),
    ("collective_economy", "share_ge_100k", "rate", 1),
)


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    delta: str | None
    delta_color: str  # "normal" (up is good), "inverse" (down is good) or "off"
    help: str


def format_value(kind: str, value: float | None, lang: str) -> str:
    """A KPI value as a card shows it."""
    if kind == "rate":
        return fmt.percent(value)
    if kind == "money":
        return fmt.money(value, lang)
    if kind == "hours":
        return fmt.hours(value, lang)
    return fmt.count(value, lang)


def format_delta(kind: str, current: float | None, previous: float | None, lang: str) -> str | None:
    """The change against the previous period: points for rates, a relative change otherwise."""
    if kind == "rate":
        return fmt.change_in_points(current, previous, lang)
    return fmt.change_relative(current, previous)


def build_cards(
    current: dict,
    previous: dict | None,
    lang: str = "zh",
    spec: tuple[tuple[str, str, str, int], ...] = OVERVIEW_CARDS,
) -> list[Card]:
    """The cards for a KPI object and the previous period's."""
    cards = []
    for section, key, kind, good in spec:
        value = current[section][key]
        before = previous[section][key] if previous else None
        delta = format_delta(kind, value, before, lang)
        color = {1: "normal", -1: "inverse", 0: "off"}[good]
        if delta is not None and float(delta.rstrip("%个百分点 p").replace(",", "")) == 0:
            delta, color = delta.replace("-", "+", 1), "off"  # no change: neither good nor bad
        basis = "previous_year" if section == "collective_economy" else "previous_period"
        help_text = _help(basis, before, kind, lang)
        cards.append(
            Card(key, kpi_label(key, lang), format_value(kind, value, lang), delta, color, help_text)
        )
    return cards


def _help(basis: str, before: float | None, kind: str, lang: str) -> str:
    shown = format_value(kind, before, lang)
    if lang == "en":
        return ("Previous year" if basis == "previous_year" else "Previous period") + f": {shown}"
    return ("上年" if basis == "previous_year" else "上期") + f"：{shown}"
