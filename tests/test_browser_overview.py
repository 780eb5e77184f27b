"""The overview in a real browser: the wall screen fits, draws its map, and asks nothing of the internet."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from dashboard import queries
from dashboard.cards import OVERVIEW_CARDS, build_cards
from dashboard.labels import kpi_label, t

pytestmark = pytest.mark.browser

KIOSK_LABELS = [
    t("trend"),
    t("ranking"),
    t("event_sheet"),
    t("demo_data"),
    t("published_at"),
    t("metric_events"),
    t("metric_resolution_rate"),
    t("metric_density"),
    t("metric_overdue"),
]


def wait_for_cards(page, count: int = len(OVERVIEW_CARDS)) -> None:
    """Until every KPI card is on screen and Streamlit has stopped running the script."""
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"stMetric\"]').length >= {count}", timeout=30_000
    )
    page.wait_for_function(
        '!document.querySelector(\'[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]\')',
        timeout=30_000,
    )


def card_values(page) -> dict[str, str]:
    """KPI label -> value as the browser shows them."""
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values, strict=True)}


def deck_pixels(page, path) -> int:
    """How many pixels of the map canvas differ from the background: zero means nothing was drawn."""
    canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
    canvas.screenshot(path=str(path))
    image = Image.open(path).convert("RGB")
    background = (10, 22, 40)
    return sum(
        1
        for pixel in image.get_flattened_data()
        if max(abs(a - b) for a, b in zip(pixel, background, strict=True)) > 24
    )


def test_kiosk_wall_screen(demo_db, streamlit_server, page, record_requests, artifacts_dir):
    base = streamlit_server(demo_db)
    requests = record_requests(page)
    page.goto(f"{base}/?kiosk=1&region=500153")
    wait_for_cards(page)
    page.wait_for_timeout(2500)  # let the map and charts draw
    page.screenshot(path=str(artifacts_dir / "overview_kiosk_1920x1080.png"))

    sizes = page.evaluate(
        """() => [document.documentElement, document.querySelector('[data-testid="stMain"]'),
                  document.querySelector('[data-testid="stAppViewContainer"]')]
                 .filter(Boolean).map(e => [e.scrollHeight, e.clientHeight])"""
    )
    assert all(scroll <= client + 1 for scroll, client in sizes), f"the wall screen scrolls: {sizes}"
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('[data-testid="stToolbar"]').is_visible()

    shown = card_values(page)
    period = queries.default_period(demo_db)
    current, previous = queries.kpis_with_previous(demo_db, "500153", period.start, period.end)
    assert shown == {card.label: card.value for card in build_cards(current, previous)}
    for label in KIOSK_LABELS:
        assert page.get_by_text(label, exact=False).first.is_visible(), label
    assert page.get_by_text("荣昌区").first.is_visible()

    assert deck_pixels(page, artifacts_dir / "overview_map_canvas.png") > 5000
    requests.assert_local(base)


def test_url_round_trip(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?region=500153&from=2023-01-01&to=2023-12-31")
    wait_for_cards(page)
    assert (
        re.search(r"region=500153\b", page.url) and "from=2023-01-01" in page.url and "year=2023" in page.url
    )
    before = card_values(page)

    # Choose a township in the sidebar: the URL follows, and the copied link shows the same view.
    township = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(1)
    township.click()
    page.get_by_role("option").nth(1).click()
    page.wait_for_function("/region=500153\\d{3}\\b/.test(location.href)", timeout=30_000)
    wait_for_cards(page)
    after = card_values(page)
    assert after != before
    link = page.url
    page.screenshot(path=str(artifacts_dir / "overview_township.png"))

    other = page.context.new_page()
    other.goto(link)
    wait_for_cards(other)
    assert card_values(other) == after
    assert other.url == link
    other.close()


def test_english_in_the_browser(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?lang=en&kiosk=1")
    wait_for_cards(page)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts_dir / "overview_kiosk_en.png"))
    assert kpi_label("resolution_rate", "en") in card_values(page)
    assert page.get_by_text(t("event_sheet", "en")).first.is_visible()


def title_text(page) -> str:
    return page.locator(".yp-title").first.inner_text()


def test_rotation_steps_through_the_children(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?kiosk=1&region=500153&rotate=10")
    wait_for_cards(page)
    seen = {title_text(page)}
    for _ in range(3):
        page.wait_for_function(
            "t => document.querySelector('.yp-title') && document.querySelector('.yp-title').innerText !== t",
            arg=title_text(page),
            timeout=20_000,
        )
        seen.add(title_text(page))
    children = queries.children(demo_db, "500153")
    assert len(seen) >= 3
    assert all(any(name in title for name in children["name"]) for title in seen)
    assert "rotate=10" in page.url and "region=500153" in page.url
    page.screenshot(path=str(artifacts_dir / "overview_rotation.png"))


def test_a_new_publish_shows_without_reload(tmp_path, streamlit_server, page):
    from pipelines.build import build
    from pipelines.demo import generate

    db = tmp_path / "db" / "live.duckdb"
    generate(tmp_path / "small", scale=0.001, seed=1)
    generate(tmp_path / "large", scale=0.003, seed=2)
    build(tmp_path / "small", db)
    base = streamlit_server(db, env={"YIPING_REFRESH_SECONDS": "2"})
    page.goto(f"{base}/?kiosk=1")
    wait_for_cards(page)
    before = card_values(page)[kpi_label("residents")]
    build(tmp_path / "large", db)
    page.wait_for_function(
        "([label, old]) => [...document.querySelectorAll('[data-testid=\"stMetric\"]')].some("
        "m => m.innerText.includes(label) && !m.innerText.includes(old))",
        arg=[kpi_label("residents"), before],
        timeout=30_000,
    )
    period = queries.default_period(db)
    expected = queries.kpis(db, "50", period.start, period.end)["population"]["residents"]
    assert card_values(page)[kpi_label("residents")] != before
    assert expected > 0
