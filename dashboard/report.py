"""The report of a region and period: cover, KPI table with changes, summary, charts, map, ranking.

`build_report` gathers the figures into a model (the numbers are those `queries.kpis` returns, the
charts those the pages draw), asking through the gate for the principal it is made for: a region
outside the principal's scope gives nothing, and small counts are hidden as on the pages. `render`
turns the model into a PDF, one self-contained HTML file or an Excel workbook; `write_report` does
both and writes the file atomically, so a failure leaves no partial file behind. No Streamlit calls
here.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import queue
import re
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, export
from dashboard import format as fmt
from dashboard.access import Principal
from dashboard.labels import enum_label, kpi_label, level_label, t
from dashboard.queries import DAILY_UP_TO_DAYS, OPERATOR, SUPPRESSED_TEXT, DateLike, Gate, Period, is_snapshot
from pipelines.contract import TAGS

FORMATS = ("pdf", "html", "xlsx")
MIME_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TEMPLATES = Path(__file__).parent / "templates"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PDF_TIMEOUT_MS = 120_000
SMALL_UNIT_LENGTH = 12  # communities and grids: the gate hides special-care counts below 5
QUERY_THREADS = 4


class ReportError(Exception):
    """A report that cannot be written: `usage` is True for a bad request (unknown format)."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


# ------------------------------------------------------------------------------ the model

# section of the KPI object, key, and how the figure reads (SPEC section 6, in its order)
KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    ("population", "residents", "count"),
    ("population", "households", "count"),
    ("population", "elderly_share", "rate"),
    ("population", "floating_share", "rate"),
    *(("population", f"special_care.{tag}", "care") for tag in TAGS),
    ("housing", "units", "count"),
    ("housing", "rented", "count"),
    ("housing", "rental_share", "rate"),
    ("housing", "vacancy_rate", "rate"),
    ("events", "total", "count"),
    ("events", "resolved", "count"),
    ("events", "resolution_rate", "rate"),
    ("events", "on_time_rate", "rate"),
    ("events", "median_hours_to_resolve", "hours"),
    ("events", "grassroots_rate", "rate"),
    ("events", "satisfaction_rate", "rate"),
    ("events", "overdue_open", "count"),
    ("collective_economy", "villages", "count"),
    ("collective_economy", "operating_income", "money"),
    ("collective_economy", "share_ge_50k", "rate"),
    ("collective_economy", "share_ge_100k", "rate"),
    ("collective_economy", "share_profit_ge_100k", "rate"),
)
# The iot block, for a region with devices only (`has_iot`): a city without sensors reports none of it.
IOT_KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    ("iot", "devices", "count"),
    ("iot", "online_share", "rate"),
    ("iot", "alarms", "count"),
    ("iot", "handled", "count"),
    ("iot", "handled_rate", "rate"),
    ("iot", "median_minutes_to_handle", "minutes"),
    ("iot", "false_alarm_share", "rate"),
    ("iot", "open_alarms", "count"),
    ("iot", "escalated", "count"),
)
DOMAINS = ("population", "housing", "events", "collective_economy", "iot")
DOMAIN_TITLE_KEYS = {
    "population": "population_page",
    "housing": "housing_page",
    "events": "events_page",
    "collective_economy": "economy_page",
    "iot": "iot_page",
}
EXCEL_FORMATS = {
    "count": "#,##0",
    "care": "#,##0",
    "rate": "0.0%",
    "hours": "#,##0.0",
    "minutes": "#,##0.0",
    "money": "#,##0.00",
}
RANKING_RATES = ("resolution_rate", "on_time_rate", "grassroots_rate", "satisfaction_rate")


@dataclass(eq=False)
class Chart:
    """One chart of the report: the page's figure and the data behind it."""

    key: str
    title: str
    figure: go.Figure
    data: pd.DataFrame


@dataclass
class Context:
    """What every chart of a report is drawn for."""

    db: str | os.PathLike
    code: str
    period: Period
    year: int
    lang: str
    gate: Gate
    current: dict
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def small_unit(self) -> bool:
        return len(self.code) >= SMALL_UNIT_LENGTH


def _value(kpis: dict, section: str, key: str) -> float | None:
    value = kpis[section]
    for part in key.split("."):
        value = value[part]
    return value


def _label(key: str, lang: str) -> str:
    if key.startswith("special_care."):
        return f"{kpi_label('special_care', lang)} · {enum_label(key.split('.', 1)[1], lang)}"
    return kpi_label(key, lang)


def figure_text(kind: str, value: float | None, lang: str = "zh") -> str:
    """A KPI value in the report: counts in full, rates to 0.1%, income in 万元 (zh) or yuan (en)."""
    if value is None:
        return "—"
    if kind in ("count", "care"):
        return f"{int(value):,}"
    if kind == "rate":
        return fmt.percent(value)
    if kind in ("hours", "minutes"):
        return f"{value:,.1f}"
    if kind == "money":
        return f"¥{value:,.0f}" if lang == "en" else f"{value / fmt.WAN:,.2f}万元"
    raise ValueError(kind)


def _change_text(kind: str, current: float | None, previous: float | None, lang: str) -> str:
    if kind == "rate":
        return fmt.change_in_points(current, previous, lang) or "—"
    return fmt.change_relative(current, previous) or "—"


def _suppressed(kind: str, value: float | None) -> bool:
    """A special-care count the gate hid (it leaves None only there)."""
    return kind == "care" and value is None


def kpi_rows(
    current: dict,
    previous: dict,
    lang: str = "zh",
    small_unit: bool = False,
    care_texts: dict[str, str] | None = None,
) -> list[dict]:
    """The KPI table: every KPI of SPEC section 6 with the previous period's value and the change; the
    iot block only for a region with devices.

    `current` and `previous` come through the gate: a hidden special-care count is None, shown as the
    population page shows it (`care_texts`, tag to text: "<5", or "…" where withheld), else "<5".
    `small_unit` is kept for callers; the gate has already decided what is hidden."""
    rows = []
    for section, key, kind in KPI_ROWS + (IOT_KPI_ROWS if has_iot(current) else ()):
        now, before = _value(current, section, key), _value(previous, section, key)
        if is_snapshot(section, key):
            rows.append(_snapshot_row(section, key, kind, now, lang, care_texts))
            continue
        hidden_now, hidden_before = _suppressed(kind, now), _suppressed(kind, before)
        hidden_text = (care_texts or {}).get(key.split(".", 1)[-1], SUPPRESSED_TEXT)
        rows.append(
            {
                "domain_key": section,
                "domain": t(DOMAIN_TITLE_KEYS[section], lang),
                "key": key,
                "kind": kind,
                "label": _label(key, lang),
                "current": None if hidden_now else now,
                "previous": None if hidden_before else before,
                "current_text": hidden_text if hidden_now else figure_text(kind, now, lang),
                "previous_text": hidden_text if hidden_before else figure_text(kind, before, lang),
                "change_text": "—" if hidden_now or hidden_before else _change_text(kind, now, before, lang),
            }
        )
    return rows


def _snapshot_row(
    section: str, key: str, kind: str, now: float | None, lang: str, care_texts: dict[str, str] | None
) -> dict:
    """A snapshot figure's row: today's value, and no compared value or change, which it cannot have."""
    hidden = _suppressed(kind, now)
    return {
        "domain_key": section,
        "domain": t(DOMAIN_TITLE_KEYS[section], lang),
        "key": key,
        "kind": kind,
        "label": _label(key, lang),
        "current": None if hidden else now,
        "previous": None,
        "current_text": (care_texts or {}).get(key.split(".", 1)[-1], SUPPRESSED_TEXT)
        if hidden
        else figure_text(kind, now, lang),
        "previous_text": "—",
        "change_text": "—",
    }


def _change_phrase(kind: str, current: float | None, previous: float | None, basis: str, lang: str) -> str:
    """', up 1.3 pp on the previous period' / '，较上期提高 1.3 个百分点'; empty when there is no basis."""
    if current is None or previous is None:
        return ""
    basis_text = t(basis, lang)
    if kind == "rate":
        points = round((current - previous) * 100, 1)
        if points == 0:
            return t("change_flat", lang).format(basis=basis_text)
        key = "change_up_pp" if points > 0 else "change_down_pp"
        return t(key, lang).format(basis=basis_text, points=f"{abs(points):.1f}")
    if not previous:
        return ""
    percent = round((current - previous) / previous * 100, 1)
    if percent == 0:
        return t("change_flat", lang).format(basis=basis_text)
    key = "change_up_pct" if percent > 0 else "change_down_pct"
    return t(key, lang).format(basis=basis_text, percent=f"{abs(percent):.1f}")


def summary(
    current: dict,
    previous: dict,
    name: str,
    ranking: pd.DataFrame,
    child_level: str | None,
    lang: str = "zh",
    compare: str = "yoy",
) -> list[str]:
    """The written summary: sentences made from the same figures as the KPI table, changes named by what
    they compare with (去年同期 for `yoy`, 上期 for `prev`)."""
    basis = f"basis_{compare}"
    events, before = current["events"], previous["events"]
    sentences = []
    if events["total"]:
        sentences.append(
            t("summary_events", lang).format(
                name=name,
                start=current["from"],
                end=current["to"],
                total=figure_text("count", events["total"]),
                resolved=figure_text("count", events["resolved"]),
                rate=fmt.percent(events["resolution_rate"]),
                change=_change_phrase(
                    "rate", events["resolution_rate"], before["resolution_rate"], basis, lang
                ),
            )
        )
        sentences.append(
            t("summary_quality", lang).format(
                on_time=fmt.percent(events["on_time_rate"]),
                hours=figure_text("hours", events["median_hours_to_resolve"]),
                grassroots=fmt.percent(events["grassroots_rate"]),
                change=_change_phrase(
                    "rate", events["grassroots_rate"], before["grassroots_rate"], basis, lang
                ),
                satisfaction=fmt.percent(events["satisfaction_rate"]),
                overdue=figure_text("count", events["overdue_open"]),
            )
        )
    else:
        sentences.append(
            t("summary_no_events", lang).format(name=name, start=current["from"], end=current["to"])
        )
    people, housing = current["population"], current["housing"]
    sentences.append(
        t("summary_people", lang).format(
            # counts in 万 where large, the way officials read them (66.9万人)
            residents=fmt.count(people["residents"], lang),
            households=fmt.count(people["households"], lang),
            elderly=fmt.percent(people["elderly_share"]),
            floating=fmt.percent(people["floating_share"]),
            units=fmt.count(housing["units"], lang),
            rental=fmt.percent(housing["rental_share"]),
            vacancy=fmt.percent(housing["vacancy_rate"]),
        )
    )
    economy, economy_before = current["collective_economy"], previous["collective_economy"]
    if economy["villages"]:
        sentences.append(
            t("summary_economy", lang).format(
                year=current["year"],
                villages=figure_text("count", economy["villages"]),
                income=fmt.money(economy["operating_income"], lang),
                change=_change_phrase(
                    "money",
                    economy["operating_income"],
                    economy_before["operating_income"],
                    "basis_year",
                    lang,
                ),
                ge100k=fmt.percent(economy["share_ge_100k"]),
            )
        )
    else:
        sentences.append(t("summary_no_economy", lang).format(year=current["year"]))
    if has_iot(current):
        iot = current["iot"]
        sentences.append(
            t("summary_iot", lang).format(
                devices=figure_text("count", iot["devices"]),
                online=fmt.percent(iot["online_share"]),
                alarms=figure_text("count", iot["alarms"]),
                handled=fmt.percent(iot["handled_rate"]),
                minutes=figure_text("minutes", iot["median_minutes_to_handle"]),
                false=fmt.percent(iot["false_alarm_share"]),
                open=figure_text("count", iot["open_alarms"]),
                escalated=figure_text("count", iot["escalated"]),
            )
        )
    if child_level:
        sentences += _ranking_sentences(ranking, child_level, lang)
    return sentences


def _named(group: pd.DataFrame, level: str, lang: str) -> str:
    """Who holds a rate, ties included: A（90.0%）; A、B，并列 100.0%; A、B等 18 个街镇，并列 100.0%."""
    rate = fmt.percent(group["resolution_rate"].iloc[0])
    names = [str(name) for name in group["name"]]
    if len(names) == 1:
        return t("summary_rank_one", lang).format(name=names[0], rate=rate)
    separator = "、" if lang == "zh" else ", "
    if len(names) <= SUMMARY_NAMED:
        return t("summary_rank_tied", lang).format(names=separator.join(names), rate=rate)
    return t("summary_rank_tied_many", lang).format(
        names=separator.join(names[:2]), count=len(names), level=level, rate=rate
    )


def _ranking_sentences(ranking: pd.DataFrame, child_level: str, lang: str) -> list[str]:
    """擂台比武 in words: who has the highest and the lowest resolution rate, every tie said as one, in the
    order of the ranking table (rate, then events); the children without events said apart."""
    rated = ranking.dropna(subset=["resolution_rate"]) if not ranking.empty else ranking
    if len(rated) < 2:
        return []
    level = level_label(child_level, lang).lower() if lang == "en" else level_label(child_level, lang)
    ordered = rated.sort_values(["resolution_rate", "total"], ascending=[False, False])
    best_rate, worst_rate = ordered["resolution_rate"].iloc[0], ordered["resolution_rate"].iloc[-1]
    if best_rate == worst_rate:
        sentences = [
            t("summary_ranking_even", lang).format(count=len(rated), level=level, rate=fmt.percent(best_rate))
        ]
    else:
        best = ordered[ordered["resolution_rate"] == best_rate]
        worst = ordered[ordered["resolution_rate"] == worst_rate]
        sentences = [
            t("summary_ranking", lang).format(
                count=len(rated),
                level=level,
                best=_named(best, level, lang),
                worst=_named(worst, level, lang),
            )
        ]
    if len(ranking) > len(rated):
        sentences.append(t("summary_unranked", lang).format(count=len(ranking) - len(rated), level=level))
    return sentences


SUMMARY_NAMED = 3  # a tie of more than this many names its first two and the count


# Each domain's charts, from the pages' own builders. A builder returns the charts it can draw.


def _has_rows(frame: pd.DataFrame, value: str | None = None) -> bool:
    """Whether a chart has anything to show: rows, and a non-zero total of `value` when given."""
    if frame.empty:
        return False
    return value is None or bool(pd.to_numeric(frame[value], errors="coerce").fillna(0).sum())


def _population_charts(ctx: Context) -> list[Chart]:
    lang, light = ctx.lang, True
    found = []
    pyramid = ctx.gate.ask("age_pyramid", ctx.db, ctx.code, ctx.period.end)
    if _has_rows(pyramid, "residents"):
        found.append(
            Chart(
                "age_pyramid",
                t("age_pyramid", lang),
                charts.age_pyramid_chart(pyramid, lang, light=light),
                pyramid,
            )
        )
    composition = ctx.gate.ask("population_composition", ctx.db, ctx.code)
    if _has_rows(composition, "residents"):
        figure = charts.share_donut(composition, "residence_type", "residents", lang, light=light)
        found.append(Chart("composition", t("composition", lang), figure, composition))
    if not ctx.small_unit:  # counts below 5 may not be shown for communities and grids
        care = ctx.current["population"]["special_care"]
        data = pd.DataFrame({"tag": list(care), "residents": list(care.values())})
        if _has_rows(data, "residents"):
            figure = charts.category_bars(data, "tag", value="residents", lang=lang, light=light)
            found.append(Chart("special_care", kpi_label("special_care", lang), figure, data))
    by_child = ctx.gate.ask("population_by_child", ctx.db, ctx.code, ctx.period.end)
    if len(by_child) >= 2:
        figure = charts.rate_dots(by_child, ["elderly_share", "floating_share"], lang, light=light)
        found.append(Chart("population_by_child", t("child_population_shares", lang), figure, by_child))
    return found


def _housing_charts(ctx: Context) -> list[Chart]:
    lang, light = ctx.lang, True
    found = []
    mix = ctx.gate.ask("housing_mix", ctx.db, ctx.code)
    if _has_rows(mix, "units"):
        figure = charts.stacked_bars(
            mix,
            "building_type",
            "usage",
            "units",
            lang,
            enum_x=True,
            light=light,
            y_title=kpi_label("units", lang),
        )
        found.append(Chart("housing_mix", t("units_by_type", lang), figure, mix))
    by_child = ctx.gate.ask("housing_by_child", ctx.db, ctx.code)
    if len(by_child) >= 2 and _has_rows(by_child, "units"):
        figure = charts.rate_dots(by_child, ["rental_share", "vacancy_rate"], lang, light=light)
        found.append(Chart("housing_by_child", t("housing_by_child", lang), figure, by_child))
    return found


def _events_charts(ctx: Context) -> list[Chart]:
    lang, light = ctx.lang, True
    db, code, start, end, ask = ctx.db, ctx.code, ctx.period.start, ctx.period.end, ctx.gate.ask
    trend = ask("event_trend", db, code, start, end)
    found = [Chart("trend", t("trend", lang), charts.trend_chart(trend, lang, light=light), trend)]
    if not ctx.current["events"]["total"]:
        return found
    funnel = ask("events_funnel", db, code, start, end)
    found.append(Chart("funnel", t("funnel", lang), charts.funnel_chart(funnel, lang, light=light), funnel))
    by_category = ask("event_rates_by_category", db, code, start, end)
    if _has_rows(by_category, "resolved"):
        found.append(
            Chart(
                "hours_by_category",
                t("hours_by_category", lang),
                charts.hours_chart(by_category, lang, light=light),
                by_category,
            )
        )
    chain = ask("resolution_chain", db, code, start, end)
    if _has_rows(chain, "events"):
        found.append(
            Chart(
                "resolution_chain",
                t("resolution_chain", lang),
                charts.chain_chart(chain, lang, light=light),
                chain,
            )
        )
    satisfaction = ask("satisfaction_mix", db, code, start, end)
    rated = satisfaction[satisfaction["satisfaction"] != "unrated"]
    if _has_rows(rated, "events"):
        figure = charts.share_donut(rated, "satisfaction", "events", lang, light=light)
        found.append(Chart("satisfaction", t("satisfaction", lang), figure, satisfaction))
    ranked = ctx.ranking.dropna(subset=["resolution_rate"]) if not ctx.ranking.empty else ctx.ranking
    if len(ranked) >= 2:
        for metric in ("resolution_rate", "grassroots_rate"):
            figure = charts.ranking_chart(ctx.ranking, metric, lang, light=light)
            data = ctx.ranking[["code", "name", "total", metric]]
            title = f"{t('ranking', lang)} · {kpi_label(metric, lang)}"
            found.append(Chart(f"ranking_{metric}", title, figure, data))
    return found


def has_iot(kpis: dict) -> bool:
    """Whether a region has IoT devices, or alarms of devices retired since: the report then has an
    IoT section. A KPI object written without an iot block has none."""
    iot = kpis.get("iot") or {}
    return bool(iot.get("devices") or iot.get("alarms"))


def _iot_charts(ctx: Context) -> list[Chart]:
    """The 物联感知 section: devices by type and status, alarms over time, time to handle, false alarms
    and escalation by type; nothing for a region without devices."""
    if not has_iot(ctx.current):
        return []
    lang, light = ctx.lang, True
    db, code, start, end, ask = ctx.db, ctx.code, ctx.period.start, ctx.period.end, ctx.gate.ask
    mix = ask("device_mix", db, code)
    found = []
    if _has_rows(mix, "devices"):
        figure = charts.stacked_bars(
            mix, "device_type", "status", "devices", lang, enum_x=True, light=light,
            y_title=kpi_label("devices", lang),
        )  # fmt: skip
        found.append(Chart("iot_devices", t("devices_by_type", lang), figure, mix))
    if not ctx.current["iot"]["alarms"]:
        return found
    over_time = ask("alarms_over_time", db, code, start, end)
    daily = ctx.period.days <= DAILY_UP_TO_DAYS
    shown = over_time.assign(day=over_time["day"].astype(str).str[: 10 if daily else 7])
    figure = charts.stacked_bars(
        shown, "day", "device_type", "alarms", lang, light=light, y_title=kpi_label("alarms", lang),
        x_values=None if daily else charts.months_between(start, end),
    )  # fmt: skip
    found.append(Chart("iot_over_time", t("alarms_over_time", lang), figure, shown))
    by_type = ask("alarms_by_type", db, code, start, end)
    if _has_rows(by_type, "handled"):
        figure = charts.minutes_chart(by_type, lang, light=light)
        found.append(Chart("iot_minutes", t("minutes_by_type", lang), figure, by_type))
    figure = charts.rate_dots(
        by_type, ["handled_rate", "false_alarm_share", "escalated_share"], lang, label_column="device_type",
        code_column=None, enum=True, light=light,
    )  # fmt: skip
    found.append(Chart("iot_shares", t("false_alarms_by_type", lang), figure, by_type))
    return found


def _economy_charts(ctx: Context) -> list[Chart]:
    lang, light, year = ctx.lang, True, ctx.year
    villages = ctx.gate.ask("economy_villages", ctx.db, ctx.code, year)
    if villages.empty:
        return []
    bins = charts.income_bins(villages)
    figure = charts.income_histogram(bins, lang, light=light)
    found = [Chart("income_distribution", t("income_distribution", lang), figure, bins)]
    kinds = ctx.gate.ask("economy_entities", ctx.db, ctx.code, year)
    if _has_rows(kinds, "villages"):
        figure = charts.share_donut(kinds, "entity_type", "villages", lang, light=light)
        found.append(Chart("entity_types", t("entity_types", lang), figure, kinds))
    by_child = ctx.gate.ask("economy_by_child", ctx.db, ctx.code, year)
    if len(by_child) >= 2:
        title = (
            f"{t('income_growth', lang)}（{year - 1} → {year}）"
            if lang == "zh"
            else f"{t('income_growth', lang)} ({year - 1} → {year})"
        )
        found.append(
            Chart("income_growth", title, charts.income_growth_chart(by_child, lang, light=light), by_child)
        )
    title = f"{t('village_ranking', lang)} · {kpi_label('operating_income', lang)}"
    found.append(
        Chart(
            "village_ranking",
            title,
            charts.village_ranking_chart(villages, lang, top=RANKED_VILLAGES, light=light),
            villages,
        )
    )
    return found


def _map_chart(ctx: Context) -> Chart:
    """The static map: the grids' cells coloured by events, the children named."""
    cells = ctx.gate.ask("map_cells", ctx.db, ctx.code, ctx.period.start, ctx.period.end)
    labels = ctx.gate.ask("child_positions", ctx.db, ctx.code)
    outlines = ctx.gate.ask("child_outlines", ctx.db, ctx.code)
    figure = export.static_map(cells, labels, "events", ctx.lang, light=True, boundaries=outlines)
    return Chart("map", t("report_map", ctx.lang), figure, cells)


RANKED_VILLAGES = 20
CHART_BUILDERS: dict[str, Callable[[Context], list[Chart]]] = {
    "population": _population_charts,
    "housing": _housing_charts,
    "events": _events_charts,
    "collective_economy": _economy_charts,
    "iot": _iot_charts,
}


def ranking_table(ranking: pd.DataFrame) -> pd.DataFrame:
    """The children ranked by resolution rate (events as tie-break), with their rank; unrated last."""
    if ranking.empty:
        return ranking.assign(rank=pd.Series(dtype="Int64"))
    ordered = ranking.sort_values(["resolution_rate", "total"], ascending=[False, False], na_position="last")
    ordered = ordered.reset_index(drop=True)
    ranks = ordered["resolution_rate"].rank(method="min", ascending=False).astype("Int64")
    return ordered.assign(rank=ranks)[["rank", "code", "name", "total", *RANKING_RATES]]


def tied_ranks(ranks: pd.Series) -> set[int]:
    """The ranks that more than one region holds."""
    counts = ranks.dropna().astype(int).value_counts()
    return set(counts[counts > 1].index)


def rank_text(rank: object, tied: set[int], lang: str) -> str:
    """A competition rank as shown: "—" when unranked, a shared rank marked (1 并列 / 1=)."""
    if rank is None or pd.isna(rank):
        return "—"
    return t("rank_tied", lang).format(rank=int(rank)) if int(rank) in tied else str(int(rank))


def build_report(
    db: str | os.PathLike,
    region: str,
    start: DateLike,
    end: DateLike,
    year: int | None = None,
    lang: str = "zh",
    principal: Principal | None = None,
    compare: str = "yoy",
) -> dict:
    """Everything a report shows, for a region, a period and a collective-economy year, as `principal`
    may see it (default: the operator of the `report` command, the whole city); changes are measured
    against the period `compare` names (同比 `yoy` by default, 环比 `prev`).

    Raises `queries.QueryError` for an unknown region or a period that ends before it starts, and
    `queries.OutOfScope` for a region outside the principal's scope, before anything is read.
    """
    code = str(region).strip()
    period = Period.of(start, end)
    compared = period.compared(compare)
    gate = Gate(principal or OPERATOR)
    place = gate.ask("region", db, code)
    child_length = {2: 6, 6: 9, 9: 12, 12: 15}.get(len(code))
    child_level = {6: "district", 9: "township", 12: "community", 15: "grid"}.get(child_length or 0)
    # Queries run side by side, each on its own cursor: a report asks some twenty questions.
    with ThreadPoolExecutor(max_workers=QUERY_THREADS) as pool:
        asked_kpis = pool.submit(
            gate.ask, "kpis_with_previous", db, code, period.start, period.end, year, compare=compare
        )
        asked_ranking = pool.submit(gate.ask, "ranking", db, code, period.start, period.end)
        asked_info = pool.submit(gate.ask, "build_info", db)
        asked_path = pool.submit(gate.ask, "ancestors", db, code)
        asked_care = pool.submit(gate.ask, "special_care", db, code)
        current, previous = asked_kpis.result()
        ranking = asked_ranking.result()
        ctx = Context(db, code, period, current["year"], lang, gate, current, ranking)
        asked_charts = {domain: pool.submit(CHART_BUILDERS[domain], ctx) for domain in DOMAINS}
        asked_map = pool.submit(_map_chart, ctx)
        sections = [
            {"key": domain, "title": t(DOMAIN_TITLE_KEYS[domain], lang), "charts": asked.result()}
            for domain, asked in asked_charts.items()
            if asked.result()
        ]
        map_chart = asked_map.result()
        info, path = asked_info.result(), asked_path.result()
        care = asked_care.result()
    care_texts = (
        dict(zip(care["tag"], care["residents_shown"], strict=True)) if "residents_shown" in care else {}
    )
    published = info.get("published_at")
    name = str(place["name"])
    return {
        "lang": lang,
        "title": f"{name}{t('report_title', lang)}" if lang == "zh" else f"{t('report_title', lang)}: {name}",
        "region": {
            "code": code,
            "name": name,
            "level": place["level"],
            "level_label": level_label(place["level"], lang) if place["level"] else "",
            "path": " › ".join(path["name"].astype(str)),
        },
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "previous": {
            "start": compared.start.isoformat(),
            "end": compared.end.isoformat(),
            "year": current["year"] - 1,
            "mode": compare,
            "mode_label": t(f"compare_{compare}", lang),
        },
        "year": current["year"],
        "generated_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "published_at": published.strftime("%Y-%m-%d %H:%M") if isinstance(published, dt.datetime) else "—",
        "is_demo": bool(info.get("is_demo")),
        "kpis": current,
        "previous_kpis": previous,
        "kpi_rows": kpi_rows(current, previous, lang, small_unit=ctx.small_unit, care_texts=care_texts),
        "summary": summary(current, previous, name, ranking, child_level, lang, compare),
        "sections": sections,
        "map": map_chart,
        "ranking": {
            "title": t("ranking", lang),
            "level": level_label(child_level, lang) if child_level else "",
            "table": ranking_table(ranking),
        },
    }


def charts_of(model: dict) -> list[Chart]:
    """Every chart of the report in order, the map last."""
    return [chart for section in model["sections"] for chart in section["charts"]] + [model["map"]]


# -------------------------------------------------------------------------------- renderers


def _untitled(figure: go.Figure) -> go.Figure:
    """The figure without its own title: the report sets the title as a heading above it."""
    copy = go.Figure(figure)
    copy.update_layout(title=None)
    return copy


REPORT_IMAGE_WIDTH = 860  # CSS pixels across the 182 mm text width of an A4 page
_SVG_UID = re.compile(r'id="defs-([0-9a-f]+)"')


def _chart_svg(chart: Chart) -> str:
    """The chart as SVG for the document, drawn by the same export as every chart download.

    The SVG goes into the document as it is, not as an image: Chromium prints an image's text without
    the characters behind its digits, so a PDF's numbers could be neither searched nor copied. Each
    figure's clip paths carry its own id, made unique here, so that no chart clips by another's."""
    height = 700 if chart.key == "map" else None
    svg = export.figure_image(
        _untitled(chart.figure), "svg", "document", width=REPORT_IMAGE_WIDTH, height=height
    ).decode("utf-8")
    found = _SVG_UID.search(svg)
    if found:
        svg = svg.replace(found.group(1), f"{found.group(1)}{chart.key.replace('_', '')}")
    return svg


def _ranking_rows(table: pd.DataFrame, lang: str) -> list[dict]:
    rows = []
    tied = tied_ranks(table["rank"]) if len(table) else set()
    rated_rows = (
        [n for n, rate in enumerate(table["resolution_rate"]) if pd.notna(rate)] if len(table) else []
    )
    best, worst = (rated_rows[0], rated_rows[-1]) if len(rated_rows) >= 2 else (None, None)
    for number, row in enumerate(table.itertuples(index=False)):
        rows.append(
            {
                "rank": rank_text(row.rank, tied, lang),
                "name": row.name,
                "code": row.code,
                "total": figure_text("count", row.total),
                **{
                    rate: fmt.percent(None if pd.isna(getattr(row, rate)) else getattr(row, rate))
                    for rate in RANKING_RATES
                },
                "mark": "best" if number == best else "worst" if number == worst else "",
            }
        )
    return rows


def render_html(model: dict) -> str:
    """One self-contained HTML file: styles inline, charts as inline images, system fonts only."""
    from jinja2 import Environment, FileSystemLoader
    from markupsafe import Markup

    lang = model["lang"]
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    template = environment.get_template("report.html.j2")
    # All images at once: the image browser draws as many as it has tabs in parallel.
    with ThreadPoolExecutor(max_workers=export.IMAGE_TABS) as pool:
        svgs = [Markup(svg) for svg in pool.map(_chart_svg, charts_of(model))]
        sources = dict(zip(charts_of(model), svgs, strict=True))
    sections = [
        {
            "title": section["title"],
            "charts": [{"title": chart.title, "svg": sources[chart]} for chart in section["charts"]],
        }
        for section in model["sections"]
    ]
    words = {
        key: t(key, lang)
        for key in (
            "summary",
            "kpi_table",
            "indicator",
            "domain",
            "current_period",
            "previous_period",
            "change",
            "region",
            "period",
            "economy_year",
            "compared_with",
            "generated_at",
            "published_at",
            "demo_data",
            "demo_note",
            "contents",
            "rank",
            "no_children",
            "up_to",
        )
    }
    words |= {"code": export.column_label("code", lang), "name": export.column_label("name", lang)}
    kpi_groups: list[dict] = []
    for row in model["kpi_rows"]:
        if not kpi_groups or kpi_groups[-1]["key"] != row["domain_key"]:
            kpi_groups.append({"key": row["domain_key"], "title": row["domain"], "rows": []})
        kpi_groups[-1]["rows"].append(row)
    return template.render(
        model=model,
        kpi_groups=kpi_groups,
        lang=lang,
        words=words,
        sections=sections,
        map={"title": model["map"].title, "svg": sources[model["map"]]},
        ranking_rows=_ranking_rows(model["ranking"]["table"], lang),
        ranking_headers=[export.column_label(c, lang) for c in ("total", *RANKING_RATES)],
    )


def _page_templates(model: dict) -> tuple[str, str]:
    lang = model["lang"]
    style = (
        "font-family: 'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', sans-serif; font-size: 8px;"
        " color: #6b7280; width: 100%; margin: 0 14mm;"
    )
    header = (
        f'<div style="{style} display: flex; justify-content: space-between;">'
        f"<span>{html.escape(model['title'])}</span>"
        f"<span>{html.escape(model['period']['start'])} {html.escape(t('up_to', lang))} "
        f"{html.escape(model['period']['end'])}</span></div>"
    )
    pages = html.escape(t("page_of", lang)).format(
        page='<span class="pageNumber"></span>', pages='<span class="totalPages"></span>'
    )
    footer = f'<div style="{style} text-align: center;">{pages}</div>'
    return header, footer


class PdfPrinter:
    """Headless Chromium for printing one document to PDF, started ahead in a thread of its own.

    Starting the browser takes a second or two; a report starts it first and prints when its HTML
    is ready. Playwright's sync API belongs to the thread that started it (and refuses a thread that
    runs an asyncio loop), so the whole job runs in the printer's own thread.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue(maxsize=1)
        self._results: queue.Queue = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="report-pdf", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    job = self._jobs.get()
                    if job is None:
                        return
                    document, header, footer = job
                    page = browser.new_page()
                    page.set_default_timeout(PDF_TIMEOUT_MS)
                    page.set_content(document, wait_until="load")
                    self._results.put(
                        page.pdf(
                            format="A4",
                            print_background=True,
                            display_header_footer=True,
                            header_template=header,
                            footer_template=footer,
                            margin={"top": "16mm", "bottom": "14mm", "left": "14mm", "right": "14mm"},
                        )
                    )
                finally:
                    browser.close()
        except Exception as exc:  # noqa: BLE001 - handed to the thread that waits for the PDF
            self._results.put(exc)

    def print(self, document: str, header: str = "<span></span>", footer: str = "<span></span>") -> bytes:
        """The document as A4 PDF, with the page header and footer given (Chromium's templates)."""
        self._jobs.put((document, header, footer))
        try:
            result = self._results.get(timeout=PDF_TIMEOUT_MS / 1000 + 60)
        except queue.Empty:
            raise ReportError("PDF 打印超时") from None
        if isinstance(result, Exception):
            raise ReportError(f"PDF 打印失败：{result}") from result
        return result

    def close(self) -> None:
        """Let the browser go without printing (when the report failed before its HTML was ready)."""
        try:
            self._jobs.put_nowait(None)
        except queue.Full:
            pass  # a document is queued: the thread ends after printing it
        self._thread.join(timeout=30)


def html_to_pdf(document: str, header: str = "<span></span>", footer: str = "<span></span>") -> bytes:
    """Print an HTML document to A4 PDF with headless Chromium (page header and footer as given)."""
    return PdfPrinter().print(document, header, footer)


def render_pdf(model: dict, printer: PdfPrinter | None = None) -> bytes:
    """The report as an A4 PDF: the HTML printed by Chromium, with page numbers."""
    header, footer = _page_templates(model)
    document = render_html(model)
    return (printer or PdfPrinter()).print(document, header, footer)


def _excel_change(row: dict, lang: str) -> tuple[float | str, str]:
    """The change as a number with a format that reads like the PDF's ('+1.3个百分点', '+5.2%', '+26')."""
    now, before = row["current"], row["previous"]
    if now is None or before is None:
        return "—", ""
    if row["kind"] == "rate":
        unit = '" pp"' if lang == "en" else '"个百分点"'
        return (now - before) * 100, f"+0.0{unit};-0.0{unit};0.0{unit}"
    if before == 0:
        return now - before, "+#,##0;-#,##0;0"
    return (now - before) / before, "+0.0%;-0.0%;0.0%"


def render_xlsx(model: dict) -> bytes:
    """The report as a workbook, one sheet per section; text cells neutralised."""
    lang = model["lang"]
    region, period, previous = model["region"], model["period"], model["previous"]
    cover = pd.DataFrame(
        {
            t("cover", lang): [
                model["title"],
                t("region", lang),
                export.column_label("code", lang),
                t("period", lang),
                t("compared_with", lang),
                t("economy_year", lang),
                t("generated_at", lang),
                t("published_at", lang),
            ]
            + ([t("demo_data", lang)] if model["is_demo"] else []),
            "": [
                "",
                region["path"],
                region["code"],
                f"{period['start']} – {period['end']}",
                f"{previous['start']} – {previous['end']} ({previous['mode_label']})",
                str(model["year"]),
                model["generated_at"],
                model["published_at"],
            ]
            + ([t("demo_note", lang)] if model["is_demo"] else []),
        }
    )
    rows = model["kpi_rows"]
    current_column, previous_column = t("current_period", lang), t("previous_period", lang)
    change_column = t("change", lang)
    changes = [_excel_change(row, lang) for row in rows]
    kpi_sheet = pd.DataFrame(
        {
            t("domain", lang): [r["domain"] for r in rows],
            t("indicator", lang): [r["label"] for r in rows],
            current_column: [
                r["current"] if r["current"] is not None or r["current_text"] == "—" else r["current_text"]
                for r in rows
            ],
            previous_column: [
                r["previous"]
                if r["previous"] is not None or r["previous_text"] == "—"
                else r["previous_text"]
                for r in rows
            ],
            change_column: [value for value, _ in changes],
        }
    )
    formats = [
        {
            current_column: EXCEL_FORMATS[r["kind"]],
            previous_column: EXCEL_FORMATS[r["kind"]],
            change_column: change_format,
        }
        for r, (_, change_format) in zip(rows, changes, strict=True)
    ]
    sheets: dict[str, pd.DataFrame] = {
        t("cover", lang): cover,
        t("summary", lang): pd.DataFrame({t("summary", lang): model["summary"]}),
        t("kpi_table", lang): kpi_sheet,
    }
    for chart in charts_of(model):
        sheets[chart.title] = export.readable(chart.data, lang)
    sheets[model["ranking"]["title"]] = export.readable(model["ranking"]["table"], lang)
    # every sheet but the cover (which lists them) says whose figures they are and for which period
    compared = f"{t('compared_with', lang)} {previous['start']} {t('up_to', lang)} {previous['end']}"
    caption = [model["title"], export.period_line(period["start"], period["end"], compared, lang)]
    captions = {name: caption for name in sheets if name != t("cover", lang)}
    return export.xlsx_bytes(sheets, cell_formats={t("kpi_table", lang): formats}, captions=captions)


def render(model: dict, output_format: str, printer: PdfPrinter | None = None) -> bytes:
    """The report as bytes in one of FORMATS (a PDF through `printer` when one was started)."""
    if output_format == "pdf":
        return render_pdf(model, printer)
    if output_format == "html":
        return render_html(model).encode("utf-8")
    if output_format == "xlsx":
        return render_xlsx(model)
    raise ReportError(f"未知的报告格式：{output_format}（可用：{', '.join(FORMATS)}）", usage=True)


# ---------------------------------------------------------------------------------- writing


def format_of(path: str | os.PathLike) -> str:
    """The report format a file name asks for: .pdf, .html (.htm) or .xlsx."""
    suffix = Path(path).suffix.lower().lstrip(".")
    suffix = {"htm": "html"}.get(suffix, suffix)
    if suffix not in FORMATS:
        raise ReportError(
            f"不支持的报告格式：{Path(path).name}（文件名应以 .pdf、.html 或 .xlsx 结尾）", usage=True
        )
    return suffix


def check_writable(path: str | os.PathLike) -> Path:
    """The target as a Path, or ReportError when no file can be written there."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ReportError(f"输出路径是一个目录：{target}")
    if not folder.is_dir():
        raise ReportError(f"输出目录不存在：{folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReportError(f"输出目录不可写：{folder}")
    return target


def write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file beside the target and rename it: readers never see half a file."""
    try:
        handle, temporary = tempfile.mkstemp(
            dir=target.parent or ".", prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as exc:
        raise ReportError(f"无法写入 {target}：{exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ReportError(f"无法写入 {target}：{exc.strerror or exc}") from None
        raise


def _warm_up_quietly() -> None:
    try:
        export.warm_up()
    except export.ExportError:
        pass  # the first image reports it


def write_report(
    db: str | os.PathLike,
    region: str,
    start: DateLike,
    end: DateLike,
    out: str | os.PathLike,
    year: int | None = None,
    lang: str = "zh",
    principal: Principal | None = None,
    compare: str = "yoy",
) -> Path:
    """Build the report and write it to `out`, in the format its suffix names (.pdf, .html, .xlsx).

    Raises ReportError (unknown format: `usage` set; unwritable path) or queries.QueryError (no
    database, unknown region, a period that ends before it starts); no file is left behind.
    """
    output_format = format_of(out)
    target = check_writable(out)
    if output_format in ("pdf", "html"):
        # The browsers start while the queries run.
        threading.Thread(target=_warm_up_quietly, name="image-export-warm-up", daemon=True).start()
    printer = PdfPrinter() if output_format == "pdf" else None
    try:
        model = build_report(
            db, region, start, end, year=year, lang=lang, principal=principal, compare=compare
        )
        data = render(model, output_format, printer)
    finally:
        if printer is not None:
            printer.close()
    write_atomically(target, data)
    return target
