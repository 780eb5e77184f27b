"""Malformed files uploaded on the import page in a real browser: the dry run names the file and its
problem (or lists the rejected rows), the page shows no traceback, and the database stays as it was."""

from __future__ import annotations

import pytest
from inputs import KPI_TABLES, build_folder, write_folder
from test_fuzz import CASES_BY_ID, content, published_state

from dashboard.accounts import Accounts
from dashboard.labels import t

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
# A handful of the command-line cases, one of each reader and the value rules.
BROWSER_CASES = ["damaged_xlsx", "mixed_encodings", "nul_past_sample", "damaged_parquet", "far_years"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-page")
    db = folder / "data" / "yiping.duckdb"
    build_folder(write_folder(folder / "input", KPI_TABLES), db)
    return db


@pytest.fixture(scope="module")
def server_url(db, streamlit_server, tmp_path_factory) -> str:
    store = Accounts(tmp_path_factory.mktemp("fuzz-auth") / "accounts.sqlite")
    store.add_user("chen", PASSWORD, "steward", "50")
    return streamlit_server(db, env={"YIPING_ACCOUNTS": str(store.path)})


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(
        '!document.querySelector(\'[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]\')',
        timeout=60_000,
    )


@pytest.mark.parametrize("case_id", BROWSER_CASES)
def test_a_malformed_upload_ends_in_a_message_or_rejects(
    case_id, server_url, db, page, tmp_path, artifacts_dir
):
    case = CASES_BY_ID[case_id]
    upload = tmp_path / case.increment_name
    upload.write_bytes(content(case))
    before = published_state(db)

    page.goto(server_url + "/")
    page.get_by_label("用户名").fill("chen")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    settle(page)
    page.get_by_role("link", name=t("load_page")).click()
    page.get_by_text(t("load_files")).first.wait_for(timeout=60_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_role("button", name=t("load_dry_run")).click()
    # the dry run's failure, its result, or the page's own error (an exception the page did not expect)
    failed, tried = page.get_by_text(t("load_dry_failed")), page.get_by_text(t("load_dry_run_note"))
    broken = page.get_by_text(t("page_error")).or_(page.locator('[data-testid="stException"]'))
    outcome = failed.or_(tried).or_(broken)
    outcome.first.wait_for(timeout=120_000)
    settle(page)
    page.screenshot(path=str(artifacts_dir / f"fuzz-{case_id}.png"), full_page=True)

    assert broken.count() == 0, "the page failed instead of naming the file"
    assert page.locator('[data-testid="stProgress"]').count() == 0, (
        "the bar still says the dry run is running"
    )
    assert "Traceback" not in page.locator("body").inner_text()
    if case.problem:
        [alert] = [
            a for a in page.locator('[data-testid="stAlert"]').all_inner_texts() if t("load_dry_failed") in a
        ]
        assert f"{upload.name}: " in alert
        for words in case.problem:
            assert words in alert
    else:
        rows = page.locator('[data-testid="stTable"]').nth(1).locator("tbody tr")
        shown = [[cell.strip() for cell in row.locator("td, th").all_inner_texts()] for row in rows.all()]
        assert [(int(r[1]), r[2]) for r in shown] == [(line, column) for line, column, _ in case.rejects]
    assert published_state(db) == before, "a dry run changed the published database"
