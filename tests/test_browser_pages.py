"""The analyst pages in a real browser: they load cleanly and offline, and a click drills into a region."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from playwright.sync_api import expect

from dashboard import maps, queries
from dashboard.cards import build_cards
from dashboard.labels import t

pytestmark = pytest.mark.browser

PAGES = ("population", "housing", "events", "economy")
CARD_COUNT = {"population": 10, "housing": 4, "events": 8, "economy": 5}
WITH_MAP = {"population", "housing", "events"}
# Opened at /<page>, Streamlit's front end first probes /<page>/_stcore/… for a base path, then uses /.
BASE_PATH_PROBE = re.compile(r"/(overview|population|housing|events|economy)/_stcore/(health|host-config)$")
RUNNING = '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]'


class Console:
    """Console errors and failed responses of a page, without Streamlit's base-path probes."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message) -> None:
        url = (message.location or {}).get("url", "")
        if message.type == "error" and not BASE_PATH_PROBE.search(url):
            self.errors.append(f"{message.text} ({url})")

    def _response(self, response) -> None:
        if response.status >= 400 and not BASE_PATH_PROBE.search(response.url):
            self.errors.append(f"HTTP {response.status} {response.url}")


def settle(page, cards: int) -> None:
    """Until the page's cards are on screen and Streamlit has stopped running the script."""
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"stMetric\"]').length >= {cards}", timeout=30_000
    )
    page.wait_for_function(f"!document.querySelector('{RUNNING}')", timeout=30_000)


def card_values(page) -> dict[str, str]:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values, strict=True)}


def wait_for_cards(page, expected: dict[str, str], timeout_s: float = 30) -> dict[str, str]:
    """Until the cards show the expected values (a rerun replaces them one by one); the cards shown."""
    deadline = time.monotonic() + timeout_s
    while True:
        shown = card_values(page)
        if shown.items() >= expected.items():
            return shown
        assert time.monotonic() < deadline, f"cards {shown} never showed {expected}"
        page.wait_for_timeout(200)


def expected_cards(db, code: str, spec) -> dict[str, str]:
    period = queries.default_period(db)
    current, previous = queries.kpis_with_previous(db, code, period.start, period.end)
    return {card.label: card.value for card in build_cards(current, previous, "zh", spec)}


POPULATION_CARDS = (
    ("population", "residents", "count", 0),
    ("population", "households", "count", 0),
    ("population", "elderly_share", "rate", 0),
    ("population", "floating_share", "rate", 0),
)
EVENT_CARDS = (("events", "total", "count", 0), ("events", "resolved", "count", 0))
# The first cards of each page: enough to see that a page shows the new period.
SPEC_HEAD = {
    "population": POPULATION_CARDS[2:3],
    "housing": (("housing", "units", "count", 0),),
    "events": EVENT_CARDS,
    "economy": (("collective_economy", "operating_income", "money", 1),),
}


def full_screenshot(page, path) -> None:
    """The whole page: the viewport is grown to the height of the scrolling main block."""
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1920, "height": height + 40})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1920, "height": 1080})


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly_and_offline(
    name, demo_db, streamlit_server, page, record_requests, artifacts_dir
):
    base = streamlit_server(demo_db)
    requests = record_requests(page)
    console = Console(page)
    page.goto(f"{base}/{name}?region=500153")
    settle(page, CARD_COUNT[name])
    page.wait_for_timeout(2500)  # let the charts and the map draw
    page.screenshot(path=str(artifacts_dir / f"page_{name}_1920x1080.png"))
    full_screenshot(page, artifacts_dir / f"page_{name}_full.png")

    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".yp-title").first.inner_text().endswith("荣昌区")
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 3
    if name in WITH_MAP:
        assert page.locator('[data-testid="stDeckGlJsonChart"] canvas').count() >= 1
    assert page.get_by_text(t("data_table")).count() >= 3
    assert_a_download_menu_per_chart(page, name)
    assert not console.errors, console.errors
    requests.assert_local(base)


def test_a_click_on_a_chart_drills_into_the_region(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/population?region=500153")
    settle(page, CARD_COUNT["population"])
    before = card_values(page)
    assert before.items() >= expected_cards(demo_db, "500153", POPULATION_CARDS).items()

    # The elderly and floating shares by township: the first dot belongs to the first township.
    shares = (
        page.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".scatterlayer .point")).first
    )
    shares.scroll_into_view_if_needed()
    first_township = str(queries.children(demo_db, "500153")["code"].iloc[0])
    shares.locator(".scatterlayer .point").first.click(force=True)
    page.wait_for_url(re.compile(rf"region={first_township}\b"), timeout=30_000)
    settle(page, CARD_COUNT["population"])
    page.wait_for_function(
        "name => document.querySelector('.yp-title')?.innerText.endsWith(name)",
        arg=queries.region(demo_db, first_township)["name"],
        timeout=30_000,
    )
    after = wait_for_cards(page, expected_cards(demo_db, first_township, POPULATION_CARDS))
    assert after != before
    page.screenshot(path=str(artifacts_dir / "page_population_drilled.png"))

    # The breadcrumb climbs back up.
    page.locator('[data-testid="stMain"]').get_by_role("button", name="荣昌区", exact=True).click()
    page.wait_for_url(re.compile(r"region=500153&"), timeout=30_000)
    settle(page, CARD_COUNT["population"])
    page.wait_for_function(
        "() => document.querySelector('.yp-title')?.innerText.endsWith('荣昌区')", timeout=30_000
    )
    assert wait_for_cards(page, before) == before


def label_offset(db, code: str, index: int, width: int, height: int) -> tuple[str, float, float]:
    """A child's code and where its label sits on the map drawn `width` × `height` (as the page asks
    region_map for it: placed so that no two overlap), in pixels from the map's centre."""
    deck = maps.region_map(
        pd.DataFrame(), "events", queries.child_positions(db, code), height=height, width=width
    )
    labels = pd.DataFrame(next(layer for layer in deck.layers if layer.id == "labels").data)
    child = labels.iloc[min(index, len(labels) - 1)]
    x, y = maps.to_pixels([child.lon], [child.lat], deck.initial_view_state, width, height)
    return str(child.code), float(x[0] - width / 2), float(y[0] - height / 2)


def hover_until_picked(page, x: float, y: float, name: str) -> None:
    """Point at (x, y) until the map answers with the tooltip of `name`: the map is drawn and picks there."""
    tooltip = page.locator(".deck-tooltip")
    for step in range(60):
        page.mouse.move(x + step % 2, y)
        try:
            expect(tooltip).to_contain_text(name, timeout=1_000)
            return
        except AssertionError:
            continue
    expect(tooltip).to_contain_text(name, timeout=1_000)


def test_a_click_on_the_map_drills_into_the_region(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/events?region=500153")
    settle(page, CARD_COUNT["events"])
    canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(2000)
    box = canvas.bounding_box()
    child, dx, dy = label_offset(demo_db, "500153", 5, width=700, height=520)  # as views/events.py draws it
    x, y = box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy
    hover_until_picked(page, x, y, queries.region(demo_db, child)["name"])
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(r"region=500153\d{3}&"), timeout=30_000)
    child = re.search(r"region=(\d+)", page.url).group(1)
    assert child.startswith("500153") and len(child) == 9
    settle(page, CARD_COUNT["events"])
    page.wait_for_function(
        "name => document.querySelector('.yp-title')?.innerText.endsWith(name)",
        arg=queries.region(demo_db, child)["name"],
        timeout=30_000,
    )
    wait_for_cards(page, expected_cards(demo_db, child, EVENT_CARDS))
    page.screenshot(path=str(artifacts_dir / "page_events_map_drilled.png"))


@pytest.mark.parametrize("name, path", [("events", "events"), ("overview", "")])
def test_a_shared_link_opened_first_after_a_start(name, path, demo_db, streamlit_server, page):
    """The first request a server gets is a shared link: it runs through app.py and its navigation."""
    # Another environment gives a server of its own, so this is its very first request.
    base = streamlit_server(demo_db, env={"YIPING_TEST_SERVER": f"first-{name}"})
    console = Console(page)
    page.goto(f"{base}/{path}?region=500153")
    settle(page, 8)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".yp-title").first.inner_text().endswith("荣昌区")
    assert not console.errors, console.errors


def settle_charts(page) -> None:
    """Until the page has drawn its charts and Streamlit has stopped running the script."""
    page.wait_for_selector('[data-testid="stPlotlyChart"]', state="attached", timeout=120_000)
    page.wait_for_function(f"!document.querySelector('{RUNNING}')", timeout=120_000)


def assert_a_download_menu_per_chart(page, name: str) -> None:
    charts = page.locator('[data-testid="stPlotlyChart"]').count()
    menus = page.locator('[data-testid="stPopover"]').filter(has_text=t("download")).count()
    # the overview's ranking is a table with a chart of its own in the download
    assert charts >= 1 and (menus == charts or name == "overview" and menus == charts + 1), (charts, menus)


@pytest.mark.parametrize("name", ["overview", "report"])
def test_every_chart_has_a_download_menu(name, demo_db, streamlit_server, page):
    """(The other pages are held to it where they are loaded above.)"""
    base = streamlit_server(demo_db)
    page.goto(f"{base}/{'' if name == 'overview' else name}?region=500153")
    settle_charts(page)
    assert_a_download_menu_per_chart(page, name)


def test_the_overview_ranking_chart_is_drawn_for_its_download(demo_db, streamlit_server, page):
    """The page shows the ranking as a table; the chart made for its download names the children."""
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?region=500153")
    settle_charts(page)
    menu = page.locator('[data-testid="stPopover"]').filter(has_text=t("download")).last
    menu.locator("button").click(timeout=120_000)
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name=t("download_svg")).click()
    assert download.value.suggested_filename == f"荣昌区_{t('ranking')}.svg"
    svg = Path(download.value.path()).read_text(encoding="utf-8")
    children = queries.children(demo_db, "500153")
    assert svg.startswith("<svg") or "<svg" in svg[:500]
    assert sum(name in svg for name in children["name"]) >= min(5, len(children))


def test_a_chart_of_the_events_page_downloads_as_a_labelled_workbook(demo_db, streamlit_server, page):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/events?region=500153&from=2024-01-01&to=2024-12-31")
    settle_charts(page)
    page.locator('[data-testid="stPopover"]').first.locator("button").click(timeout=120_000)
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name=t("download_xlsx")).click()
    assert download.value.suggested_filename == f"荣昌区_{t('events_by_month')}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).worksheets[0]
    rows = list(sheet.iter_rows())
    assert rows[0][0].value == f"荣昌区 · {t('events_by_month')}"
    assert rows[1][0].value == "统计时段：2024-01-01 至 2024-12-31（同比 2023-01-01 至 2023-12-31）"
    assert [cell.value for cell in rows[2]] == ["月份", "类别", "来源", "状态", "事件数"]
    month, *_, events = rows[3]
    assert month.is_date and month.number_format == "yyyy-mm"
    assert isinstance(events.value, int) and events.number_format == "#,##0"
