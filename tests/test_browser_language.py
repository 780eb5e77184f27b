"""The language switch in a real browser: one flip changes everything on screen at once and for good, and
no English label is broken inside a word."""

from __future__ import annotations

import re

import pytest

from dashboard.labels import CITY_NAME_EN, ENUM_EN, KPI_LABELS, level_label, t
from pipelines.contract import CITY_NAME

pytestmark = pytest.mark.browser

# The pages an open demo session lists, in the router's order, by their title keys.
NAV_KEYS = (
    "overview",
    "population_page",
    "housing_page",
    "events_page",
    "economy_page",
    "iot_page",
    "report_page",
)
# Pages with KPI cards, by URL path (the overview is the default page, at /).
CARD_PAGES = {"": 12, "population": 10, "housing": 4, "events": 8, "economy": 5, "iot": 8}
RUNNING = '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]'
CJK = re.compile(r"[\u3400-\u9fff]")
ENGLISH_CARD_LABELS = {en for _, en in KPI_LABELS.values()} | set(ENUM_EN.values())

# Every English word on screen (outside charts and maps) whose letters lie on more than one line, as
# "word in «text» (test id)": a word split by the browser's line breaking shows up as client rectangles
# at two heights. Words are letters only, so a break after a hyphen ("sub-|region") is not a split.
SPLIT_WORDS_JS = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || element.closest('script, style, svg, canvas')) continue;
    for (const match of node.textContent.matchAll(/[A-Za-z]+/g)) {
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set();
      for (const rect of range.getClientRects()) {
        if (rect.width > 0 && rect.height > 0) tops.add(Math.round(rect.top));
      }
      if (tops.size > 1) {
        const owner = element.closest('[data-testid]');
        found.push(`${match[0]} in «${node.textContent.trim()}» (${owner ? owner.dataset.testid : element.tagName})`);
      }
    }
  }
  return found;
}"""
# Card labels the card does not show whole: cut off with an ellipsis, or a word running past the edge
# (some box of the label is narrower than what it holds).
CUT_LABELS_JS = """() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
  .filter(label => [label, ...label.querySelectorAll('*')].some(box =>
    getComputedStyle(box).display !== 'inline' && box.scrollWidth > box.clientWidth + 1))
  .map(label => label.innerText.trim())"""


def settled(page, cards: int) -> None:
    """Until the page's cards are on screen and Streamlit has stopped running the script."""
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"stMetric\"]').length >= {cards}", timeout=90_000
    )
    page.wait_for_function(f"!document.querySelector('{RUNNING}')", timeout=90_000)


def nav_titles(page) -> list[str]:
    """The page list in the sidebar, without the icons' names."""
    links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    return [link.strip().splitlines()[-1].strip() for link in links]


def card_labels(page) -> list[str]:
    return [label.strip() for label in page.locator('[data-testid="stMetricLabel"]').all_inner_texts()]


def select_values(page) -> dict[str, str]:
    """Label -> the choice shown, of each select box in the sidebar."""
    boxes = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
    return {
        box.locator('[data-testid="stWidgetLabel"]').inner_text().strip(): box.locator("input").input_value()
        for box in boxes.all()
    }


def title_text(page) -> str:
    return page.locator(".yp-title").first.inner_text()


def assert_in(page, lang: str, page_key: str) -> None:
    """The page list, the tab title, the title bar, the breadcrumb, the cards and the sidebar's labels are
    all in `lang`."""
    assert nav_titles(page) == [t(key, lang) for key in NAV_KEYS]
    assert page.title() == f"{t(page_key, lang)} · {t('app_name', lang)}"
    assert title_text(page).startswith(f"{t(page_key, lang)} · ")
    main = page.locator('[data-testid="stMain"]')
    city = CITY_NAME_EN if lang == "en" else CITY_NAME
    assert main.get_by_role("button", name=city, exact=True).count() == 1
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text(t("language", lang), exact=True).count() == 1
    choices = select_values(page)
    assert choices[t("period", lang)] == t("preset_12m", lang)
    assert choices[level_label("township", lang)] == f"— {t('all', lang)} —"
    labels = card_labels(page)
    assert labels
    if lang == "en":
        assert [label for label in labels if label not in ENGLISH_CARD_LABELS] == []
    else:
        assert all(CJK.search(label) for label in labels), labels


def open_page(page, path: str, cards: int) -> None:
    """Follow the sidebar's link to `path` and wait until that page has drawn."""
    before = title_text(page)
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()
    page.wait_for_url(re.compile(rf"/{path}(\?|$)"), timeout=90_000)
    page.wait_for_function(
        "before => document.querySelector('.yp-title')?.innerText !== before", arg=before, timeout=90_000
    )
    settled(page, cards)


def test_one_flip_changes_everything_at_once_and_it_stays(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/events?region=500153")
    settled(page, CARD_PAGES["events"])
    assert_in(page, "zh", "events_page")

    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    # The run the flip starts: its cards are the last thing it draws.
    page.wait_for_function(
        "label => document.querySelector('[data-testid=\"stMetricLabel\"]')?.innerText.trim() === label",
        arg=KPI_LABELS["total"][1],
        timeout=90_000,
    )
    settled(page, CARD_PAGES["events"])
    page.screenshot(path=str(artifacts_dir / "language_flipped_events_en.png"), timeout=120_000)
    assert_in(page, "en", "events_page")
    assert "lang=en" in page.url

    open_page(page, "housing", CARD_PAGES["housing"])
    assert_in(page, "en", "housing_page")
    open_page(page, "population", CARD_PAGES["population"])
    assert_in(page, "en", "population_page")
    assert "lang=en" in page.url
    page.screenshot(path=str(artifacts_dir / "language_flipped_population_en.png"), timeout=120_000)

    # And back, just as completely.
    page.locator('[data-testid="stSidebar"]').get_by_text("中文", exact=True).click()
    page.wait_for_function(
        "label => document.querySelector('[data-testid=\"stMetricLabel\"]')?.innerText.trim() === label",
        arg=KPI_LABELS["residents"][0],
        timeout=90_000,
    )
    settled(page, CARD_PAGES["population"])
    assert_in(page, "zh", "population_page")


@pytest.mark.parametrize("path", list(CARD_PAGES), ids=[path or "overview" for path in CARD_PAGES])
def test_no_english_label_is_broken_inside_a_word(path, demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/{path}?region=500153&lang=en")
    settled(page, CARD_PAGES[path])
    # the wall's width, then a desk's: the page is laid out again without a reload
    for width in (1920, 1440):
        page.set_viewport_size({"width": width, "height": 1080})
        page.wait_for_timeout(1500)  # let the columns take their final widths
        split, cut = page.evaluate(SPLIT_WORDS_JS), page.evaluate(CUT_LABELS_JS)
        page.screenshot(
            path=str(artifacts_dir / f"language_en_{path or 'overview'}_{width}.png"), timeout=120_000
        )
        assert split == [], width
        assert cut == [], width
    page.set_viewport_size({"width": 1920, "height": 1080})
