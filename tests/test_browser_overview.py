"""The overview in a real browser: the wall screen fits, draws its map, and asks nothing of the internet."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from PIL import Image
from playwright.sync_api import expect

from bench.browser import default_card_values
from dashboard import choropleth, maps, queries
from dashboard.cards import OVERVIEW_CARDS, build_cards
from dashboard.labels import kpi_label, t
from dashboard.report import ranking_table

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
    # the map says what its colours mean; nobody can click zoom buttons on a wall: none shown
    expect(page.locator(".yp-map-legend").get_by_text("事件数（件）")).to_be_visible()
    buttons = page.locator('[data-testid="stDeckGlJsonChart"] button')
    assert buttons.count() == 0 or not any(b.is_visible() for b in buttons.all())
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


SHOWN_CARDS = (
    "() => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')].map(e => e.innerText.trim())"
)


def test_the_wall_follows_publish_after_publish_without_reload(tmp_path, streamlit_server, page):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from pipelines.build import build
    from pipelines.demo import generate
    from pipelines.ingest import ingest

    db = tmp_path / "db" / "live.duckdb"
    generate(tmp_path / "input", scale=0.001, seed=1)
    build(tmp_path / "input", db)
    events = pq.read_table(tmp_path / "input" / "events.parquet")
    newest = events.sort_by([("reported_at", "descending")]).slice(0, 40)
    base = streamlit_server(db, env={"YIPING_REFRESH_SECONDS": "2"})
    errors = []  # a page that goes blank says why here ("'setIn' cannot be called on an ElementNode")
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/?kiosk=1")
    wait_for_cards(page)
    shown = [default_card_values(db, "50")]
    for number in range(1, 4):
        # new ids for some of the newest events: every publish changes the city's event count
        increment = newest.slice(0, 10 * number)
        ids = pc.binary_join_element_wise(increment["event_id"], f"-L{number}", "")
        increment = increment.set_column(0, "event_id", ids)
        folder = tmp_path / f"increment{number}"
        folder.mkdir()
        pq.write_table(increment, folder / f"events_{number}.parquet")
        ingest(folder, db)
        expected = default_card_values(db, "50")
        assert expected != shown[-1]
        page.wait_for_function(
            f"(expected) => JSON.stringify(({SHOWN_CARDS})()) === JSON.stringify(expected)",
            arg=expected,
            timeout=30_000,
        )
        shown.append(expected)
    assert not page.locator("[data-testid='stException']").count()
    assert not errors, errors


# ------------------------------------------------------------------------------ 擂台比武


ROW_PX = 35  # the height of a table's header and of each of its rows
RANK_CELL = (38, 110)  # the rank column's left part, right of the row's checkbox


def cell(grid, role: str, text: str):
    """A table's cell (role `gridcell` or `columnheader`) holding exactly `text`."""
    return grid.locator(f'[role="{role}"]').filter(has_text=re.compile(f"^{re.escape(text)}$"))


SCRIPT_IDLE = (
    "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"
    " === 'notRunning'"
)


def ranking_grid(page):
    """The ranking's table (the one with a rank column), scrolled into view once the page's script is
    done: while it runs, the table of the page before may still be there, to be replaced."""
    page.wait_for_function(SCRIPT_IDLE, timeout=60_000)
    grid = page.locator('[data-testid="stDataFrame"]').filter(has=cell(page, "columnheader", t("rank")))
    expect(grid).to_be_attached(timeout=30_000)
    grid.scroll_into_view_if_needed()
    return grid


def grid_rows(grid, columns: int = 7) -> list[list[str]]:
    """The rows the table has drawn, as its accessible cells hold them (raw values, not the shown text)."""
    cells = grid.locator('[role="gridcell"]').all_inner_texts()
    return [cells[i : i + columns] for i in range(0, len(cells), columns)]


def ink(page, grid, row: int, columns: tuple[int, int], path) -> tuple[int, int]:
    """Width and height of what is drawn in a cell, from a screenshot: (0, 0) when it is empty."""
    box = grid.bounding_box()
    clip = {
        "x": box["x"] + columns[0],
        "y": box["y"] + ROW_PX * (row + 1) + 3,
        "width": columns[1] - columns[0],
        "height": ROW_PX - 6,
    }
    page.screenshot(path=str(path), clip=clip)
    image = Image.open(path).convert("RGB")
    background = image.getpixel((image.width - 1, 0))
    inked = [
        (x, y)
        for y in range(image.height)
        for x in range(image.width)
        if max(abs(a - b) for a, b in zip(image.getpixel((x, y)), background, strict=True)) > 60
    ]
    if not inked:
        return 0, 0
    xs, ys = [x for x, _ in inked], [y for _, y in inked]
    return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def ranked(db, code: str):
    period = queries.default_period(db)
    return ranking_table(queries.ranking(db, code, period.start, period.end))


def test_one_click_on_the_ranking_moves_one_level(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?region=500153")
    wait_for_cards(page)
    code = "500153"
    for _ in range(2):
        table = ranked(demo_db, code)
        grid = ranking_grid(page)
        expect(cell(grid, "gridcell", table["name"].iloc[0])).to_be_attached(timeout=30_000)
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 16, box["y"] + ROW_PX * 1.5)  # the first row's checkbox
        code = str(table["code"].iloc[0])
        page.wait_for_function(f"/region={code}\\b/.test(location.href)", timeout=30_000)
        wait_for_cards(page)
        # the drilled page has drawn its own ranking, and stays where one click took it
        first_child = ranked(demo_db, code)["name"].iloc[0]
        expect(cell(ranking_grid(page), "gridcell", first_child)).to_be_attached(timeout=30_000)
        wait_for_cards(page)
        assert re.search(f"region={code}&", page.url), page.url
        assert table["name"].iloc[0] in title_text(page)
    page.screenshot(path=str(artifacts_dir / "overview_drilled_twice.png"))


def test_the_ranking_shows_every_rate_ties_and_dashes(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    table = ranked(demo_db, "500153")
    assert (table["rank"] == 1).sum() > 1  # the demo has ties at the top
    page.goto(f"{base}/?region=500153")
    wait_for_cards(page)
    grid = ranking_grid(page)
    expect(cell(grid, "columnheader", kpi_label("on_time_rate"))).to_be_attached(timeout=30_000)
    rows = grid_rows(grid)  # the rows drawn so far: the table draws what is on screen
    assert len(rows) >= min(len(table), 10)
    expected = [
        ["" if pd.isna(rank) else str(int(rank)), name]  # an unranked row holds no rank
        for rank, name in zip(table["rank"], table["name"], strict=True)
    ]
    assert [row[:2] for row in rows] == expected[: len(rows)]
    height = grid.bounding_box()["height"]
    assert height >= min(len(table) + 1, 21) * ROW_PX  # every row up to twenty, no small box
    page.screenshot(path=str(artifacts_dir / "overview_ranking.png"))
    width, _ = ink(page, grid, 0, RANK_CELL, artifacts_dir / "rank_tied.png")
    assert width >= 24, "a shared rank is marked (1 并列), not drawn as a bare 1"

    # a community with grids that had no events: no rank and no rate, drawn as a dash, not as "None"
    community = next(
        str(code)
        for code in queries.children(demo_db, "500153001")["code"]
        if ranked(demo_db, str(code))["rank"].isna().any()
        and ranked(demo_db, str(code))["rank"].notna().any()
    )
    unrated = int(ranked(demo_db, community)["rank"].isna().idxmax())
    page.goto(f"{base}/?region={community}")
    wait_for_cards(page)
    grid = ranking_grid(page)
    expect(cell(grid, "columnheader", t("rank"))).to_be_attached(timeout=30_000)
    width, height = ink(page, grid, unrated, RANK_CELL, artifacts_dir / "rank_dash.png")
    assert width >= 6 and height <= 3, f"a dash is a short flat line, not text: {width}×{height}"
    page.screenshot(path=str(artifacts_dir / "overview_ranking_dashes.png"))


def test_the_wall_ranking_shows_the_best_and_the_worst(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?kiosk=1&region=50")
    wait_for_cards(page)
    league = page.locator(".yp-league")
    expect(league).to_be_visible(timeout=30_000)
    page.wait_for_timeout(2500)  # let the map and charts draw
    page.screenshot(path=str(artifacts_dir / "overview_kiosk_city.png"))
    table = ranked(demo_db, "50")
    rated = table[table["rank"].notna()]
    assert len(table) > 10
    expect(league.get_by_text(t("league_top").format(n=5))).to_be_visible()
    expect(league.get_by_text(t("league_bottom").format(n=5), exact=False)).to_be_visible()
    names = league.locator("td:nth-child(2)").all_inner_texts()
    assert names == [*rated["name"].head(5), *rated["name"].tail(5)]
    if (table["rank"] == 1).sum() > 1:
        expect(league.get_by_text(t("rank_tied").format(rank=1)).first).to_be_visible()
    sizes = page.evaluate(
        """() => [document.documentElement, document.querySelector('[data-testid="stMain"]'),
                  document.querySelector('[data-testid="stAppViewContainer"]')]
                 .filter(Boolean).map(e => [e.scrollHeight, e.clientHeight])"""
    )
    assert all(scroll <= client + 1 for scroll, client in sizes), f"the wall screen scrolls: {sizes}"


def test_the_sheet_says_no_open_events_when_all_are_closed(demo_db, streamlit_server, page):
    period = queries.default_period(demo_db)
    community = next(
        str(code)
        for code in queries.children(demo_db, "500153001")["code"]
        if queries.kpis(demo_db, str(code), period.start, period.end)["events"]["total"]
        and queries.event_sheet(demo_db, str(code), period.start, period.end).empty
    )
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?region={community}")
    wait_for_cards(page)
    expect(page.get_by_text(t("no_open_events"))).to_be_visible(timeout=30_000)
    expect(page.get_by_text(t("no_events"))).to_have_count(0)


def test_a_click_on_a_placed_name_drills_into_its_place(demo_db, streamlit_server, page, artifacts_dir):
    """The names go where the server placed them: a click at the centre of a placed label's box, as
    computed for the desk's map, picks that place in the browser and drills into it."""
    from tests.test_browser_pages import hover_until_picked
    from tests.test_outlines import MAP_SIZES, drawn_labels, shown_areas

    base = streamlit_server(demo_db)
    page.goto(f"{base}/?region=500153")
    wait_for_cards(page)
    canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
    expect(canvas).to_be_visible(timeout=30_000)
    page.wait_for_timeout(2500)  # let the map draw
    page.screenshot(path=str(artifacts_dir / "overview_desk_map.png"))
    width, height = MAP_SIZES["desk"]
    areas = shown_areas(demo_db, "500153")
    deck = maps.choropleth_map(
        areas, "events", width, height, font_px=choropleth.FONT_PX["desk"], weight="importance"
    )
    label = drawn_labels(deck).iloc[0]
    x, y = maps.to_pixels([label["lon"]], [label["lat"]], deck.initial_view_state, width, height)
    box = canvas.bounding_box()
    assert abs(box["height"] - height) <= 2
    at = (box["x"] + box["width"] / 2 + x[0] - width / 2, box["y"] + box["height"] / 2 + y[0] - height / 2)
    hover_until_picked(page, *at, label["name"])
    page.mouse.click(*at)
    page.wait_for_function(f"/region={label['code']}\\b/.test(location.href)", timeout=30_000)
    wait_for_cards(page)
    assert label["name"] in title_text(page)
