"""事件: incidents and how they are handled: volume, the funnel, rates, time to resolve, the resolution chain,
satisfaction, the overdue list and where it all happens."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, maps, panels
from dashboard.data import ask
from dashboard.labels import enum_label, kpi_label, t
from pipelines.contract import EVENTS

CARDS = (
    ("events", "total", "count", 0),
    ("events", "resolved", "count", 0),
    ("events", "resolution_rate", "rate", 1),
    ("events", "on_time_rate", "rate", 1),
    ("events", "median_hours_to_resolve", "hours", -1),
    ("events", "grassroots_rate", "rate", 1),
    ("events", "satisfaction_rate", "rate", 1),
    ("events", "overdue_open", "count", -1),
)
BREAKDOWNS = ("category", "source", "status")
CHART_HEIGHT = 380
MAP_HEIGHT = 520

filters, code, region = panels.page_start("events_page")
lang, db, principal = filters.lang, filters.db, filters.principal
category = panels.enum_choice("category", "category", EVENTS.column("category").enum, lang)
source = panels.enum_choice("source", "source", EVENTS.column("source").enum, lang)
chosen = (code, filters.start, filters.end, category, source)
panels.kpi_row(filters, code, CARDS)
if category or source:
    st.caption(t("cards_all_events", lang))
funnel = ask(principal, "events_funnel", db, *chosen)
if not funnel["events"].iloc[0]:
    # nothing to break down: one message, not a page of empty charts
    st.info(t("no_events", lang))
    st.stop()

# ------------------------------------------------------------------------------- volume and funnel
volume, funnel_column = st.columns([2, 1], gap="medium")
with volume:
    st.subheader(t("events_by_month", lang))
    breakdown = (
        st.segmented_control(
            t("breakdown", lang),
            BREAKDOWNS,
            format_func=lambda b: t(b, lang),
            default="category",
            key="events_breakdown",
            label_visibility="collapsed",
        )
        or "category"
    )
    monthly = ask(principal, "events_monthly", db, *chosen)
    months = monthly.assign(month=monthly["month"].astype(str).str[:7])
    panels.chart(
        charts.stacked_bars(
            months,
            "month",
            breakdown,
            "events",
            lang,
            height=CHART_HEIGHT,
            y_title=t("events", lang),
            x_values=charts.months_between(filters.start, filters.end),  # a month without events at 0
        ),
        charts.data_table(
            months,
            {
                "month": "month",
                "category": "enum",
                "source": "enum",
                "status": "enum",
                "events": ("count", t("events", lang)),
            },
            lang,
        ),
        "events_monthly",
        lang,
        title=t("events_by_month", lang),
    )
with funnel_column:
    st.subheader(t("funnel", lang))
    panels.chart(
        charts.funnel_chart(funnel, lang, height=CHART_HEIGHT + 44),
        charts.data_table(
            funnel.assign(stage=[t(f"stage_{s}", lang) for s in funnel["stage"]]),
            {"stage": "text", "events": ("count", t("events", lang)), "share": "rate"},
            lang,
        ),
        "events_funnel",
        lang,
        title=t("funnel", lang),
    )

# ------------------------------------------------------------------------------------------- rates
rate_columns = {"total": "count", "resolved": "count", "resolution_rate": "rate", "on_time_rate": "rate"}
by_child_column, by_category_column = st.columns(2, gap="medium")
with by_child_column:
    st.subheader(t("rates_by_child", lang))
    by_child = ask(principal, "event_rates_by_child", db, *chosen)
    if by_child.empty:
        st.info(t("no_children_here", lang))
    else:
        st.caption(t("click_to_drill", lang))
        panels.chart(
            charts.rate_dots(by_child, ["resolution_rate", "on_time_rate", "grassroots_rate"], lang),
            charts.data_table(
                by_child,
                {"name": "text", **rate_columns, "grassroots_rate": "rate", "satisfaction_rate": "rate"},
                lang,
            ),
            "events_by_child",
            lang,
            title=t("rates_by_child", lang),
            drill_from=code,
        )
by_category = ask(principal, "event_rates_by_category", db, code, filters.start, filters.end, source)
with by_category_column:
    st.subheader(t("rates_by_category", lang))
    grassroots = {"grassroots_rate": t("category_grassroots_rate", lang)}
    panels.chart(
        charts.rate_dots(
            by_category,
            ["resolution_rate", "on_time_rate", "grassroots_rate"],
            lang,
            label_column="category",
            code_column=None,
            enum=True,
            labels=grassroots,
        ),
        charts.data_table(
            by_category,
            {"category": "enum", **rate_columns, "grassroots_rate": ("rate", grassroots["grassroots_rate"])},
            lang,
        ),
        "events_by_category",
        lang,
        title=t("rates_by_category", lang),
    )
    st.subheader(t("hours_by_category", lang))
    panels.chart(
        charts.hours_chart(by_category, lang, height=CHART_HEIGHT),
        charts.data_table(
            by_category,
            {"category": "enum", "resolved": "count", "median_hours": "hours", "p90_hours": "hours"},
            lang,
        ),
        "events_hours",
        lang,
        title=t("hours_by_category", lang),
    )

# ------------------------------------------------------------------------ chain and satisfaction
chain_column, satisfaction_column = st.columns([1.3, 0.9], gap="medium")
with chain_column:
    chain_category = category or "dispute"
    title = (
        t("resolution_chain", lang)
        if chain_category == "dispute"
        else f"{enum_label(chain_category, lang)} · {t('resolution_chain_of', lang)}"
    )
    st.subheader(title)
    chain = ask(principal, "resolution_chain", db, code, filters.start, filters.end, chain_category, source)
    panels.chart(
        charts.chain_chart(chain, lang, height=CHART_HEIGHT),
        charts.data_table(
            chain,
            {
                "level": ("level", t("resolution_level", lang)),
                "events": ("count", t("events", lang)),
                "share": "rate",
                "cumulative_share": "rate",
            },
            lang,
        ),
        "events_chain",
        lang,
        title=title,
    )
with satisfaction_column:
    st.subheader(t("satisfaction", lang))
    mix = ask(principal, "satisfaction_mix", db, *chosen)
    panels.chart(
        charts.share_donut(
            mix[mix["satisfaction"] != "unrated"], "satisfaction", "events", lang, height=CHART_HEIGHT
        ),
        charts.data_table(
            mix.assign(
                satisfaction=[
                    t("unrated", lang) if s == "unrated" else enum_label(s, lang) for s in mix["satisfaction"]
                ]
            ),
            {"satisfaction": "text", "events": ("count", t("events", lang)), "share_of_rated": "rate"},
            lang,
        ),
        "events_satisfaction",
        lang,
        title=t("satisfaction", lang),
    )

# ------------------------------------------------------------------------------ map and overdue
map_column, overdue_column = st.columns([1, 1.25], gap="medium")
with map_column:
    st.subheader(t("event_map", lang))
    metric = (
        st.segmented_control(
            t("map_metric", lang),
            ("events", "resolution_rate"),
            format_func=lambda m: t(f"metric_{m}", lang),
            default="events",
            key="events_map_metric",
            label_visibility="collapsed",
        )
        or "events"
    )
    cells = ask(principal, "map_cells", db, *chosen).merge(
        ask(principal, "cell_children", db, code), on="cell", how="left"
    )
    cells["tip"] = charts.map_tips(
        cells,
        [
            (t("metric_events", lang), "events", "count"),
            (kpi_label("resolution_rate", lang), "resolution_rate", "rate"),
            (t("metric_overdue", lang), "overdue", "count"),
        ],
        lang,
    )
    labels = ask(principal, "child_positions", db, code)
    labels = labels.assign(tip=charts.map_tips(labels, [], lang))
    outlines = ask(principal, "child_outlines", db, code)
    deck = maps.region_map(
        cells, metric, labels, outlines, height=MAP_HEIGHT, width=700, tooltip_html="{tip}"
    )
    map_table = charts.data_table(
        cells.sort_values("events", ascending=False),
        {
            "name": ("text", t("sub_region", lang)),
            "events": ("count", t("events", lang)),
            "resolved": "count",
            "resolution_rate": "rate",
            "overdue": ("count", t("metric_overdue", lang)),
        },
        lang,
    )
    panels.region_map(deck, map_table, "events_map", lang, code, MAP_HEIGHT)
with overdue_column:
    st.subheader(t("overdue_list", lang))
    overdue = ask(principal, "overdue_events", db, *chosen)
    if overdue.empty:
        st.info(t("no_overdue", lang))
    else:
        st.caption(t("overdue_total", lang).format(n=int(overdue["total"].iloc[0])))
        shown = overdue.assign(
            age=[panels.duration(h, lang) for h in overdue["age_hours"]],
            overdue_by=[panels.duration(h, lang) for h in overdue["overdue_hours"]],
        )
        table = charts.data_table(
            shown,
            {
                "event_id": "text",
                "place": "text",
                "category": "enum",
                "source": "enum",
                "status": "enum",
                "reported_at": "time",
                "due_at": "time",
                "age": "text",
                "overdue_by": ("text", t("overdue_hours", lang)),
                "description": "text",
            },
            lang,
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            height=min(MAP_HEIGHT + 40, 38 + 35 * len(table)),
            key="events_overdue",
        )
