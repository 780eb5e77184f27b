"""What the analyst pages share on screen: the header with its breadcrumb, KPI cards, a chart with the
table behind it, a map, and drilling into the region a click picks."""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
import streamlit as st

from dashboard import charts, frame
from dashboard import format as fmt
from dashboard.access import Principal
from dashboard.cards import Card, build_cards, fit_css, format_value
from dashboard.data import ask
from dashboard.downloads import chart_downloads, may_download, period_text
from dashboard.filters import Filters, drill_to, page_choice
from dashboard.labels import KPI_LABELS, enum_label, kpi_label, t
from dashboard.queries import SUPPRESSED_TEXT, WITHHELD_TEXT
from dashboard.report import RANKING_RATES, rank_text, tied_ranks

CardSpec = tuple[tuple[str, str, str, int], ...]
# More than six cards in a row: smaller type, so that the fixed Chinese labels fit.
COMPACT_CARDS_CSS = """
<style>
  [data-testid="stMetricLabel"] p { font-size: 0.85rem; white-space: normal !important; line-height: 1.25; }
  [data-testid="stMetricLabel"], [data-testid="stMetricLabel"] div { overflow: visible !important;
      white-space: normal !important; height: auto !important; }
  [data-testid="stMetricLabel"] { min-height: 2.2rem; align-items: flex-start; }
  [data-testid="stMetricValue"] { font-size: 1.6rem; }
</style>
"""
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
# A viewer may not download: the chart's own "download as PNG" goes too.
VIEWER_PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d", "toImage"]}


def plotly_config(principal: Principal | None) -> dict:
    """The chart toolbar a principal gets: without the image download for a viewer."""
    return PLOTLY_CONFIG if may_download(principal) else VIEWER_PLOTLY_CONFIG


def page_start(title_key: str) -> tuple[Filters, str, dict]:
    """The filters, the region code and its row; a region that does not exist or lies outside the
    principal's scope stops the page with a message."""
    filters: Filters = st.session_state["filters"]
    lang = filters.lang
    code = filters.region
    frame.stop_unless_shown(filters, t(title_key, lang), code)
    region = ask(filters.principal, "region", filters.db, code)
    frame.title_bar(filters, t(title_key, lang), region["name"])
    frame.breadcrumb(filters, code)
    return filters, code, region


def compared_kpis(filters: Filters, code: str) -> tuple[dict, dict]:
    """The KPI object of the view and that of the period it is compared with, as the filters say."""
    return ask(
        filters.principal,
        "kpis_with_previous",
        filters.db,
        code,
        filters.start,
        filters.end,
        year=filters.year,
        compare=filters.compare,
    )


def kpi_row(filters: Filters, code: str, spec: CardSpec) -> tuple[dict, dict]:
    """The page's KPI cards, from the same KPI object as the overview and the `kpi` command."""
    current, previous = compared_kpis(filters, code)
    compact = len(spec) > 6
    if compact:
        st.html(COMPACT_CARDS_CSS)
    cards = build_cards(current, previous, filters.lang, spec, compare=filters.compare)
    show_cards(cards, len(spec), largest_rem=1.6 if compact else 1.9)
    sections = {section for section, *_ in spec}
    if sections == {"collective_economy"}:
        st.caption(t("compared_year_only", filters.lang).format(year=previous["year"]))
    else:
        by_year = "collective_economy" in sections
        st.caption(filters.compared_text(economy_year=previous["year"] if by_year else None))
    return current, previous


def show_cards(cards: list[Card], per_row: int, largest_rem: float, border: bool = False) -> None:
    """KPI cards in rows of `per_row`, each value and change whole (see cards.fit_css)."""
    with st.container(key="kpi_cards"):
        st.html(fit_css("kpi_cards", cards, largest_rem))
        for first in range(0, len(cards), per_row):
            row = cards[first : first + per_row]
            for column, card in zip(st.columns(per_row, gap="small"), row, strict=False):
                column.metric(
                    card.label,
                    card.value,
                    card.delta,
                    delta_color=card.delta_color,
                    delta_arrow=card.delta_arrow,
                    help=card.help,
                    border=border,
                )


def enum_choice(name: str, label_key: str, codes: Iterable[str], lang: str) -> str | None:
    """A page filter over an enumeration, in the sidebar and the URL; None for all."""
    options = ["", *codes]
    with st.sidebar:
        choice = page_choice(
            name,
            t(label_key, lang),
            options,
            lambda c: enum_label(c, lang) if c else f"— {t('all', lang)} —",
            lang,
        )
    return choice or None


def picked_region(codes: Iterable, current: str) -> str | None:
    """The first picked code that lies below the current region (what a click drills into)."""
    for code in codes:
        if isinstance(code, list | tuple):
            code = code[0] if code else None
        if code is None or (isinstance(code, float) and pd.isna(code)):
            continue
        code = str(code)
        if code.startswith(current) and len(code) > len(current):
            return code
    return None


def plotly_codes(event) -> list:
    """The customdata of the points a plotly selection event holds."""
    try:
        points = event.selection.points
    except (AttributeError, KeyError):
        return []
    return [point.get("customdata") for point in points or []]


def deck_codes(event) -> list:
    """The `code` of the objects a pydeck selection event holds, on any layer."""
    try:
        objects = event.selection.objects
    except (AttributeError, KeyError):
        return []
    return [item.get("code") for layer in (objects or {}).values() for item in layer or []]


def _drill(target: str | None) -> None:
    if target:
        drill_to(target)
        st.rerun()


def table_behind(table: pd.DataFrame, lang: str, key: str) -> None:
    """The table behind a chart, one click away."""
    with st.expander(t("data_table", lang), icon=":material/table_chart:"):
        st.dataframe(table, hide_index=True, width="stretch", key=f"table_{key}")


def chart(
    fig: go.Figure,
    table: pd.DataFrame,
    key: str,
    lang: str,
    drill_from: str | None = None,
    title: str | None = None,
) -> None:
    """A plotly chart with its 下载 menu (titled by the region and `title`, the chart's heading) and its
    table; with `drill_from`, a click on a bar carrying a region code below that region drills into it.
    The key holds the region, so a drilled page starts with nothing selected."""
    filters: Filters = st.session_state["filters"]
    config = plotly_config(filters.principal)
    if drill_from:
        event = st.plotly_chart(
            fig, key=f"{key}_{drill_from}", on_select="rerun", selection_mode="points", config=config
        )
        _drill(picked_region(plotly_codes(event), drill_from))
    else:
        st.plotly_chart(fig, key=key, config=config)
    region = ask(filters.principal, "region", filters.db, filters.region)["name"]
    chart_downloads(
        filters.principal,
        fig,
        table,
        f"{region} · {title or key}",
        lang,
        key=f"download_{key}",
        readable=False,
        target=f"{key.split('_')[0]}:{filters.region}:{key}",
        period=period_text(filters),
    )
    table_behind(table, lang, key)


def region_map(deck: pdk.Deck, table: pd.DataFrame, key: str, lang: str, current: str, height: int) -> None:
    """A map with its table; a click on a cell or a label drills into the region it belongs to."""
    event = st.pydeck_chart(
        deck, height=height, key=f"{key}_{current}", on_select="rerun", selection_mode="single-object"
    )
    _drill(picked_region(deck_codes(event), current))
    table_behind(table, lang, key)


def table_of(frame: pd.DataFrame, columns: dict, lang: str) -> pd.DataFrame:
    """`charts.data_table`, with each count the gate hid shown as its text ("<5", or "…" where it was
    withheld so that no "<5" can be worked out)."""
    spec, shown = dict(columns), frame.copy()
    for column, kind in columns.items():
        text = f"{column}_shown"
        if text in frame.columns and frame[column].isna().any():
            label = (
                kind[1]
                if isinstance(kind, tuple)
                else (kpi_label(column, lang) if column in KPI_LABELS else t(column, lang))
            )
            shown[column] = frame[text]
            spec[column] = ("text", label)
    return charts.data_table(shown, spec, lang)


def hidden_note(lang: str, *frames: pd.DataFrame) -> None:
    """The note under figures of which some are hidden: what "<5" and "…" mean."""
    texts = {v for f in frames for c in f.columns if c.endswith("_shown") for v in f[c]}
    if SUPPRESSED_TEXT in texts:
        st.caption(t("suppression_note", lang))
    if WITHHELD_TEXT in texts:
        st.caption(t("withheld_note", lang))


def drawable(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The frame for a chart: hidden counts drawn as nothing (0), never as their value."""
    return frame.assign(**{c: frame[c].astype("Float64").fillna(0) for c in columns if c in frame.columns})


def duration(hours: float, lang: str) -> str:
    """An age or a delay: whole days from two days on, hours below."""
    if hours >= 48:
        return f"{hours / 24:.0f}{t('days', lang)}"
    return f"{hours:.0f}{t('hours', lang)}"


# ------------------------------------------------------------------------ 擂台比武 (league table)

LEAGUE_ROW_PX = 35  # Streamlit's row height, also that of the header
LEAGUE_MAX_ROWS = 20  # beyond this the table scrolls within itself
LEAGUE_RANK_PX = 80  # wide enough for a shared rank, "12 并列"
WALL_GROUP = 5  # the wall shows the best and the worst this many


def _extremes(column: pd.Series) -> list[str]:
    """Best in green and worst in red, when a rate column holds more than one value."""
    if column.nunique() < 2:
        return [""] * len(column)
    best, worst = column.max(), column.min()
    return [
        "background-color: rgba(52,211,153,0.35)"
        if v == best
        else "background-color: rgba(248,113,113,0.35)"
        if v == worst
        else ""
        for v in column
    ]


def league_table(table: pd.DataFrame, lang: str, key: str, selectable: bool = True) -> str | None:
    """The ranked children (`report.ranking_table`) as a sortable table with every rate, a shared rank
    marked, "—" where there is nothing to rate, tall enough for every row up to LEAGUE_MAX_ROWS.

    Returns the code of the row a click picked. `key` must name the region shown: a drilled page then
    starts with nothing selected, so one click moves one level."""
    rate_labels = {c: kpi_label(c, lang) for c in RANKING_RATES}
    shown = table[["rank", "name", "total", *RANKING_RATES]].rename(
        columns={"rank": t("rank", lang), "name": t("region", lang), "total": kpi_label("total", lang)}
        | rate_labels
    )
    tied = tied_ranks(table["rank"])
    styled = shown.style.apply(_extremes, subset=list(rate_labels.values())).format(
        {label: fmt.percent for label in rate_labels.values()}
        | {kpi_label("total", lang): "{:,.0f}", t("rank", lang): lambda r: rank_text(r, tied, lang)},
        na_rep="—",
    )
    rows = min(len(shown), LEAGUE_MAX_ROWS)
    selection = {"on_select": "rerun", "selection_mode": "single-row"} if selectable else {}
    event = st.dataframe(
        styled,
        hide_index=True,
        height=(rows + 1) * LEAGUE_ROW_PX + 3,
        key=key,
        width="stretch",
        placeholder="—",
        column_config={t("rank", lang): st.column_config.Column(width=LEAGUE_RANK_PX, alignment="left")},
        **selection,
    )
    picked = event.selection.rows if selectable and event and event.selection else []
    return str(table["code"].iloc[picked[0]]) if picked else None


def league_wall(table: pd.DataFrame, lang: str) -> None:
    """The league table for the wall: the best and the worst WALL_GROUP, labelled, so the weakest are
    on screen too; every row when there are no more than twice that."""
    tied = tied_ranks(table["rank"])
    rated = table[table["rank"].notna()]
    if len(table) <= 2 * WALL_GROUP:
        groups = [("", table)]
    else:
        top = table.head(WALL_GROUP)
        bottom = rated.iloc[WALL_GROUP:].tail(WALL_GROUP)
        left_out = len(table) - len(top) - len(bottom)
        bottom_label = t("league_bottom", lang).format(n=len(bottom))
        if left_out:
            bottom_label += " · " + t("league_left_out", lang).format(n=left_out)
        groups = [(t("league_top", lang).format(n=len(top)), top), (bottom_label, bottom)]
    headers = [t("rank", lang), t("region", lang), kpi_label("total", lang)] + [
        kpi_label(c, lang) for c in RANKING_RATES
    ]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = ""
    for number, (label, rows) in enumerate(groups):
        if rows.empty:
            continue
        kind = "yp-top" if number == 0 and label else "yp-bottom" if label else ""
        if label:
            body += f'<tr class="yp-group {kind}"><td colspan="{len(headers)}">{html.escape(label)}</td></tr>'
        for row in rows.itertuples(index=False):
            cells = [rank_text(row.rank, tied, lang), str(row.name), f"{int(row.total):,}"] + [
                fmt.percent(None if pd.isna(getattr(row, c)) else getattr(row, c)) for c in RANKING_RATES
            ]
            body += f'<tr class="{kind}">' + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
    st.html(
        f'{WALL_LEAGUE_CSS}<table class="yp-league"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


WALL_LEAGUE_CSS = """
<style>
  .yp-league { width: 100%; border-collapse: collapse; font-size: 0.95rem; color: #e2ecf7; }
  .yp-league th { color: #8aa4c2; font-weight: 500; font-size: 0.8rem; line-height: 1.15; text-align: right;
      padding: 0 6px 4px 6px; border-bottom: 1px solid #1f3a5c; vertical-align: bottom; }
  .yp-league td { padding: 1px 6px; text-align: right; white-space: nowrap; border-bottom: 1px solid #142a47; }
  .yp-league th:nth-child(2), .yp-league td:nth-child(2) { text-align: left; }
  .yp-league th:first-child, .yp-league td:first-child { text-align: left; }
  .yp-league tr.yp-group td { text-align: left; font-size: 0.8rem; font-weight: 600; padding: 3px 6px 1px 6px;
      border-bottom: none; }
  .yp-league tr.yp-group.yp-top td { color: #34d399; }
  .yp-league tr.yp-group.yp-bottom td { color: #f87171; border-top: 2px dashed #1f3a5c; }
  .yp-league tr.yp-top:not(.yp-group) td:first-child { box-shadow: inset 3px 0 0 #34d399; }
  .yp-league tr.yp-bottom:not(.yp-group) td:first-child { box-shadow: inset 3px 0 0 #f87171; }
</style>
"""


# ---------------------------------------------------------------------------- the wall's own drawings
# The wall is scaled to its screen with CSS zoom (frame.KIOSK_CSS). What Streamlit sizes by script (plotly
# charts, the canvas of st.dataframe) is measured on the scaled screen and drawn twice too large or, made
# unzoomed, at 1080p type on a 4K wall; what the wall shows is therefore plain HTML and SVG, which the zoom
# scales whole and sharp, as the league table above.


def trend_wall(trend: pd.DataFrame, lang: str, height: int) -> None:
    """Events per month as bars with their counts, the resolution rate as a line over them (0 at the
    bottom, 100 % at the top), in `height` px of the 1080 px design: the wall's trend."""
    if trend.empty:
        st.info(t("no_events", lang))
        return
    months = list(pd.to_datetime(trend["month"]))
    totals = [int(v) for v in trend["total"]]
    rates = [None if pd.isna(v) else float(v) for v in trend["resolution_rate"]]
    top = max(max(totals), 1) * 1.2  # room for the counts above the tallest bar
    columns = "".join(
        f'<div class="yp-trend-col"><span>{total:,}</span>'
        f'<i style="height:{total / top * 100:.1f}%"></i></div>'
        for total in totals
    )
    labels = "".join(
        f"<span>{html.escape(m.strftime('%Y-%m') if n == 0 or m.month == 1 else m.strftime('%m'))}</span>"
        for n, m in enumerate(months)
    )
    # the line as a band 3 px thick clipped from a box over the plot (st.html keeps no SVG), a dot a month
    points = [
        (100 * (n + 0.5) / len(rates), 100 - rate * 100) for n, rate in enumerate(rates) if rate is not None
    ]
    band = [f"{x:.2f}% calc({y:.2f}% - 1.5px)" for x, y in points] + [
        f"{x:.2f}% calc({y:.2f}% + 1.5px)" for x, y in reversed(points)
    ]
    line = (
        f'<b class="yp-trend-line" style="clip-path: polygon({", ".join(band)})"></b>'
        if len(points) > 1
        else ""
    )
    dots = "".join(f'<b class="yp-trend-dot" style="left:{x:.2f}%;top:{y:.2f}%"></b>' for x, y in points)
    last = next((rate for rate in reversed(rates) if rate is not None), None)
    rate_text = f" {fmt.percent(last)}" if last is not None else ""
    st.html(
        f'{WALL_TREND_CSS}<div class="yp-trend" style="height:{height}px">'
        f'<div class="yp-trend-keys"><span class="yp-key-bar"></span>{html.escape(t("metric_events", lang))}'
        f'<span class="yp-key-line"></span>{html.escape(kpi_label("resolution_rate", lang))}{rate_text}</div>'
        f'<div class="yp-trend-plot">{columns}{line}{dots}</div>'
        f'<div class="yp-trend-months">{labels}</div></div>'
    )


# Shares of the width of the overview's event sheet, column by column: new, reported, place, category,
# status, age, overdue, description.
SHEET_WALL_WIDTHS = (5, 15, 19, 13, 10, 7, 10, 21)


def sheet_wall(
    sheet: pd.DataFrame,
    height: int,
    overdue_column: str | None = None,
    widths: tuple[int, ...] = SHEET_WALL_WIDTHS,
) -> None:
    """The event sheet as the wall shows it: a plain table of the rows that fit `height` px of the 1080 px
    design, columns `widths` percent wide, a longer name on two lines, the description on one cut with an
    ellipsis; rows with a text in `overdue_column` marked red."""
    columns = list(sheet.columns)
    late_at = columns.index(overdue_column) if overdue_column in columns else None
    shares = "".join(f'<col style="width:{share}%">' for share in widths[: len(columns)])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = ""
    for row in sheet.itertuples(index=False):
        late = late_at is not None and bool(row[late_at])
        cells = "".join(f"<td>{html.escape(str(value))}</td>" for value in row)
        body += f'<tr class="{"yp-late" if late else ""}">{cells}</tr>'
    st.html(
        f'{WALL_SHEET_CSS}<div class="yp-sheet" style="height:{height}px">'
        f"<table><colgroup>{shares}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


WALL_TREND_CSS = """
<style>
  .yp-trend { display: flex; flex-direction: column; color: #8aa4c2; font-size: 0.8rem; }
  .yp-trend-keys { display: flex; align-items: center; gap: 6px; justify-content: flex-end; padding-bottom: 2px; }
  .yp-key-bar { width: 10px; height: 10px; background: #3b82f6; display: inline-block; margin-left: 10px; }
  .yp-key-line { width: 18px; height: 3px; background: #34d399; display: inline-block; margin-left: 10px; }
  .yp-trend-plot { position: relative; flex: 1 1 auto; display: flex; align-items: flex-end; gap: 4px;
      border-bottom: 1px solid #1f3a5c; }
  .yp-trend-col { flex: 1 1 0; height: 100%; display: flex; flex-direction: column; justify-content: flex-end;
      align-items: center; }
  .yp-trend-col span { color: #e2ecf7; font-size: 0.75rem; line-height: 1.2; }
  .yp-trend-col i { display: block; width: 100%; background: #3b82f6; border-radius: 2px 2px 0 0; }
  .yp-trend-line { position: absolute; inset: 0; background: #34d399; }
  .yp-trend-dot { position: absolute; width: 7px; height: 7px; margin: -3.5px 0 0 -3.5px; border-radius: 50%;
      background: #34d399; }
  .yp-trend-months { display: flex; gap: 4px; padding-top: 2px; }
  .yp-trend-months span { flex: 1 1 0; text-align: center; white-space: nowrap; font-size: 0.72rem; }
</style>
"""

WALL_SHEET_CSS = """
<style>
  .yp-sheet { overflow: hidden; border: 1px solid #1f3a5c; border-radius: 6px; }
  .yp-sheet table { width: 100%; border-collapse: collapse; font-size: 0.85rem; color: #e2ecf7;
      table-layout: fixed; }
  .yp-sheet th { color: #8aa4c2; font-weight: 500; text-align: left; padding: 6px 5px; background: #0f1f36;
      border-bottom: 1px solid #1f3a5c; vertical-align: bottom; line-height: 1.2; }
  .yp-sheet td { padding: 5px 5px; border-bottom: 1px solid #142a47; line-height: 1.25; overflow: hidden; }
  .yp-sheet td:nth-child(2) { white-space: nowrap; }
  .yp-sheet td:last-child { white-space: nowrap; text-overflow: ellipsis; }
  .yp-sheet tr.yp-late td { color: #fca5a5; }
  .yp-sheet td:first-child { color: #fbbf24; font-weight: 600; }
</style>
"""


# ------------------------------------------------------------------------ 物联感知 (the IoT strip)

IOT_STRIP_PX = 204  # the height of the strip's figures and list, under its heading
# What the strip takes from the event sheet beside it: its heading, the gaps between, and the list.
IOT_STRIP_TOTAL_PX = IOT_STRIP_PX + 76
IOT_STRIP_ALARMS = 5  # the newest open alarms it lists
# The strip's figures: (key, kind) of the iot block; alarms_today is the block of the period's last day.
IOT_STRIP_FIGURES = (
    ("alarms_today", "count"),
    ("alarms", "count"),
    ("open_alarms", "count"),
    ("handled_rate", "rate"),
)


ALARM_POINTS_KEY = "overview_alarm_points"  # the strip's switch, read by the map drawn before it


def alarm_points_shown() -> bool:
    """Whether the overview's map shows alarm points: on until the strip's switch turns them off."""
    return bool(st.session_state.get(ALARM_POINTS_KEY, True))


def alarm_age(minutes: float, lang: str) -> str:
    """How long an alarm has waited: minutes below an hour, then as `duration`."""
    if minutes < 60:
        return f"{minutes:.0f}{t('minutes', lang)}"
    return duration(minutes / 60, lang)


def alarm_tips(points: pd.DataFrame, lang: str) -> pd.Series:
    """The tooltip of each alarm point: the device's type, its alarms and those still open."""
    named = points.assign(name=[enum_label(code, lang) for code in points["device_type"]])
    lines = [
        (kpi_label("alarms", lang), "alarms", "count"),
        (kpi_label("open_alarms", lang), "open_alarms", "count"),
    ]
    return charts.map_tips(named, lines, lang)


def device_tips(devices: pd.DataFrame, lang: str) -> pd.Series:
    """The tooltip of each device on the map: its id, type and status, and its place."""
    return pd.Series(
        [
            f"{device}\n{enum_label(kind, lang)} · {enum_label(status, lang)}\n{place}"
            for device, kind, status, place in zip(
                devices["device_id"], devices["device_type"], devices["status"], devices["place"], strict=True
            )
        ],
        index=devices.index,
        dtype=str,
    )


def legend(colors: dict[str, tuple[int, int, int]], shown: set, lang: str) -> None:
    """A map's legend: a dot of each colour and its code's label, for the codes on the map."""
    items = "".join(
        f'<span><i style="background:rgb{rgb}"></i>{html.escape(enum_label(code, lang))}</span>'
        for code, rgb in colors.items()
        if code in shown
    )
    st.html(f'{LEGEND_CSS}<div class="yp-legend">{items}</div>')


LEGEND_CSS = """
<style>
  .yp-legend { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 0.85rem; color: #8aa4c2; }
  .yp-legend i { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 5px; }
</style>
"""


def iot_figures(current: dict, today: dict, lang: str) -> list[tuple[str, str, str]]:
    """(key, label, value) of the strip's figures, from the KPI object of the period and of its last day."""
    values = {**current["iot"], "alarms_today": today["iot"]["alarms"]}
    return [
        (
            key,
            t(key, lang) if key == "alarms_today" else kpi_label(key, lang),
            format_value(kind, values[key], lang),
        )
        for key, kind in IOT_STRIP_FIGURES
    ]


def iot_strip(filters: Filters, code: str, current: dict) -> None:
    """The overview's IoT strip: its heading with the map's alarm points switch (ALARM_POINTS_KEY), then
    alarms of the period's last day and of the period, open alarms, the handling rate, and the newest
    open alarms with their age, IOT_STRIP_PX high."""
    lang, principal = filters.lang, filters.principal
    with st.container(horizontal=True, vertical_alignment="center", key="iot_strip_head"):
        st.markdown(f"**{t('iot_page', lang)}**")
        st.toggle(
            t("alarm_points", lang), value=True, key=ALARM_POINTS_KEY, help=t("alarm_points_help", lang)
        )
    today = ask(principal, "kpis", filters.db, code, filters.end, filters.end, year=filters.year)
    waiting = ask(
        principal, "open_alarms", filters.db, code, filters.start, filters.end, limit=IOT_STRIP_ALARMS
    )
    help_today = t("alarms_today_help", lang).format(day=filters.end.isoformat())
    tiles = "".join(
        f'<div class="yp-iot-figure" data-key="{key}"'
        + (f' title="{html.escape(help_today)}"' if key == "alarms_today" else "")
        + f'><div class="yp-iot-label">{html.escape(label)}</div>'
        f'<div class="yp-iot-value">{html.escape(value)}</div></div>'
        for key, label, value in iot_figures(current, today, lang)
    )
    if waiting.empty:
        listing = f'<div class="yp-iot-none">{html.escape(t("no_open_alarms", lang))}</div>'
    else:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(cell))}</td>"
                for cell in (
                    row.raised_at.strftime("%m-%d %H:%M"),
                    row.place,
                    enum_label(row.device_type, lang),
                    alarm_age(row.age_minutes, lang),
                )
            )
            + "</tr>"
            for row in waiting.itertuples()
        )
        heads = "".join(
            f"<th>{html.escape(h)}</th>"
            for h in (t("raised_at", lang), t("place", lang), t("device_type", lang), t("age", lang))
        )
        total = t("open_alarms_total", lang).format(n=f"{int(waiting['total'].iloc[0]):,}")
        listing = (
            f'<div class="yp-iot-caption">{html.escape(t("newest_open_alarms", lang))} · {html.escape(total)}</div>'
            f'<table class="yp-iot-alarms"><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>'
        )
    st.html(
        f'{IOT_STRIP_CSS}<div class="yp-iot" style="height:{IOT_STRIP_PX}px">'
        f'<div class="yp-iot-figures">{tiles}</div>{listing}</div>'
    )


IOT_STRIP_CSS = """
<style>
  .yp-iot { overflow: hidden; color: #e2ecf7; }
  .yp-iot-figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; margin-bottom: 6px; }
  .yp-iot-figure { background: rgba(34, 211, 238, 0.07); border-radius: 4px; padding: 4px 8px; min-width: 0; }
  .yp-iot-label { color: #8aa4c2; font-size: 0.8rem; line-height: 1.2; white-space: nowrap; overflow: hidden;
      text-overflow: ellipsis; }
  .yp-iot-value { font-size: 1.4rem; font-weight: 600; line-height: 1.2; white-space: nowrap; }
  .yp-iot-caption { color: #8aa4c2; font-size: 0.8rem; margin-bottom: 2px; }
  .yp-iot-none { color: #8aa4c2; font-size: 0.9rem; }
  .yp-iot-alarms { width: 100%; border-collapse: collapse; font-size: 0.82rem; line-height: 1.35;
      table-layout: fixed; }
  .yp-iot-alarms th { color: #8aa4c2; font-weight: 500; font-size: 0.75rem; text-align: left; padding: 0 4px 2px 4px;
      border-bottom: 1px solid #1f3a5c; }
  .yp-iot-alarms td { padding: 1px 4px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
      border-bottom: 1px solid #142a47; }
  .yp-iot-alarms th:nth-child(1), .yp-iot-alarms td:nth-child(1) { width: 24%; }
  .yp-iot-alarms th:nth-child(2), .yp-iot-alarms td:nth-child(2) { width: 38%; }
  .yp-iot-alarms th:nth-child(4), .yp-iot-alarms td:nth-child(4) { width: 14%; text-align: right; }
</style>
"""
