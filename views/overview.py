"""一屏总览: the whole picture of a region on one screen."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, choropleth, frame, maps, panels
from dashboard.cards import build_cards
from dashboard.data import ask
from dashboard.downloads import chart_downloads, period_text
from dashboard.filters import Filters, drill_to
from dashboard.labels import enum_label, kpi_label, t
from dashboard.queries import MAP_METRICS
from dashboard.report import has_iot, ranking_table

filters: Filters = st.session_state["filters"]
lang, principal = filters.lang, filters.principal
if filters.kiosk:
    frame.wall_scale()
code = frame.shown_region(filters)
frame.stop_unless_shown(filters, t("overview", lang), code)

region = ask(principal, "region", filters.db, code)
frame.title_bar(filters, t("overview", lang), region["name"])

# ------------------------------------------------------------------------------------ KPIs
current, previous = panels.compared_kpis(filters, code)
cards = build_cards(current, previous, lang, compare=filters.compare)
panels.show_cards(cards, 6, largest_rem=2.2 if filters.kiosk else 1.9, border=False)
st.caption(filters.compared_text(economy_year=previous["year"]))
iot_shown = has_iot(current)  # a region with devices shows the IoT strip and alarm points


def league() -> None:
    """擂台比武: on the wall the best and the worst; on the desk every child, sortable, a click drills."""
    st.subheader(t("ranking", lang))
    ranking = ask(principal, "ranking", filters.db, code, filters.start, filters.end)
    if ranking.empty:
        st.info(t("no_children", lang))
        return
    table = ranking_table(ranking)
    if filters.kiosk:
        panels.league_wall(table, lang)
        return
    # keyed by the region shown: the drilled page's table starts with nothing selected
    picked = panels.league_table(table, lang, key=f"overview_ranking_{code}")
    if picked:
        drill_to(picked)
        st.rerun()
    chart_downloads(
        principal,
        lambda: charts.ranking_chart(ranking, "resolution_rate", lang),  # drawn only for a download
        table,
        f"{region['name']} · {t('ranking', lang)}",
        lang,
        target=f"overview:{code}:ranking",
        period=period_text(filters),
    )


map_column, middle_column, sheet_column = st.columns([1.3, 1.0, 1.05], gap="medium")
compact = filters.kiosk
# the wall screen fits 1080 px: the cards, the line naming the compared dates, then these (the map
# under its metric switch and its legend)
map_height = 528 if compact else 530
# the map column's width on a 1920 px screen, without and with the sidebar: the map fits the region
# and places its labels for it, and a wider screen only adds room around them
map_width = 700 if compact else 540

# ------------------------------------------------------------------------------------- map
with map_column:
    metric = (
        st.segmented_control(
            t("map_metric", lang),
            MAP_METRICS + (("alarms",) if iot_shown else ()),
            format_func=lambda m: t(f"metric_{m}", lang),
            default="events",
            key="overview_map_metric",
            label_visibility="collapsed",
            wrap=True,  # English names are longer: the last choice wraps instead of hiding off the edge
        )
        or "events"
    )
    # the grids' hexagons over the outlines, for a closer look (on the desk)
    hexagons = not filters.kiosk and st.toggle(t("map_hexagons", lang), key="overview_map_hexagons")
    cells = None
    if hexagons:
        cells = ask(principal, "map_cells", filters.db, code, filters.start, filters.end)
        # residents as the gate lets them through: "<5" where a cell's count is hidden
        residents = "residents_shown" if "residents_shown" in cells.columns else "residents"
        tip = (
            f"{t('metric_events', lang)}: {{events}}<br/>{kpi_label('residents', lang)}: {{{residents}}}"
            f"<br/>{t('metric_overdue', lang)}: {{overdue}}"
        )
        cells = cells.assign(tip=maps.tooltip_text(cells, tip))
    areas = choropleth.areas(principal, filters.db, code, filters.start, filters.end, lang, alarms=iot_shown)
    alarms = None
    if iot_shown and panels.alarm_points_shown():
        points = ask(principal, "alarm_points", filters.db, code, filters.start, filters.end)
        if not points.empty:
            alarms = maps.alarm_layer(points.assign(tip=panels.alarm_tips(points, lang)))
    choropleth.show(
        areas,
        metric,
        "overview_map",
        lang,
        code,
        height=map_height,
        width=map_width,
        wall=filters.kiosk,
        cells=cells,
        points=alarms,
    )

# ------------------------------------------------------------------------ trend and ranking
with middle_column:
    st.subheader(t("trend", lang))
    trend = ask(principal, "event_trend", filters.db, code, filters.start, filters.end)
    if filters.kiosk:
        panels.trend_wall(trend, lang, height=170)
    else:
        trend_figure = charts.trend_chart(trend, lang, height=470)
        st.plotly_chart(trend_figure, key="overview_trend", config={"displayModeBar": False})
        chart_downloads(
            principal,
            trend_figure,
            trend,
            f"{region['name']} · {t('trend', lang)}",
            lang,
            target=f"overview:{code}:trend",
            period=period_text(filters),
        )
    if filters.kiosk:
        league()

# ------------------------------------------------------------------------------ event sheet
with sheet_column:
    st.subheader(t("event_sheet", lang))

    # A publish reruns the whole page (frame.watch_publication), which shows its events, and so does the
    # lapse of a 新 mark. Not a fragment with a timer of its own: a fragment's rerun that draws, landing
    # while the page's full run is drawn, can leave the browser's page in pieces (Streamlit's
    # "'setIn' cannot be called on an ElementNode"), and the live benchmark saw walls go blank that way.
    # Its rows depend on the publish alone, so they come from the cache.
    def event_sheet() -> None:
        sheet = ask(principal, "event_sheet", filters.db, code, filters.start, filters.end, limit=16)
        if sheet.empty:
            # the sheet lists open events only: say whether there were none at all or none open
            st.info(t("no_open_events", lang) if current["events"]["total"] else t("no_events", lang))
            return
        fresh = frame.fresh_events(
            filters.db,
            code,  # not the period: the default one moves with the newest event a publish brings
            {
                row.event_id: (str(row.status), str(row.reported_at), str(row.category), str(row.description))
                for row in sheet.itertuples()
            },
        )
        shown = sheet.assign(
            new_mark=[t("new_mark", lang) if e in fresh else "" for e in sheet["event_id"]],
            reported_at=sheet["reported_at"].dt.strftime("%m-%d %H:%M"),
            category=[enum_label(c, lang) for c in sheet["category"]],
            status=[enum_label(s, lang) for s in sheet["status"]],
            age=[fmt_age(h, lang) for h in sheet["age_hours"]],
            overdue=["⚠ " + t("overdue", lang) if o else "" for o in sheet["overdue"]],
        )[["new_mark", "reported_at", "place", "category", "status", "age", "overdue", "description"]]
        shown.columns = [t(c, lang) for c in shown.columns]
        if filters.kiosk:
            panels.sheet_wall(shown, height=sheet_height, overdue_column=t("overdue", lang))
        else:
            st.dataframe(shown, hide_index=True, height=sheet_height, width="stretch")

    def fmt_age(hours: float, lang: str) -> str:
        if hours >= 48:
            return f"{hours / 24:.0f}{t('days', lang)}"
        return f"{hours:.0f}{t('hours', lang)}"

    # beside the IoT strip the sheet gives up the strip's height: the column stays as high as the map
    sheet_height = map_height + 10 - (panels.IOT_STRIP_TOTAL_PX if iot_shown else 0)
    event_sheet()
    if iot_shown:
        panels.iot_strip(filters, code, current)

if not filters.kiosk:
    league()
