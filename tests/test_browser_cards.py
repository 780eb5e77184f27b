"""KPI cards in a real browser: the dates they are compared with are shown, and their figures are whole."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard import queries
from dashboard.cards import OVERVIEW_CARDS, build_cards, format_value
from dashboard.labels import kpi_label, t

pytestmark = pytest.mark.browser

DISTRICT = "500153"
WAIT_MS = 60_000


def wait_for_cards(page, count: int = len(OVERVIEW_CARDS)) -> None:
    """Until every KPI card is on screen and Streamlit has stopped running the script."""
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"stMetric\"]').length >= {count}", timeout=WAIT_MS
    )
    page.wait_for_function(
        '!document.querySelector(\'[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]\')',
        timeout=WAIT_MS,
    )


def compared_caption(period: queries.Period, mode: str, lang: str = "zh") -> str:
    return t(f"compared_dates_{mode}", lang).format(
        start=period.start.isoformat(), end=period.end.isoformat()
    )


def card_deltas(page) -> list[str]:
    """The change under each card, '' for none."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(card => {
               const delta = card.querySelector('[data-testid="stMetricDelta"]');
               return delta ? delta.innerText.trim() : '';
           })"""
    )


def expected_deltas(db, code: str, period: queries.Period, mode: str) -> list[str]:
    current, previous = queries.kpis_with_previous(db, code, period.start, period.end, compare=mode)
    return [card.delta or "" for card in build_cards(current, previous, compare=mode)]


def test_compared_dates_are_shown_and_follow_the_url_and_the_switch(demo_db, streamlit_server, page):
    base = streamlit_server(demo_db)
    period = queries.default_period(demo_db)
    year_before, just_before = period.year_before(), period.previous()
    assert year_before != just_before

    # 同比 by default: the caption under the cards names the dates, the cards' changes are against them
    page.goto(f"{base}/?region={DISTRICT}")
    wait_for_cards(page)
    expect(page.get_by_text(compared_caption(year_before, "yoy"))).to_be_visible(timeout=WAIT_MS)
    assert card_deltas(page) == expected_deltas(demo_db, DISTRICT, period, "yoy")
    expect(page).to_have_url(re.compile(r"compare=yoy"), timeout=WAIT_MS)

    # the card's ? names what the KPI counts, the compared dates and the value there
    current, previous = queries.kpis_with_previous(demo_db, DISTRICT, period.start, period.end)
    page.get_by_role("button", name=f"Help for {kpi_label('total')}").hover()
    tooltip = page.get_by_test_id("stTooltipContent")
    expect(tooltip).to_contain_text("时段内上报、未撤销的事件数", timeout=WAIT_MS)
    expect(tooltip).to_contain_text(
        f"同比（{year_before.start} 至 {year_before.end}）：{format_value('count', previous['events']['total'], 'zh')}"
    )

    # 环比 from the URL
    page.goto(f"{base}/?region={DISTRICT}&compare=prev")
    wait_for_cards(page)
    expect(page.get_by_text(compared_caption(just_before, "prev"))).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(compared_caption(year_before, "yoy"))).to_have_count(0)
    assert card_deltas(page) == expected_deltas(demo_db, DISTRICT, period, "prev")

    # ... and back to 同比 with the sidebar's switch, written back to the URL
    page.get_by_test_id("stSidebar").get_by_role("radio", name=t("compare_yoy")).click()
    expect(page.get_by_text(compared_caption(year_before, "yoy"))).to_be_visible(timeout=WAIT_MS)
    expect(page).to_have_url(re.compile(r"compare=yoy"), timeout=WAIT_MS)
    wait_for_cards(page)
    assert card_deltas(page) == expected_deltas(demo_db, DISTRICT, period, "yoy")

    # in English too
    page.goto(f"{base}/?region={DISTRICT}&compare=prev&lang=en")
    wait_for_cards(page)
    expect(page.get_by_text(compared_caption(just_before, "prev", "en"))).to_be_visible(timeout=WAIT_MS)


def cut_figures(page) -> list[str]:
    """Values and changes of cards that are not shown whole: wider than their box, or outside their card."""
    return page.evaluate(
        """() => {
            const cut = [];
            for (const card of document.querySelectorAll('[data-testid="stMetric"]')) {
                const edge = card.getBoundingClientRect();
                for (const figure of card.querySelectorAll(
                        '[data-testid="stMetricValue"], [data-testid="stMetricDelta"]')) {
                    const boxes = [figure, ...figure.querySelectorAll('div, p')];
                    const box = figure.getBoundingClientRect();
                    if (boxes.some(e => e.scrollWidth > e.clientWidth + 1)
                            || box.right > edge.right + 1 || box.left < edge.left - 1
                            || figure.innerText.includes('…')) {
                        cut.push(figure.innerText);
                    }
                }
            }
            return cut;
        }"""
    )


def longest_income_district(db) -> str:
    """The district whose collective operating income is written longest (such as 3,964.6万元)."""
    period = queries.default_period(db)
    districts = queries.children(db, "50")["code"]
    income = {
        code: format_value(
            "money",
            queries.kpis(db, code, period.start, period.end)["collective_economy"]["operating_income"],
            "zh",
        )
        for code in districts
    }
    return max(income, key=lambda code: len(income[code]))


def test_card_figures_are_whole(demo_db, streamlit_server, browser, artifacts_dir):
    base = streamlit_server(demo_db)
    context = browser.new_context(viewport={"width": 1920, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    try:
        district = longest_income_district(demo_db)
        views = [
            (f"/?region={district}", len(OVERVIEW_CARDS)),
            (f"/?region={district}&lang=en", len(OVERVIEW_CARDS)),
            ("/?region=50&compare=prev", len(OVERVIEW_CARDS)),
            (f"/events?region={DISTRICT}", 8),  # the page with the most cards in a row
            (f"/economy?region={district}", 5),
        ]
        for number, (view, cards) in enumerate(views):
            page.goto(base + view)
            wait_for_cards(page, cards)
            # the wall's width, then a desk's: the cards are laid out again without a reload
            for width in (1920, 1440):
                page.set_viewport_size({"width": width, "height": 1000})
                page.wait_for_timeout(800)
                cut = cut_figures(page)
                page.screenshot(path=str(artifacts_dir / f"cards_{width}_{number}.png"), timeout=WAIT_MS * 2)
                assert cut == [], (view, width)
            page.set_viewport_size({"width": 1920, "height": 1000})
    finally:
        context.close()
