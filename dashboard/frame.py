"""The frame around every page: style, the database check, the title bar, live refresh, rotation."""

from __future__ import annotations

import datetime as dt
import html
import numbers
import os
import tempfile
import threading
from pathlib import Path

import streamlit as st

from dashboard.data import DEFAULT_DB, ask, database_path
from dashboard.filters import Filters, drill_to, shared_filters
from dashboard.labels import enum_label, place_name, t
from dashboard.queries import QueryError, pin, publication, read_publication
from dashboard.text import literal

DEMO_SCALE = 0.02
# How often the page looks for a new publish and refreshes its live parts (YIPING_REFRESH_SECONDS).
REFRESH_SECONDS = max(1, int(os.environ.get("YIPING_REFRESH_SECONDS", "10")))
# How long an event reported or changed by a new publish stays marked 新 on the event sheet.
NEW_FOR = dt.timedelta(minutes=10)
_build_lock = threading.Lock()

BASE_CSS = """
<style>
  /* The page's timers (app.py): a container that draws nothing and takes no room. */
  .st-key-yp-timers, [data-testid="stLayoutWrapper"]:has(> .st-key-yp-timers) {
      display: none !important; }
  [data-testid="stMetric"] { background: #0f1f36; border: 1px solid #1f3a5c; border-radius: 6px;
      padding: 8px 12px; }
  [data-testid="stMetricLabel"] p { color: #8aa4c2; font-size: 0.95rem; }
  [data-testid="stMetricValue"] { font-size: 1.9rem; font-weight: 600; color: #e2ecf7; }
  .yp-bar { display: flex; align-items: baseline; gap: 18px; padding: 2px 0 6px 0;
      border-bottom: 1px solid #1f3a5c; margin-bottom: 8px; }
  .yp-title { font-size: 1.75rem; font-weight: 700; color: #e2ecf7; letter-spacing: 0.04em; }
  .yp-sub { color: #8aa4c2; font-size: 1.05rem; }
  .yp-badge { background: #b45309; color: #fff7ed; border-radius: 4px; padding: 2px 10px; font-weight: 600; }
  .yp-right { margin-left: auto; color: #8aa4c2; font-size: 0.95rem; }
  .yp-crumbs { color: #8aa4c2; font-size: 0.95rem; }
  h3 { font-size: 1.15rem !important; padding: 0.2rem 0 0.3rem 0 !important; }
  /* A label wraps between words, never inside one (Chinese still wraps between characters), and is never
     cut short: the English names run longer than the Chinese, and take a second line instead. */
  [data-testid="stMetricLabel"], [data-testid="stMetricLabel"] div, [data-testid="stMetricLabel"] p {
      white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
      height: auto !important; }
  [data-testid="stMetricLabel"] p, [data-testid="stWidgetLabel"] p, [data-testid="stSidebarNav"] span,
  [data-testid="stHeading"] *, [data-testid="stButtonGroup"] p, .yp-bar, .yp-crumbs {
      word-break: normal !important; overflow-wrap: normal !important; hyphens: manual !important; }
  /* The cards of a row as tall as the tallest, whose label took more lines: their values side by side. */
  [data-testid="stColumn"]:has(> [data-testid="stVerticalBlock"] > [data-testid="stElementContainer"]
      > [data-testid="stMetric"]) > [data-testid="stVerticalBlock"] { height: 100%; }
  [data-testid="stElementContainer"]:has(> [data-testid="stMetric"]) { flex: 1 1 auto; }
  [data-testid="stMetric"] { height: 100%; box-sizing: border-box; display: flex; flex-direction: column; }
  [data-testid="stMetric"] > div { flex: 1 1 auto; display: flex; flex-direction: column; }
  [data-testid="stMetricLabel"] { flex: 1 0 auto; align-items: flex-start; }
  /* The help mark sits in the card's corner, not in a column of its own beside the label: the label keeps
     the card's width for its longest word ("Satisfaction" in eight cards at 1440 px). */
  [data-testid="stMetric"] { position: relative; }
  [data-testid="stMetricLabel"]:has([data-testid="stTooltipIcon"]) { display: block !important;
      padding-right: 10px; }
  [data-testid="stMetricLabel"] > :has([data-testid="stTooltipIcon"]) { position: absolute; top: 10px;
      right: 6px; }
</style>
"""

KIOSK_CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  footer { display: none !important; }
  .block-container, [data-testid="stMainBlockContainer"] { padding: 0.6rem 1.2rem 0 1.2rem !important;
      max-width: 100% !important; }
  [data-testid="stMetricValue"] { font-size: 2.2rem; }
  [data-testid="stMetricLabel"] p { font-size: 1.05rem; }
</style>
"""

# The overview on the wall (kiosk mode).
WALL_CSS = """
<style>
  /* The wall is laid out for a screen 1080 px high and scaled to the one it is shown on, as 大屏 tools do:
     type, marks, tables and the map (drawn at the screen's own pixels) grow with the screen and read from
     the back of the room, and the width a wider wall adds goes to the columns. Never narrower than 1440 px
     of layout, where the page holds. */
  html { --yp-wall-zoom: min(calc(100vh / 1080px), calc(100vw / 1440px)); zoom: var(--yp-wall-zoom); }
  /* A wall three times as wide as high (three screens side by side, an LED wall) sets the twelve KPI cards
     (panels.show_cards) in one row instead of two, and is designed as high as the page then is. */
  @media (min-aspect-ratio: 3/1) {
    html { --yp-wall-zoom: calc(100vh / 940px); }
    .st-key-kpi_cards { flex-direction: row; }
    .st-key-kpi_cards > [data-testid="stLayoutWrapper"] { flex: 1 1 0; min-width: 0; }
  }
  /* Streamlit sizes plotly charts and st.dataframe by their box on screen, which the zoom has already
     scaled, and draws them twice too large: the wall shows none, its parts are HTML (panels.trend_wall,
     sheet_wall, league_wall) and the deck.gl map, which draws at the screen's pixels. */
</style>
"""


def style(kiosk: bool) -> None:
    st.html(BASE_CSS + (KIOSK_CSS if kiosk else ""))


def wall_scale() -> None:
    """Scale the page to the wall it is shown on (WALL_CSS): the overview in kiosk mode."""
    st.html(WALL_CSS)


def ensure_database(lang: str) -> Path | None:
    """The database to read; builds the demo (with progress on the page) when the default is missing."""
    db = database_path()
    if db.exists():
        return db
    if db.resolve() != DEFAULT_DB.resolve():
        st.error(literal(f"{t('no_database', lang)} {db}"))
        st.info(literal("python -m pipelines build --input <folder> --db " + str(db)))
        return None
    with _build_lock:
        if not db.exists():
            _build_demo(db, lang)
    return db


def _build_demo(db: Path, lang: str) -> None:
    from pipelines.build import build
    from pipelines.demo import generate

    bar = st.progress(0.0, text=t("building_demo", lang))

    def show(stage: float, span: float):
        def report(message: str, fraction: float) -> None:
            bar.progress(min(1.0, stage + span * fraction), text=f"{t('building_demo', lang)} {message}")

        return report

    with tempfile.TemporaryDirectory(prefix="yiping-demo-") as folder:
        generate(Path(folder), scale=DEMO_SCALE, progress=show(0.0, 0.5))
        build(Path(folder), db, progress=show(0.5, 0.5))
    bar.empty()


def filters_or_stop(db: Path) -> Filters:
    """The shared filters; a database that cannot be read stops the page with a clear message."""
    try:
        return shared_filters(db)
    except QueryError as exc:
        st.error(literal(f"{t('data_error', 'zh')}{exc}"))
        st.caption(literal(t("data_error", "en") + str(exc)))
        st.stop()
        raise


def pin_publication(db: Path) -> None:
    """The whole run reads the publish that is current as it starts: a publish landing while the page is
    drawn shows in the next run (which the watcher starts), never in half of this one."""
    try:
        st.session_state["_publication"] = pin(db)
    except QueryError:
        pass  # a file that cannot be read: the page's first question says so


def watch_publication(db: Path) -> None:
    """Rerun the page when a publish other than the one it shows appears, without a reload."""
    st.session_state.setdefault("_publication", read_publication(db))

    # The fragment draws nothing: its reruns never touch what the page's full runs draw.
    @st.fragment(run_every=REFRESH_SECONDS)
    def _watch() -> None:
        now = publication(db)
        if now != st.session_state["_publication"]:
            st.session_state["_publication"] = now
            st.rerun(scope="app")
        lapse = st.session_state.get("_marks_lapse_at")
        if lapse is not None and dt.datetime.now() >= lapse:
            st.session_state["_marks_lapse_at"] = None  # the full run sets the next one
            st.rerun(scope="app")

    _watch()


def fresh_events(db: Path, view: object, rows: dict[str, tuple], now: dt.datetime | None = None) -> set[str]:
    """The ids among `rows` (event id -> what the sheet shows of it) that are new or changed since the
    previous publish this session saw of the same `view` (a region), for NEW_FOR after the publish was seen.

    Only the sheet's rows are compared: an older event that moves onto the sheet when a publish takes
    another off it is marked too.

    The first look at a view marks nothing: there is nothing to compare with yet.
    """
    now = now or dt.datetime.now()
    seen = st.session_state.setdefault("_fresh_events", {})
    published = read_publication(db)
    before = seen.get(view)
    marked = dict(before["marked"]) if before else {}
    if before is not None and before["publication"] != published:
        for event_id, shown in rows.items():
            if before["rows"].get(event_id) != shown:
                marked[event_id] = now
    marked = {event_id: at for event_id, at in marked.items() if now - at < NEW_FOR}
    if before is None or before["publication"] != published:
        seen[view] = {"publication": published, "rows": rows, "marked": marked}
    else:
        seen[view] = {**before, "rows": {**before["rows"], **rows}, "marked": marked}
    shown = set(marked) & set(rows)
    # when the first mark shown lapses, the publication's watcher reruns the page
    st.session_state["_marks_lapse_at"] = min(marked[e] for e in shown) + NEW_FOR if shown else None
    return shown


def shown_region(filters: Filters) -> str:
    """The region on screen: the filter's, or in rotation the child whose turn it is (children of a region
    in scope are in scope)."""
    if not filters.rotate or not filters.region_ok:
        return filters.region
    kids = ask(filters.principal, "children", filters.db, filters.region)
    if kids.empty:
        return filters.region
    index = st.session_state.get("_rotation", 0) % len(kids)
    return str(kids["code"].iloc[index])


def rotation(filters: Filters) -> None:
    """Step to the next child every `rotate` seconds."""
    if not filters.rotate:
        return

    import time

    st.session_state.setdefault("_rotation_at", time.monotonic())

    @st.fragment(run_every=filters.rotate)
    def _step() -> None:
        # The fragment also runs with the page; only a full interval moves the rotation on.
        if time.monotonic() - st.session_state["_rotation_at"] >= filters.rotate - 0.5:
            st.session_state["_rotation"] = st.session_state.get("_rotation", 0) + 1
            st.session_state["_rotation_at"] = time.monotonic()
            st.rerun(scope="app")

    _step()


def stop_unless_shown(filters: Filters, page_title: str, code: str) -> None:
    """A region that does not exist, or lies outside the principal's scope, stops the page with its
    message (无权查看 for the latter) before any figure of it is drawn."""
    if filters.region_ok:
        return
    title_bar(filters, page_title, code)
    st.error(literal(f"{t(filters.region_problem or 'unknown_region', filters.lang)}{code}"))
    st.stop()


def title_bar(filters: Filters, page_title: str, region_name: str, crumbs: str = "") -> None:
    """Page title, region, period, the demo label and the time of publication. User text is escaped."""
    info = ask(filters.principal, "build_info", filters.db)
    lang = filters.lang
    published = info.get("published_at")
    published_text = published.strftime("%Y-%m-%d %H:%M") if isinstance(published, dt.datetime) else "—"
    badge = (
        f'<span class="yp-badge">{html.escape(t("demo_data", lang))}</span>' if info.get("is_demo") else ""
    )
    rotating = f" · {html.escape(t('rotating', lang))}" if filters.rotate else ""
    load_number = info.get("load_number")
    load_number = int(load_number) if isinstance(load_number, numbers.Integral) else 0
    st.html(
        f'<div class="yp-bar"><span class="yp-title">{html.escape(page_title)} · '
        f"{html.escape(place_name(region_name, lang))}</span>"
        f'<span class="yp-sub">{html.escape(filters.period_text())}{rotating}</span>{badge}'
        # data-load: the publish the page shows, for whoever must know it is current (the live benchmark)
        f'<span class="yp-right" data-load="{load_number}">'
        f"{html.escape(t('published_at', lang))} {html.escape(published_text)}</span></div>"
        + (f'<div class="yp-crumbs">{html.escape(crumbs)}</div>' if crumbs else "")
    )


def breadcrumb(filters: Filters, code: str) -> None:
    """Buttons from the principal's scope down to the region (none above the scope), each with its level as
    a tooltip; clicking one climbs back up."""
    path = ask(filters.principal, "ancestors", filters.db, code)
    if len(path) <= 1:
        return
    columns = st.columns(len(path) + 4, gap="small")
    for column, row in zip(columns, path.itertuples(), strict=False):
        is_current = row.code == code
        if column.button(
            literal(place_name(row.name, filters.lang)),
            key=f"crumb_{row.code}",
            help=enum_label(row.level, filters.lang),
            disabled=is_current,
            type="tertiary",
        ):
            drill_to(row.code)
            st.rerun()
