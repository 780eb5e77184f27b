"""The import page and its dry run: stewards only, the dry run's counts and rejects from the real
build and ingest code, nothing published until 发布, and the audit row of each publish."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from inputs import (
    HEADERS,
    build_folder,
    economy,
    event,
    house,
    load_audit,
    query,
    resident,
    write_csv,
    write_folder,
)
from streamlit.testing.v1 import AppTest

from dashboard import auth
from dashboard.access import Principal
from dashboard.filters import Filters
from dashboard.labels import t
from pipelines import dryrun
from pipelines.build import BuildError
from pipelines.dryrun import dry_run, kind_of, missing_base_tables, publish

PAGE = Path(__file__).resolve().parent.parent / "views" / "load.py"
STEWARD = Principal(name="chen", role="steward", scope="50", via="password")
ANALYST = Principal(name="zhang", role="analyst", scope="50", via="password")

# An increment: E1 changes status, E9 is new, line 4 names no grid and is rejected.
INCREMENT = [
    event(event_id="E1", status="in_progress", accepted_at="2023-06-02 09:00"),
    event(event_id="E9", reported_at="2023-06-05 10:00"),
    event(event_id="E10", grid_code="599999999999999"),
]


@pytest.fixture
def published(tmp_path) -> Path:
    """A database built from a hand-written folder of every table, two events."""
    write_folder(
        tmp_path / "input",
        {
            "residents": [resident()],
            "housing": [house()],
            "events": [event(event_id="E1"), event(event_id="E2")],
            "collective_economy": [economy()],
        },
    )
    db = tmp_path / "db" / "yiping.duckdb"
    build_folder(tmp_path / "input", db)
    return db


def increment_bytes(tmp_path: Path) -> bytes:
    return write_csv(tmp_path / "events_20240630.csv", HEADERS["events"], INCREMENT).read_bytes()


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The folder temporary files go to during the test, to see that the load leaves none."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def page(db: Path, principal: Principal) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["filters"] = Filters(
        db, "50", dt.date(2023, 1, 1), dt.date(2023, 12, 31), 2023, "zh", principal=principal
    )
    return at


@pytest.mark.parametrize(
    ("names", "kind", "missing"),
    [
        (["events_20240630.csv"], "ingest", []),
        (["events_1.csv", "events-2.xlsx"], "ingest", []),
        (["alarms_20240630.csv", "events_1.csv"], "ingest", []),
        (["regions.csv", "events.csv"], "build", ["residents", "housing", "collective_economy"]),
        (["regions.csv", "residents.csv", "housing.xlsx", "collective_economy.parquet"], "build", []),
    ],
)
def test_what_kind_of_load_a_set_of_files_is(names, kind, missing):
    assert kind_of(names) == kind
    assert missing_base_tables(names) == missing


def test_the_page_refuses_anyone_below_steward(published):
    at = page(published, ANALYST).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [t("not_authorised")]
    assert not at.get("file_uploader") and not at.button


def test_a_district_steward_may_not_load_the_citys_database(published):
    district_steward = Principal(name="wu", role="steward", scope="500101", via="password")
    at = page(published, district_steward).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [t("not_authorised")]
    assert not at.get("file_uploader") and not at.button


def test_the_dry_run_shows_the_counts_and_rejects_and_publishes_nothing(
    published, tmp_path, monkeypatch, private_tmp
):
    records = []
    monkeypatch.setattr(
        auth, "record", lambda action, target="", outcome="ok": records.append((action, outcome))
    )
    before = published.stat().st_mtime_ns
    at = page(published, STEWARD).run()
    assert not at.exception, at.exception
    at.get("file_uploader")[0].set_value(("events_20240630.csv", increment_bytes(tmp_path), "text/csv"))
    at.run()
    at.button(key="load_dry_run").click().run()
    assert not at.exception, at.exception
    counts = at.table[0].value
    assert counts.values.tolist() == [["events_20240630.csv", 3, 2, 1, 0]]
    rejects = at.table[1].value
    assert rejects[t("reject_line")].tolist() == [4]
    assert rejects[t("reject_column")].tolist() == ["grid_code"]
    assert published.stat().st_mtime_ns == before  # nothing published yet
    assert records == []
    assert not list(private_tmp.iterdir())  # the upload's copy and the trial database are gone

    at.button(key="load_publish").click().run()
    assert not at.exception, at.exception
    assert records == [("load", "ok")]
    assert load_audit(published)["events_20240630.csv"] == (3, 2, 1, 0)
    assert query(published, "select count(*) from events")[0][0] == 3
    assert query(published, "select status from events where event_id = 'E1'")[0][0] == "in_progress"
    assert not list(private_tmp.iterdir())


def test_a_base_table_set_must_be_complete(published, tmp_path):
    at = page(published, STEWARD).run()
    regions = (tmp_path / "input" / "regions.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("regions.csv", regions, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    assert any(t("load_missing_base") in e.value for e in at.error)
    assert not at.button


def test_a_dry_run_of_a_full_folder_and_the_shrink_guard(published, tmp_path):
    folder = tmp_path / "input"
    (folder / "events.csv").unlink()
    write_csv(folder / "events.csv", HEADERS["events"], [])  # every event gone: the guard's case
    result = dry_run(folder, published)
    assert result.kind == "build"
    assert {a.file: a.rows_loaded for a in result.audit}["residents.csv"] == 1
    assert result.shrink_problem and "events" in result.shrink_problem
    with pytest.raises(BuildError):
        publish(folder, published)
    assert query(published, "select count(*) from events")[0][0] == 2
    publish(folder, published, allow_shrink=True)
    assert query(published, "select count(*) from events")[0][0] == 0


def test_a_failed_publish_is_audited_and_leaves_the_database(published, tmp_path, monkeypatch, private_tmp):
    records = []
    monkeypatch.setattr(
        auth, "record", lambda action, target="", outcome="ok": records.append((action, outcome))
    )
    at = page(published, STEWARD).run()
    at.get("file_uploader")[0].set_value(("events_20240630.csv", increment_bytes(tmp_path), "text/csv"))
    at.run()
    at.button(key="load_dry_run").click().run()
    before = published.read_bytes()

    def full_disk(*args, **kwargs):
        raise BuildError("磁盘空间不足，已发布的数据库保持不变")

    monkeypatch.setattr(dryrun, "ingest", full_disk)
    at.button(key="load_publish").click().run()
    assert not at.exception, at.exception
    assert records == [("load", "failed")]
    assert [e.value for e in at.error] == [t("load_failed") + "磁盘空间不足，已发布的数据库保持不变"]
    assert published.read_bytes() == before
    assert not list(private_tmp.iterdir())  # removed on failure too


def test_a_file_that_cannot_be_read_says_why_and_offers_no_publish(published, tmp_path, private_tmp):
    at = page(published, STEWARD).run()
    headless = write_csv(tmp_path / "events_bad.csv", ["event_id", "status"], [["E1", "pending"]])
    at.get("file_uploader")[0].set_value(("events_bad.csv", headless.read_bytes(), "text/csv"))
    at.run()
    at.button(key="load_dry_run").click().run()
    assert not at.exception, at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith(t("load_dry_failed")) and "缺少必需的列" in error and "reported" in error
    assert [b.key for b in at.button] == ["load_dry_run"]
    assert not list(private_tmp.iterdir())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_speaks_both_languages(published, tmp_path, lang):
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["filters"] = Filters(
        published, "50", dt.date(2023, 1, 1), dt.date(2023, 12, 31), 2023, lang, principal=STEWARD
    )
    at.run()
    at.get("file_uploader")[0].set_value(("events_20240630.csv", increment_bytes(tmp_path), "text/csv"))
    at.run()
    at.button(key="load_dry_run").click().run()
    assert not at.exception, at.exception
    assert list(at.table[0].value.columns) == [
        t(key, lang) for key in ("load_file", "rows_read", "rows_loaded", "rows_rejected", "rows_superseded")
    ]
    assert at.button(key="load_publish").label == t("load_publish", lang)
