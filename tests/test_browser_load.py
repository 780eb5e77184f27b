"""The import page in a real browser: a steward uploads an events increment, reads the dry run, publishes,
and the wall open beside it shows the new total; the load is in the audit log; others have no such page."""

from __future__ import annotations

import shutil

import pytest
from inputs import HEADERS, query, write_csv

from dashboard import queries
from dashboard.accounts import Accounts
from dashboard.cards import build_cards
from dashboard.labels import t

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
REFRESH_SECONDS = 2
INCREMENT = "events_live.csv"
TOTAL = t("total")


@pytest.fixture(scope="module")
def db(demo_db, tmp_path_factory):
    """A copy of the demo database for this module alone: its tests publish into it."""
    folder = tmp_path_factory.mktemp("load-db")
    shutil.copyfile(demo_db, folder / demo_db.name)
    return folder / demo_db.name


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Accounts:
    store = Accounts(tmp_path_factory.mktemp("load-auth") / "accounts.sqlite")
    store.add_user("chen", PASSWORD, "steward", "50")
    store.add_user("li", PASSWORD, "viewer", "50")
    store.add_user("zhang", PASSWORD, "analyst", "50")
    return store


@pytest.fixture(scope="module")
def server_url(db, streamlit_server, store) -> str:
    return streamlit_server(
        db, env={"YIPING_ACCOUNTS": str(store.path), "YIPING_REFRESH_SECONDS": str(REFRESH_SECONDS)}
    )


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(
        '!document.querySelector(\'[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]\')',
        timeout=60_000,
    )


def sign_in(page, server_url: str, name: str) -> None:
    page.goto(server_url + "/")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector('[data-testid="stMetric"]', timeout=30_000)
    settle(page)


def shown_total(page) -> str:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return dict(zip([label.strip() for label in labels], [v.strip() for v in values], strict=True))[TOTAL]


def table_rows(page, index: int) -> list[list[str]]:
    """The cells of the page's `index`-th table, row by row."""
    rows = page.locator('[data-testid="stTable"]').nth(index).locator("tbody tr")
    return [[cell.strip() for cell in row.locator("td, th").all_inner_texts()] for row in rows.all()]


def expected_total(db) -> str:
    period = queries.default_period(db)
    current, previous = queries.kpis_with_previous(db, "50", period.start, period.end)
    return next(card.value for card in build_cards(current, previous) if card.label == TOTAL)


def test_a_steward_tries_and_publishes_an_increment_and_the_wall_shows_it(
    server_url, db, store, context, page, tmp_path
):
    grid, latest = query(db, "select grid_code, reported_at from events order by reported_at desc limit 1")[0]
    reported = latest.strftime("%Y-%m-%d %H:%M")
    increment = write_csv(
        tmp_path / INCREMENT,
        HEADERS["events"],
        [
            {"event_id": "LIVE-1", "grid_code": grid, "category": "sanitation", "source": "hotline",
             "reported_at": reported, "status": "pending"},
            {"event_id": "LIVE-2", "grid_code": grid, "category": "dispute", "source": "grid_worker",
             "reported_at": reported, "status": "pending"},
            {"event_id": "LIVE-3", "grid_code": grid, "category": "not-a-category", "source": "hotline",
             "reported_at": reported, "status": "pending"},
        ],
    )  # fmt: skip
    before = expected_total(db)

    sign_in(page, server_url, "chen")
    wall = context.new_page()  # the overview, open beside the import page
    wall.goto(server_url + "/")
    wall.wait_for_selector('[data-testid="stMetric"]', timeout=30_000)
    settle(wall)
    assert shown_total(wall) == before

    page.get_by_role("link", name=t("load_page")).click()
    page.get_by_text(t("load_files")).first.wait_for(timeout=30_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(increment))
    page.get_by_role("button", name=t("load_dry_run")).click()
    page.get_by_text(t("load_dry_run_note")).wait_for(timeout=60_000)
    settle(page)
    assert table_rows(page, 0) == [[INCREMENT, "3", "2", "1", "0"]]
    [reject] = table_rows(page, 1)
    assert reject[:4] == [INCREMENT, "4", "category", "not-a-category"]
    with page.expect_download() as download:
        page.get_by_role("button", name=t("load_rejects_download")).click()
    report = download.value.path().read_bytes()
    assert report.startswith(b"\xef\xbb\xbf") and b"not-a-category" in report
    assert query(db, "select count(*) from events where event_id like 'LIVE-%'")[0][0] == 0  # not yet

    page.get_by_role("button", name=t("load_publish")).click()
    page.get_by_text(t("load_published")).first.wait_for(timeout=60_000)
    assert query(db, "select count(*) from events where event_id like 'LIVE-%'")[0][0] == 2
    after = expected_total(db)
    assert after != before
    # the wall notices the publish by itself within a few refreshes, and marks the new events
    wall.wait_for_function(
        f"""[...document.querySelectorAll('[data-testid="stMetric"]')].some(m =>
            m.innerText.includes({TOTAL!r}) && m.innerText.includes({after!r}))""",
        timeout=30_000,
    )
    loads = [r for r in store.audit_rows() if r["action"] == "load"]
    assert [(r["account"], r["target"], r["outcome"]) for r in loads] == [("chen", INCREMENT, "ok")]
    assert [r for r in store.audit_rows() if r["action"] == "download" and r["target"] == "load:rejects"]


@pytest.mark.parametrize("name", ["li", "zhang"])
def test_no_import_page_below_steward(server_url, page, name):
    sign_in(page, server_url, name)
    navigation = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert t("overview") in navigation and t("load_page") not in navigation
    page.goto(server_url + "/load")
    page.wait_for_selector('[data-testid="stMetric"], [data-testid="stAlert"]', timeout=30_000)
    settle(page)
    assert not page.locator('[data-testid="stFileUploader"]').count()
