"""KPI cards: which KPIs a page shows, how each is formatted, and which way is good."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard import format as fmt
from dashboard.labels import kpi_definition, kpi_label, t
from dashboard.queries import is_snapshot

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
    delta_arrow: str = "auto"  # "off" when nothing changed: no arrow points either way


def format_value(kind: str, value: float | None, lang: str) -> str:
    """A KPI value as a card shows it."""
    if kind == "rate":
        return fmt.percent(value)
    if kind == "money":
        return fmt.money(value, lang)
    if kind == "hours":
        return fmt.hours(value, lang)
    if kind == "minutes":
        return fmt.minutes(value, lang)
    return fmt.count(value, lang)


def format_delta(kind: str, current: float | None, previous: float | None, lang: str) -> str | None:
    """The change against the compared period: points for rates, a relative change otherwise."""
    if kind == "rate":
        return fmt.change_in_points(current, previous, lang)
    return fmt.change_relative(current, previous)


def build_cards(
    current: dict,
    previous: dict | None,
    lang: str = "zh",
    spec: tuple[tuple[str, str, str, int], ...] = OVERVIEW_CARDS,
    compare: str = "yoy",
) -> list[Card]:
    """The cards for a KPI object and that of the period it is compared with (`compare`: 同比 `yoy` or
    环比 `prev`; the collective economy with the previous year)."""
    cards = []
    for section, key, kind, good in spec:
        value = current[section][key]
        snapshot = is_snapshot(section, key)
        before = previous[section][key] if previous and not snapshot else None
        delta = format_delta(kind, value, before, lang)
        color, arrow = {1: "normal", -1: "inverse", 0: "off"}[good], "auto"
        if delta is not None and float(delta.rstrip("%个百分点 p").replace(",", "")) == 0:
            # no change: neither good nor bad, and no arrow pointing either way
            delta, color, arrow = delta.replace("-", "+", 1).lstrip("+"), "off", "off"
        help_text = card_help(
            key, kind, None if snapshot else previous, before, section == "collective_economy", compare, lang
        )
        if snapshot:
            help_text += "\n\n" + t("snapshot_no_change", lang)
        cards.append(
            Card(key, kpi_label(key, lang), format_value(kind, value, lang), delta, color, help_text, arrow)
        )
    return cards


def card_help(
    key: str, kind: str, previous: dict | None, before: float | None, by_year: bool, compare: str, lang: str
) -> str:
    """The card's `?`: what the KPI counts, then the compared dates (or year) and the value there."""
    shown = format_value(kind, before, lang)
    if previous is None:
        compared = ""
    elif by_year:
        compared = t("compared_year_value", lang).format(year=previous["year"], value=shown)
    else:
        compared = t("compared_value", lang).format(
            basis=t(f"compare_{compare}", lang), start=previous["from"], end=previous["to"], value=shown
        )
    return "\n\n".join(part for part in (kpi_definition(key, lang), compared) if part)


# ---------------------------------------------------------------------------- whole figures

# Widths in em of what a card's figures are made of, rounded up: a Chinese character or full-width
# sign, a digit or Latin letter, a point or comma, a percent sign, a space.
_WIDE, _DIGIT, _POINT, _PERCENT, _SPACE = 1.0, 0.58, 0.3, 0.85, 0.27
# What a change's badge adds to its text, in px: the arrow and the padding.
DELTA_EXTRA_PX = 32


def text_em(text: str) -> float:
    """How wide `text` is set, in em, at most."""
    width = 0.0
    for char in text:
        if ord(char) >= 0x2E80:
            width += _WIDE
        elif char in ".,:":
            width += _POINT
        elif char == "%":
            width += _PERCENT
        elif char == " ":
            width += _SPACE
        else:
            width += _DIGIT
    return width


def fit_css(key: str, cards: list[Card], largest_rem: float) -> str:
    """CSS setting the values and changes of the cards inside the container `key` as large as
    `largest_rem` allows and no larger than the longest of them fits its card whole, down to a floor
    below which a figure wraps instead: a figure is never cut, and the figures of a row share one size.
    Labels may be shortened; figures never are."""
    value_em = max((text_em(card.value) for card in cards), default=1.0)
    delta_em = max((text_em(card.delta) for card in cards if card.delta), default=1.0)
    scope = f".st-key-{key}"
    return f"""<style>
  {scope} [data-testid="stMetric"] {{ container-type: inline-size; }}
  {scope} [data-testid="stMetricValue"] {{
      font-size: clamp(1.1rem, calc(100cqi / {value_em:.2f}), {largest_rem}rem); }}
  {scope} [data-testid="stMetricDelta"] {{
      font-size: clamp(0.75rem, calc((100cqi - {DELTA_EXTRA_PX}px) / {delta_em:.2f}), 0.875rem); }}
  {scope} [data-testid="stMetricDelta"] {{ max-width: 100%; height: auto; }}
  {scope} [data-testid="stMetricValue"] > div, {scope} [data-testid="stMetricDelta"] > div,
  {scope} [data-testid="stMetricValue"] p, {scope} [data-testid="stMetricDelta"] p {{
      white-space: normal; overflow: visible; text-overflow: clip; }}
</style>"""
