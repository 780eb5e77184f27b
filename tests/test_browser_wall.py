"""The wall screen at the sizes command centres run: it fills each screen, with nothing to scroll and type
that grows with the screen, and asks nothing of the internet."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.test_browser_overview import SCRIPT_IDLE, wait_for_cards

pytestmark = pytest.mark.browser

# 1080p, 4K, three 1080p screens side by side, an LED wall of 7680 × 2160
WALL_SIZES = [(1920, 1080), (3840, 2160), (5760, 1080), (7680, 2160)]
# The wall is designed 1080 px high (less where a wide wall sets its cards in one row): a KPI value is
# this share of the screen's height or a little more on every wall.
VALUE_SHARE = 50 / 1080

MEASURE = """() => {
  const root = document.documentElement, main = document.querySelector('[data-testid="stMain"]');
  let bottom = 0, right = 0;
  for (const e of main.querySelectorAll('[data-testid="stElementContainer"]')) {
    const box = e.getBoundingClientRect();
    if (box.width && box.height) { bottom = Math.max(bottom, box.bottom); right = Math.max(right, box.right); }
  }
  const value = document.querySelector('[data-testid="stMetricValue"]').getBoundingClientRect();
  const tops = [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => Math.round(m.getBoundingClientRect().top));
  const canvas = document.querySelector('[data-testid="stDeckGlJsonChart"] canvas');
  return {
    scroll: [root, main].map(e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]),
    width: innerWidth, height: innerHeight, bottom, right, value: value.height, card_rows: new Set(tops).size,
    canvas: [canvas.width, canvas.getBoundingClientRect().width],
  };
}"""


@pytest.fixture(scope="module")
def wall_url(demo_db, streamlit_server) -> str:
    """One server for every wall size."""
    return streamlit_server(demo_db)


@pytest.mark.parametrize(("width", "height"), WALL_SIZES, ids=[f"{w}x{h}" for w, h in WALL_SIZES])
def test_the_wall_fills_the_screen(wall_url, browser, record_requests, artifacts_dir, width, height):
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    try:
        page = context.new_page()
        requests = record_requests(page)
        page.goto(f"{wall_url}/?kiosk=1&region=500153")
        wait_for_cards(page)
        page.wait_for_function(SCRIPT_IDLE, timeout=60_000)
        expect(page.locator(".yp-trend")).to_be_visible(timeout=30_000)
        expect(page.locator(".yp-sheet")).to_be_visible(timeout=30_000)
        page.wait_for_function(
            "() => { const c = document.querySelector('[data-testid=\"stDeckGlJsonChart\"] canvas');"
            " return c && c.width > 300; }",
            timeout=60_000,
        )
        page.screenshot(path=str(artifacts_dir / f"overview_wall_{width}x{height}.png"))
        shown = page.evaluate(MEASURE)

        assert (shown["width"], shown["height"]) == (width, height)
        for scroll_width, client_width, scroll_height, client_height in shown["scroll"]:
            assert scroll_width <= client_width + 1 and scroll_height <= client_height + 1, shown
        # no band left empty: the last row ends near the bottom, the right column near the right edge
        assert shown["bottom"] >= 0.95 * height, shown
        assert shown["right"] >= 0.97 * width, shown
        # type grows with the screen; a wall three times as wide as high has its cards in one row
        assert VALUE_SHARE * height * 0.9 <= shown["value"] <= VALUE_SHARE * height * 1.3, shown
        assert shown["card_rows"] == (1 if width >= 3 * height else 2), shown
        # the map is drawn at the screen's own pixels, not stretched
        assert shown["canvas"][0] >= 0.95 * shown["canvas"][1], shown
        requests.assert_local(wall_url)
    finally:
        context.close()
