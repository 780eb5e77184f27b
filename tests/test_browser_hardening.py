"""Hardening in a real browser against a running server: hostile URLs and names stay text, cost nothing.

Each test opens what an attacker would send (a link, an input file with crafted names) and checks the
safe outcome: no request to any other host, no markup or link made from data, no traceback, the map
drawn, a bounded server CPU, no raw CSV export.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from PIL import Image

pytestmark = pytest.mark.browser

RUNNING = '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]'
EVIL_HOST = "evil.example"
# Township and community names of 荣昌区 in the hostile input, by code.
HOSTILE_NAMES = {
    "500153001": "@@#GL.ONE",
    "500153002": "@@=x.y + 1",
    "500153003": f"![t](http://{EVIL_HOST}/name.png)",
    "500153004": f'<a href="http://{EVIL_HOST}/a">点我</a>',
    "500153001001": f"[点此登录](http://{EVIL_HOST}/login)",
}
URL_INJECTIONS = [
    f"[点此登录](http://{EVIL_HOST}/x) ![t](http://{EVIL_HOST}/y.png)",
    f"<img src=http://{EVIL_HOST}/z.png>",
]
PAGES = ("", "population", "housing", "events", "economy", "report")
TRACEBACK_SIGNS = ("Traceback", "OverflowError", "date value out of range", 'File "/', "site-packages")


# ---------------------------------------------------------------------------------- helpers


def settle(page, timeout_ms: int = 30_000) -> None:
    """Until the page's title bar is drawn and Streamlit has stopped running the script."""
    page.wait_for_selector(
        ".yp-bar, [data-testid='stAlert'], [data-testid='stException']", timeout=timeout_ms
    )
    page.wait_for_timeout(300)
    page.wait_for_function(f"!document.querySelector('{RUNNING}')", timeout=timeout_ms)


class PageErrors:
    """Uncaught script errors in the page (a map that fails to draw raises one)."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))


# Attributes through which an element links to or loads from an address (a name shown as text may sit
# in a `value` or `title`: that is text).
LINKING_ATTRIBUTES = [
    "href",
    "xlink:href",
    "src",
    "srcset",
    "action",
    "formaction",
    "poster",
    "data",
    "style",
]


def attributes_naming(page, host: str) -> list[str]:
    """Every linking or loading attribute of the page that mentions `host`."""
    return page.evaluate(
        """([host, names]) => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
             .filter(a => names.includes(a.name) && a.value.includes(host))
             .map(a => `${e.tagName} ${a.name}=${a.value}`))""",
        [host, LINKING_ATTRIBUTES],
    )


def deck_pixels(page, path: Path) -> int:
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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(base_url: str) -> int:
    """The process of the Streamlit server this test session started on base_url's port."""
    port = str(urlsplit(base_url).port)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(argv) and port.encode() in argv:
            return int(entry.name)
    raise AssertionError(f"no Streamlit server process on port {port}")


def cpu_while_open(page, url: str, pid: int, seconds: float = 10.0) -> float:
    """Server CPU seconds over `seconds` with `url` open (after it has drawn)."""
    page.goto(url)
    settle(page)
    page.wait_for_timeout(2000)
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - before


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """The demo, built through the real build, with townships and a community named to attack."""
    from pipelines.build import build
    from pipelines.demo import generate

    folder = tmp_path_factory.mktemp("hostile")
    generate(folder / "input", scale=0.002, seed=7)
    regions = folder / "input" / "regions.csv"
    with regions.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        row[1] = HOSTILE_NAMES.get(row[0], row[1])
    with regions.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    db = folder / "db" / "yiping.duckdb"
    build(folder / "input", db)
    return db


# --------------------------------------------------------------------------- the URL is input


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("injection", URL_INJECTIONS)
def test_a_region_in_the_url_is_never_markup(
    path, injection, demo_db, streamlit_server, page, record_requests
):
    base = streamlit_server(demo_db)
    requests = record_requests(page)
    errors = PageErrors(page)
    page.goto(f"{base}/{path}?region={quote(injection)}")
    settle(page)
    page.wait_for_timeout(1500)  # an injected image would have been asked for by now
    requests.assert_local(base)
    assert not attributes_naming(page, EVIL_HOST)
    assert not page.locator("[data-testid='stException']").count()
    assert not errors.errors


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("dates", "shown_from"),
    [("from=0001-01-01&to=2023-12-31", "2000-01-01"), ("from=9999-01-01&to=9999-12-31", "2099-12-31")],
)
def test_dates_off_the_calendar_are_clamped_without_a_traceback(
    path, dates, shown_from, demo_db, streamlit_server, page
):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/{path}?region=500153&{dates}")
    settle(page)
    body = page.locator("body").inner_text()
    assert not page.locator("[data-testid='stException']").count()
    assert not [sign for sign in TRACEBACK_SIGNS if sign in body]
    # what was done is on the page and in the link: the period starts at the clamped date
    page.wait_for_function(f"location.href.includes('from={shown_from}')", timeout=10_000)
    assert shown_from in page.locator(".yp-bar").first.inner_text()


ABUSIVE_ROTATIONS = ("1", "2147484", "1" + "0" * 400)


def test_an_abusive_rotation_costs_no_more_than_a_still_page(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    pid = server_pid(base)
    still = cpu_while_open(page, f"{base}/?kiosk=1&region=500153", pid)
    for rotate in ABUSIVE_ROTATIONS:
        abusive = cpu_while_open(page, f"{base}/?kiosk=1&region=500153&rotate={rotate}", pid)
        assert abusive <= still + 1.0, (
            f"rotate={rotate[:12]}: {abusive:.2f} s of CPU in 10 s, still page {still:.2f} s"
        )
        assert "rotate=" not in page.url
        assert not page.locator("[data-testid='stException']").count()
    page.screenshot(path=str(artifacts_dir / "hardening_rotate.png"))


# ------------------------------------------------------------------------ input files are input


@pytest.mark.parametrize(
    ("path", "region"),
    [("", "500153"), ("events", "500153"), ("population", "500153"), ("population", "500153001001001")],
)
def test_hostile_region_names_stay_text_and_the_map_draws(
    path, region, hostile_db, streamlit_server, page, record_requests, artifacts_dir
):
    base = streamlit_server(hostile_db)
    requests = record_requests(page)
    errors = PageErrors(page)
    page.goto(f"{base}/{path}?region={region}")
    settle(page)
    page.wait_for_timeout(2500)  # let the map and the charts draw
    shot = artifacts_dir / f"hardening_names_{path or 'overview'}_{region}.png"
    page.screenshot(path=str(shot))

    requests.assert_local(base)
    assert not errors.errors
    assert not attributes_naming(page, EVIL_HOST), "a name became a link or an image"
    assert not page.locator("[data-testid='stException']").count()
    if page.locator('[data-testid="stDeckGlJsonChart"]').count():
        assert deck_pixels(page, shot.with_suffix(".map.png")) > 2000
        deck_text = page.locator('[data-testid="stDeckGlJsonChart"]').first.inner_text()
        assert "Error" not in deck_text
    if len(region) > 12:
        # the breadcrumb shows the ancestors' names as written, as buttons, not as links
        for name in (HOSTILE_NAMES["500153001"], HOSTILE_NAMES["500153001001"]):
            assert page.get_by_role("button", name=name, exact=True).count() == 1, name


def test_map_tooltips_show_plain_text(hostile_db, streamlit_server, page):
    base = streamlit_server(hostile_db)
    page.goto(f"{base}/events?region=500153")
    settle(page)
    page.wait_for_timeout(2500)
    canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    box = canvas.bounding_box()
    tip = page.locator(".deck-tooltip")
    # hover over the map until a cell's or a label's tooltip shows
    for fx in (0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65):
        for fy in (0.5, 0.45, 0.55, 0.4, 0.6):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(150)
            if tip.count() and tip.first.is_visible() and tip.first.inner_text().strip():
                text = tip.first.inner_text()
                assert "<b>" not in text and "<br" not in text and "{" not in text, text
                assert tip.first.locator("b, a, img").count() == 0
                return
    pytest.fail("no tooltip showed over the map")


# ------------------------------------------------------------------------------------ exports


def test_tables_offer_no_raw_csv_download(demo_db, streamlit_server, page):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?region=500153")
    settle(page)
    # the event sheet: descriptions and places, as the input wrote them
    holder = page.locator(
        '[data-testid="stElementContainer"]:has([data-testid="stDataFrame"]):has([data-testid="stElementToolbar"])'
    ).last
    holder.scroll_into_view_if_needed()
    holder.locator('[data-testid="stDataFrame"]').hover()
    toolbar = holder.locator('[data-testid="stElementToolbar"]')
    toolbar.wait_for(state="visible", timeout=10_000)
    labels = [b.get_attribute("aria-label") or b.inner_text() for b in toolbar.locator("button").all()]
    assert "Search" in labels, f"not the table's toolbar: {labels}"
    assert not [label for label in labels if "Download" in label or "CSV" in label], labels
