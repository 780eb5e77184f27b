"""The overview page under AppTest: every KPI card shows what `kpis` returns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, queries
from dashboard.access import Principal
from dashboard.cards import OVERVIEW_CARDS, build_cards
from dashboard.labels import enum_label, kpi_label, t
from dashboard.queries import OPERATOR, Gate

APP = Path(__file__).resolve().parent.parent / "app.py"


def run_overview(db, monkeypatch, principal: Principal | None = None, **params) -> AppTest:
    """Run app.py (the overview is the default page) with the given URL parameters, as `principal`."""
    monkeypatch.setenv("YIPING_DB", str(db))
    if principal is not None:
        monkeypatch.setattr(auth, "principal", lambda: principal)
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def a_grid(db) -> str:
    """A grid that has events."""
    cur = queries.cursor(db)
    try:
        return cur.execute(
            "select grid_code from events group by 1 order by count(*) desc limit 1"
        ).fetchall()[0][0]
    finally:
        cur.close()


@pytest.mark.parametrize(
    "region, period, lang",
    [
        ("50", None, "zh"),
        ("500153", ("2023-01-01", "2023-12-31"), "zh"),
        ("500153001", ("2024-01-01", "2024-06-30"), "zh"),
        ("grid", ("2023-01-01", "2024-12-31"), "zh"),
        ("500103", ("2024-01-01", "2024-12-31"), "en"),
    ],
)
def test_cards_show_the_kpis(demo_db, monkeypatch, region, period, lang):
    code = a_grid(demo_db) if region == "grid" else region
    params = {"region": code, "lang": lang}
    if period:
        params.update({"from": period[0], "to": period[1]})
    at = run_overview(demo_db, monkeypatch, **params)
    assert not at.exception, at.exception
    start, end = period or (queries.default_period(demo_db).start, queries.default_period(demo_db).end)
    # as the gate lets them through: in a grid, small counts are hidden (SPEC section 7)
    current, previous = Gate(OPERATOR).ask("kpis_with_previous", demo_db, code, start, end)
    expected = build_cards(current, previous, lang)
    shown = [(m.label, m.value, m.delta) for m in at.metric]
    assert shown == [(c.label, c.value, c.delta or "") for c in expected]
    assert [m.label for m in at.metric] == [kpi_label(key, lang) for _, key, _, _ in OVERVIEW_CARDS]


def test_period_with_no_data_says_so(demo_db, monkeypatch):
    at = run_overview(demo_db, monkeypatch, region="500153", **{"from": "2010-01-01", "to": "2010-12-31"})
    assert not at.exception
    assert {m.label: m.value for m in at.metric}[kpi_label("total")] == "0"
    assert any(t("no_events") in info.value for info in at.info)


def test_unknown_region_is_a_message_not_a_traceback(demo_db, monkeypatch):
    at = run_overview(demo_db, monkeypatch, region="500199")
    assert not at.exception
    assert any("500199" in error.value for error in at.error)


def test_missing_database_is_a_message(tmp_path, monkeypatch):
    at = run_overview(tmp_path / "nothing.duckdb", monkeypatch)
    assert not at.exception
    assert any(t("no_database") in error.value for error in at.error)


def test_a_file_that_is_not_a_database_is_a_message(tmp_path, monkeypatch):
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"not a database at all")
    at = run_overview(broken, monkeypatch)
    assert not at.exception
    assert at.error


def test_english_switches_every_label(demo_db, monkeypatch):
    at = run_overview(demo_db, monkeypatch, lang="en")
    assert not at.exception
    texts = [m.label for m in at.metric] + [h.value for h in at.subheader]
    assert texts and not any("\u4e00" <= ch <= "\u9fff" for text in texts for ch in text)


def test_url_carries_the_filters_back(demo_db, monkeypatch):
    at = run_overview(demo_db, monkeypatch, region="500153", **{"from": "2023-01-01", "to": "2023-12-31"})
    assert at.query_params["region"] == "500153"
    assert at.query_params["from"] == "2023-01-01"
    assert at.query_params["to"] == "2023-12-31"
    assert at.query_params["year"] == "2023"
    assert at.query_params["lang"] == "zh"


def test_scope_confines_the_page(demo_db, monkeypatch):
    monkeypatch.setenv("YIPING_SCOPE", "500153")
    at = run_overview(demo_db, monkeypatch, region="500103")
    assert not at.exception
    assert [e.value for e in at.error] == [t("out_of_scope") + "500103"]
    assert not at.metric and not at.dataframe and not at.get("deck_gl_json_chart")


def test_a_district_official_ranks_the_districts_townships(demo_db, monkeypatch):
    official = Principal("rongchang", "viewer", "500153", "password")
    at = run_overview(demo_db, monkeypatch, official)
    assert not at.exception, at.exception
    assert at.query_params["region"] == "500153"
    [ranking] = [frame.value for frame in at.dataframe if t("region") in frame.value.columns]
    townships = queries.children(demo_db, "500153")["name"]
    assert sorted(ranking[t("region")]) == sorted(townships) and len(townships) > 1


def test_rotation_stays_within_the_scope(demo_db, monkeypatch):
    township = str(queries.children(demo_db, "500153")["code"].iloc[0])
    official = Principal("town", "viewer", township, "password")
    at = run_overview(demo_db, monkeypatch, official, rotate="30", kiosk="1")
    assert not at.exception, at.exception
    first = queries.children(demo_db, township)["name"].iloc[0]
    assert f"{t('overview')} · {first}" in " ".join(str(h.proto) for h in at.get("html"))
    at = run_overview(demo_db, monkeypatch, official, rotate="30", kiosk="1", region="500153")
    assert [e.value for e in at.error] == [t("out_of_scope") + "500153"]
    assert not at.metric


def test_demo_label_and_publication_time(demo_db, monkeypatch):
    at = run_overview(demo_db, monkeypatch)
    bar = " ".join(str(h.proto) for h in at.get("html"))
    assert t("demo_data") in bar and t("published_at") in bar


def event_sheet(at: AppTest):
    [sheet] = [frame.value for frame in at.dataframe if t("overdue") in frame.value.columns]
    return sheet


def test_overdue_events_stand_out_at_the_top_of_the_sheet(demo_db, monkeypatch):
    at = run_overview(demo_db, monkeypatch, region="500153")
    assert not at.exception, at.exception
    overdue = event_sheet(at)[t("overdue")].tolist()
    assert "⚠ " + t("overdue") in overdue
    assert overdue == sorted(overdue, reverse=True)  # every overdue row above every other
    assert set(event_sheet(at)[t("new_mark")]) == {""}  # nothing to compare with on the first look


def test_the_sheet_marks_events_a_publish_added_or_changed(tmp_path, monkeypatch):
    from inputs import HEADERS, build_folder, event, write_csv, write_folder

    from pipelines.ingest import ingest

    write_folder(tmp_path / "input", {"events": [event(event_id="E1"), event(event_id="E2")]})
    db = tmp_path / "db" / "yiping.duckdb"
    build_folder(tmp_path / "input", db)
    at = run_overview(db, monkeypatch, Principal("chen", "viewer", "50", "password"))
    assert not at.exception, at.exception
    assert set(event_sheet(at)[t("new_mark")]) == {""}
    increment = [
        event(event_id="E2", status="in_progress"),
        event(event_id="E3", reported_at="2023-06-02 09:00"),
    ]
    ingest(write_csv(tmp_path / "events_1.csv", HEADERS["events"], increment), db, today=dt.date(2024, 6, 30))
    at.run()
    assert not at.exception, at.exception
    sheet = event_sheet(at)
    marked = dict(zip(sheet[t("status")], sheet[t("new_mark")], strict=True))
    assert sorted(sheet[t("new_mark")]) == ["", t("new_mark"), t("new_mark")]
    assert marked[enum_label("in_progress")] == t("new_mark")


def test_snapshot_cards_show_no_change(demo_db):
    """A snapshot (residents, households, housing) has no earlier value: its card shows no change at all,
    while a figure of the period does."""
    period = queries.default_period(demo_db)
    current, previous = queries.kpis_with_previous(demo_db, "500153", period.start, period.end)
    spec = (
        ("population", "residents", "count", 0),
        ("population", "elderly_share", "rate", 0),
        ("housing", "units", "count", 0),
        ("housing", "rental_share", "rate", 0),
        ("events", "total", "count", 0),
        ("events", "resolution_rate", "rate", 1),
    )
    cards = {card.key: card for card in build_cards(current, previous, "zh", spec)}
    for key in ("residents", "elderly_share", "units", "rental_share"):
        assert cards[key].delta is None, key
        assert t("snapshot_no_change") in cards[key].help, key
    assert cards["total"].delta is not None and cards["resolution_rate"].delta is not None
    # devices are a snapshot too, alarms are counted in the period
    assert queries.is_snapshot("iot", "devices") and queries.is_snapshot("iot", "online_share")
    assert not queries.is_snapshot("iot", "alarms") and not queries.is_snapshot("events", "total")
