"""物联感知 in a real browser: the wall of the pilot district keeps to one screen with its IoT strip and
alarm points, the 物联感知 page draws in both languages, and nothing is asked of the internet."""

from __future__ import annotations

import pytest
from PIL import Image
from playwright.sync_api import expect
from test_browser_overview import SCRIPT_IDLE, card_values, wait_for_cards
from test_iot_pages import IOT_CARDS

from dashboard import queries
from dashboard.cards import build_cards, format_value
from dashboard.labels import kpi_label, t
from dashboard.maps import OPEN_ALARM_COLOR

pytestmark = pytest.mark.browser

PILOT = "500103"
PAGE_SIZES = """() => [document.documentElement, document.querySelector('[data-testid="stMain"]'),
    document.querySelector('[data-testid="stAppViewContainer"]')]
    .filter(Boolean).map(e => [e.scrollHeight, e.clientHeight])"""


def wait_for_drawing(page, charts: bool = True) -> None:
    """Until the script is done and the map and (with `charts`) a chart are on the page, then a moment to
    paint them. The wall draws no plotly chart: its trend is HTML."""
    page.wait_for_function(SCRIPT_IDLE, timeout=60_000)
    chart = " && document.querySelector('.js-plotly-plot .main-svg')" if charts else ""
    page.wait_for_function(
        "document.querySelector('[data-testid=\"stDeckGlJsonChart\"] canvas')" + chart, timeout=60_000
    )
    page.wait_for_timeout(2500)


def painted(page, path, color: tuple[int, int, int]) -> int:
    """How many pixels of the map canvas are about `color`."""
    page.locator('[data-testid="stDeckGlJsonChart"] canvas').first.screenshot(path=str(path))
    image = Image.open(path).convert("RGB")
    return sum(
        1
        for pixel in image.get_flattened_data()
        if max(abs(a - b) for a, b in zip(pixel, color, strict=True)) < 30
    )


def strip_figures(page) -> dict[str, str]:
    strip = page.locator(".yp-iot")
    keys = strip.locator(".yp-iot-figure").evaluate_all("els => els.map(e => e.dataset.key)")
    values = strip.locator(".yp-iot-value").all_inner_texts()
    return dict(zip(keys, [v.strip() for v in values], strict=True))


def test_the_pilot_wall_fits_with_its_strip(demo_db, streamlit_server, page, record_requests, artifacts_dir):
    base = streamlit_server(demo_db)
    requests = record_requests(page)
    page.goto(f"{base}/?kiosk=1&region={PILOT}")
    wait_for_cards(page)
    expect(page.locator(".yp-iot")).to_be_visible(timeout=30_000)
    wait_for_drawing(page, charts=False)
    page.screenshot(path=str(artifacts_dir / "overview_iot_kiosk_1920x1080.png"))

    sizes = page.evaluate(PAGE_SIZES)
    assert all(scroll <= client + 1 for scroll, client in sizes), f"the wall screen scrolls: {sizes}"
    strip = page.locator(".yp-iot").bounding_box()
    assert strip["y"] + strip["height"] <= 1080, strip
    period = queries.default_period(demo_db)
    current = queries.kpis(demo_db, PILOT, period.start, period.end)["iot"]
    today = queries.kpis(demo_db, PILOT, period.end, period.end)["iot"]
    assert strip_figures(page) == {
        "alarms_today": format_value("count", today["alarms"], "zh"),
        "alarms": format_value("count", current["alarms"], "zh"),
        "open_alarms": format_value("count", current["open_alarms"], "zh"),
        "handled_rate": format_value("rate", current["handled_rate"], "zh"),
    }
    for label in (t("iot_page"), t("alarm_points"), t("newest_open_alarms"), kpi_label("open_alarms")):
        assert page.get_by_text(label, exact=False).first.is_visible(), label
    assert page.get_by_text(t("event_sheet")).first.is_visible()  # the sheet stays beside the strip
    assert painted(page, artifacts_dir / "overview_iot_map_canvas.png", OPEN_ALARM_COLOR) > 20
    requests.assert_local(base)

    # on the desk the strip takes no more height than the map beside it: the page is as long as without
    page.goto(f"{base}/?region={PILOT}")
    wait_for_cards(page)
    expect(page.locator(".yp-iot")).to_be_visible(timeout=30_000)
    strip = page.locator(".yp-iot").bounding_box()
    deck = page.locator('[data-testid="stDeckGlJsonChart"]').first.bounding_box()
    assert strip["y"] + strip["height"] <= deck["y"] + deck["height"] + 1
    page.screenshot(path=str(artifacts_dir / "overview_iot_desk.png"))


def test_the_iot_page_in_both_languages(demo_db, streamlit_server, page, record_requests, artifacts_dir):
    base = streamlit_server(demo_db)
    requests = record_requests(page)
    period = queries.default_period(demo_db)
    current, previous = queries.kpis_with_previous(demo_db, PILOT, period.start, period.end)
    for lang in ("zh", "en"):
        page.goto(f"{base}/iot?region={PILOT}&lang={lang}")
        wait_for_cards(page, len(IOT_CARDS))
        expect(page.get_by_text(t("open_alarm_list", lang))).to_be_attached(timeout=30_000)
        wait_for_drawing(page)
        page.screenshot(path=str(artifacts_dir / f"iot_page_{lang}.png"), full_page=True)
        assert card_values(page) == {
            c.label: c.value for c in build_cards(current, previous, lang, IOT_CARDS)
        }
        for key in ("device_map", "alarms_over_time", "alarms_by_hour", "minutes_by_type", "noisy_devices"):
            expect(page.get_by_text(t(key, lang), exact=True).first).to_be_attached()
        assert page.get_by_text(t("iot_page", lang)).first.is_visible()
        assert page.locator('[data-testid="stDeckGlJsonChart"] canvas').count() >= 1
        assert f"lang={lang}" in page.url and f"region={PILOT}" in page.url
    requests.assert_local(base)

    township = str(queries.children(demo_db, PILOT)["code"].iloc[0])
    page.goto(f"{base}/iot?region={township}")
    wait_for_cards(page, len(IOT_CARDS))
    wait_for_drawing(page)
    page.screenshot(path=str(artifacts_dir / "iot_page_township.png"), full_page=True)
    township_iot = queries.kpis(demo_db, township, period.start, period.end)["iot"]
    assert card_values(page)[kpi_label("alarms")] == format_value("count", township_iot["alarms"], "zh")
    page.goto(f"{base}/?kiosk=1&region={township}")
    wait_for_cards(page)
    expect(page.locator(".yp-iot")).to_be_visible(timeout=30_000)
    wait_for_drawing(page, charts=False)
    page.screenshot(path=str(artifacts_dir / "overview_iot_kiosk_township.png"))
    sizes = page.evaluate(PAGE_SIZES)
    assert all(scroll <= client + 1 for scroll, client in sizes), f"the wall screen scrolls: {sizes}"
