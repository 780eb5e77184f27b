"""物联感知 on the pages: the query layer hand-counted on a few devices and alarms, the gate's scope, the
物联感知 page and the overview's IoT strip under AppTest, and the report's IoT section, each present for a
region with devices and absent without."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from inputs import G1, G2, G5, KPI_TABLES, REGIONS, build_folder, write_folder
from streamlit.testing.v1 import AppTest
from test_iot import IOT_ALARMS, IOT_DEVICES
from test_pages import has_chinese, open_page, table_with

from dashboard import panels, queries
from dashboard.access import Principal
from dashboard.cards import build_cards, format_value
from dashboard.labels import enum_label, kpi_label, t
from dashboard.queries import OPERATOR, Gate, OutOfScope
from dashboard.report import IOT_KPI_ROWS, build_report
from pipelines.contract import DEVICES

YEAR = ("2023-01-01", "2023-12-31")
PILOT = "500103"  # 渝中区: devices in every community of the demo
NO_SENSORS = "500153"  # 荣昌区: none
IOT_CARDS = (
    ("iot", "devices", "count", 0),
    ("iot", "online_share", "rate", 1),
    ("iot", "alarms", "count", 0),
    ("iot", "handled_rate", "rate", 1),
    ("iot", "median_minutes_to_handle", "minutes", -1),
    ("iot", "false_alarm_share", "rate", -1),
    ("iot", "open_alarms", "count", -1),
    ("iot", "escalated", "count", 0),
)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """The hand-counted devices and alarms of test_iot.py on the fixed regions of tests/inputs.py."""
    root = tmp_path_factory.mktemp("iot_pages")
    write_folder(root / "input", KPI_TABLES | {"devices": IOT_DEVICES, "alarms": IOT_ALARMS})
    return build_folder(root / "input", root / "yiping.duckdb").db_path


# ------------------------------------------------------------------------------ the query layer


def test_alarms_by_type_hand_counted(db):
    # 2023: smoke A1 A2 (10, 30 min, both false); door A3 (60, confirmed, event); bin A4 open, A8 (90,
    # confirmed); high-throw A5 (20, confirmed, event); parking A6 (40, no outcome)
    frame = queries.alarms_by_type(db, "50", *YEAR).set_index("device_type")
    assert frame["alarms"].to_dict() == {
        "smoke_detector": 2, "bin_sensor": 2, "door_access": 1, "high_throw_camera": 1, "parking_sensor": 1,
    }  # fmt: skip
    smoke, bins = frame.loc["smoke_detector"], frame.loc["bin_sensor"]
    assert (smoke["median_minutes"], smoke["p90_minutes"]) == pytest.approx((20.0, 10 + 0.9 * 20))
    assert smoke["false_alarm_share"] == 1.0 and smoke["escalated"] == 0
    assert (bins["handled"], bins["open_alarms"], bins["handled_rate"]) == (1, 1, 0.5)
    assert bins["median_minutes"] == bins["p90_minutes"] == 90.0
    assert frame.loc["door_access", "escalated_share"] == 1.0
    assert pd.isna(frame.loc["parking_sensor", "false_alarm_share"])  # handled, but without an outcome
    iot = queries.kpis(db, "50", *YEAR)["iot"]
    assert frame["alarms"].sum() == iot["alarms"]
    assert frame["handled"].sum() == iot["handled"]
    assert frame["escalated"].sum() == iot["escalated"]
    assert frame["false_alarms"].sum() / frame["verified"].sum() == pytest.approx(iot["false_alarm_share"])


def test_alarms_over_time_and_by_hour_hand_counted(db):
    months = queries.alarms_over_time(db, "50", *YEAR)
    assert {(str(r.day)[:7], r.device_type, r.alarms) for r in months.itertuples()} == {
        ("2023-03", "smoke_detector", 2), ("2023-05", "door_access", 1), ("2023-06", "bin_sensor", 2),
        ("2023-07", "high_throw_camera", 1), ("2023-12", "parking_sensor", 1),
    }  # fmt: skip
    days = queries.alarms_over_time(db, "50", "2023-06-01", "2023-06-30")  # short: by day
    assert [(str(r.day)[:10], r.alarms) for r in days.itertuples()] == [("2023-06-01", 2)]
    hours = queries.alarms_by_hour(db, "50", *YEAR)
    assert dict(zip(hours["hour"], hours["alarms"], strict=True)) == {
        8: 1,
        10: 1,
        12: 1,
        19: 1,
        20: 1,
        22: 1,
        23: 1,
    }
    only_smoke = queries.alarms_by_hour(db, "50", *YEAR, device_type="smoke_detector")
    assert list(only_smoke["hour"]) == [8, 12]


def test_open_alarms_noisy_devices_and_children_hand_counted(db):
    waiting = queries.open_alarms(db, "50", *YEAR)
    assert list(waiting["alarm_id"]) == ["A4"]
    assert int(waiting["total"].iloc[0]) == queries.kpis(db, "50", *YEAR)["iot"]["open_alarms"] == 1
    # aged at the newest alarm (A6, 2023-12-31 23:50), the data ending before the period does
    age = (dt.datetime(2023, 12, 31, 23, 50) - dt.datetime(2023, 6, 1, 19, 0)).total_seconds() / 60
    assert waiting["age_minutes"].iloc[0] == pytest.approx(age)
    noisy = queries.noisy_devices(db, "50", *YEAR)
    assert list(noisy["device_id"]) == ["D1"] and noisy["false_alarms"].iloc[0] == 2
    children = queries.iot_by_child(db, "50", *YEAR)
    assert list(children["code"]) == ["500101"]  # 500102 has no devices: not listed
    for column in ("devices", "alarms", "open_alarms", "escalated"):
        assert children[column].iloc[0] == queries.kpis(db, "500101", *YEAR)["iot"][column], column
    townships = queries.iot_by_child(db, "500101", *YEAR).set_index("code")
    assert townships["alarms"].to_dict() == {"500101001": 6, "500101002": 1}
    points = queries.alarm_points(db, "50", *YEAR)
    assert points["alarms"].sum() == 7 and points["open_alarms"].sum() == 1
    mix = queries.device_mix(db, "50")
    assert mix["devices"].sum() == len(IOT_DEVICES)  # the retired one too, as its own status
    assert queries.device_points(db, G1)["device_id"].tolist() == ["D1", "D2"]
    assert queries.device_points(db, G5).empty


def test_the_gate_confines_the_iot_questions(db):
    elsewhere = Gate(Principal("other", "analyst", "500102", "password"))
    for name, args in (
        ("open_alarms", ("500101", *YEAR)),
        ("alarms_by_type", ("500101", *YEAR)),
        ("device_points", ("500101",)),
        ("alarm_points", ("50", *YEAR)),
    ):
        with pytest.raises(OutOfScope):
            elsewhere.ask(name, db, *args)
    assert elsewhere.ask("iot_by_child", db, "500102", *YEAR).empty
    assert Gate(OPERATOR).ask("open_alarms", db, "500101", *YEAR)["alarm_id"].tolist() == ["A4"]


# ------------------------------------------------------------------------------ the 物联感知 page


def expected_cards(db, code: str, lang: str) -> list[tuple]:
    period = queries.default_period(db)
    current, previous = Gate(OPERATOR).ask("kpis_with_previous", db, code, period.start, period.end)
    return [(c.label, c.value, c.delta or "") for c in build_cards(current, previous, lang, IOT_CARDS)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_iot_page_agrees_with_kpis(demo_db, monkeypatch, lang):
    at = open_page(demo_db, monkeypatch, "iot", region=PILOT, lang=lang)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert [(m.label, m.value, m.delta) for m in at.metric][: len(IOT_CARDS)] == expected_cards(
        demo_db, PILOT, lang
    )
    # devices are a snapshot: no change against the compared period
    assert [m.delta for m in at.metric][:2] == ["", ""]
    subheaders = [h.value for h in at.subheader]
    for key in ("device_map", "devices_by_type", "alarms_over_time", "alarms_by_hour", "minutes_by_type",
                "false_alarms_by_type", "noisy_devices", "open_alarm_list"):  # fmt: skip
        assert t(key, lang) in subheaders, key
    period = queries.default_period(demo_db)
    iot = queries.kpis(demo_db, PILOT, period.start, period.end)["iot"]
    over_time = table_with(at, t("month", lang), t("device_type", lang), kpi_label("alarms", lang))
    assert over_time[kpi_label("alarms", lang)].sum() == iot["alarms"]
    by_hour = table_with(at, t("hour", lang), kpi_label("alarms", lang))
    assert by_hour[kpi_label("alarms", lang)].sum() == iot["alarms"]
    by_type = table_with(at, t("device_type", lang), t("median_minutes", lang), t("p90_minutes", lang))
    assert by_type[kpi_label("escalated", lang)].sum() == iot["escalated"]
    assert set(by_type[t("device_type", lang)]) <= {
        enum_label(c, lang) for c in DEVICES.column("device_type").enum
    }
    waiting = table_with(at, t("alarm_id", lang), t("age", lang))
    assert len(waiting) == min(iot["open_alarms"], 20)
    assert any(str(iot["open_alarms"]) in c.value for c in at.caption)
    assert at.query_params["region"] == PILOT
    if lang == "en":
        texts = [m.label for m in at.metric] + subheaders + [i.value for i in at.info]
        texts += [str(c) for f in at.dataframe for c in f.value.columns]
        assert not [text for text in texts if has_chinese(text)]
    tables = [e for e in at.expander if e.label == t("data_table", lang)]
    assert len(tables) == len(at.get("plotly_chart")) + len(at.get("deck_gl_json_chart"))


def test_the_iot_page_filters_by_device_type_in_the_url(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "iot", region=PILOT, device_type="smoke_detector")
    assert not at.exception, at.exception
    assert at.query_params["device_type"] == "smoke_detector"
    assert t("iot_cards_all_types") in [c.value for c in at.caption]
    by_hour = table_with(at, t("hour"), kpi_label("alarms"))
    assert set(by_hour[t("device_type")]) == {enum_label("smoke_detector")}
    period = queries.default_period(demo_db)
    smoke = queries.alarms_by_type(demo_db, PILOT, period.start, period.end).set_index("device_type")
    assert by_hour[kpi_label("alarms")].sum() == smoke.loc["smoke_detector", "alarms"]


@pytest.fixture(scope="module")
def pilot_grid(demo_db) -> str:
    """The pilot's grid with the most alarms."""
    period = queries.default_period(demo_db)
    points = queries.alarm_points(demo_db, PILOT, period.start, period.end)
    devices = queries.device_points(demo_db, PILOT).merge(points[["device_id", "alarms"]], on="device_id")
    grids = (
        queries.cursor(demo_db)
        .execute(
            "select device_id, grid_code from devices where device_id in (select unnest(?::varchar[]))",
            [list(devices["device_id"])],
        )
        .df()
    )
    return str(devices.merge(grids, on="device_id").groupby("grid_code")["alarms"].sum().idxmax())


@pytest.mark.parametrize("level", ["city", "community", "grid"])
def test_the_iot_page_runs_at_every_level(demo_db, monkeypatch, pilot_grid, level):
    code = {"city": "50", "community": pilot_grid[:12], "grid": pilot_grid}[level]
    at = open_page(demo_db, monkeypatch, "iot", region=code)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert [(m.label, m.value, m.delta) for m in at.metric][: len(IOT_CARDS)] == expected_cards(
        demo_db, code, "zh"
    )
    assert at.get("deck_gl_json_chart") and at.get("plotly_chart")


def test_a_region_without_devices_says_so(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "iot", region=NO_SENSORS)
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == [t("no_devices")]
    assert not at.get("plotly_chart") and not at.get("deck_gl_json_chart")


# ------------------------------------------------------------------------------ the overview's strip


def strip_html(at: AppTest) -> str:
    return " ".join(h.proto.body for h in at.get("html") if "yp-iot" in h.proto.body)


def test_the_overview_strip_shows_the_kpis_of_a_region_with_devices(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "overview", region=PILOT)
    assert not at.exception, at.exception
    strip = strip_html(at)
    period = queries.default_period(demo_db)
    current = queries.kpis(demo_db, PILOT, period.start, period.end)
    today = queries.kpis(demo_db, PILOT, period.end, period.end)
    shown = dict(re.findall(r'data-key="(\w+)".*?yp-iot-value">([^<]*)<', strip))
    assert shown == {
        "alarms_today": format_value("count", today["iot"]["alarms"], "zh"),
        "alarms": format_value("count", current["iot"]["alarms"], "zh"),
        "open_alarms": format_value("count", current["iot"]["open_alarms"], "zh"),
        "handled_rate": format_value("rate", current["iot"]["handled_rate"], "zh"),
    }
    for label in (
        t("alarms_today"),
        kpi_label("alarms"),
        kpi_label("open_alarms"),
        kpi_label("handled_rate"),
    ):
        assert label in strip
    newest = queries.open_alarms(demo_db, PILOT, period.start, period.end, limit=panels.IOT_STRIP_ALARMS)
    assert strip.count("<tr>") == len(newest) + 1  # the head and each alarm
    assert t("alarm_points") in [w.label for w in at.toggle]
    # the alarm points are on the map, a layer of their own
    assert '"id": "alarm_points"' in at.get("deck_gl_json_chart")[0].proto.json


def test_the_overview_without_devices_has_no_strip(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "overview", region=NO_SENSORS)
    assert not at.exception, at.exception
    assert strip_html(at) == ""
    assert t("alarm_points") not in [w.label for w in at.toggle]
    assert "alarm_points" not in at.get("deck_gl_json_chart")[0].proto.json


def test_the_alarm_points_switch_takes_them_off_the_map(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "overview", region=PILOT)
    [switch] = [w for w in at.toggle if w.label == t("alarm_points")]
    switch.set_value(False).run()
    assert not at.exception, at.exception
    assert "alarm_points" not in at.get("deck_gl_json_chart")[0].proto.json


# ------------------------------------------------------------------------------------ the report


def test_the_report_has_an_iot_section_only_where_there_are_devices(demo_db):
    period = queries.default_period(demo_db)
    model = build_report(demo_db, PILOT, period.start, period.end)
    iot = queries.kpis(demo_db, PILOT, period.start, period.end)["iot"]
    [section] = [s for s in model["sections"] if s["key"] == "iot"]
    assert section["title"] == t("iot_page")
    assert {c.key for c in section["charts"]} == {"iot_devices", "iot_over_time", "iot_minutes", "iot_shares"}
    rows = {row["key"]: row for row in model["kpi_rows"] if row["domain_key"] == "iot"}
    assert list(rows) == [key for _, key, _ in IOT_KPI_ROWS]
    for key, value in iot.items():
        assert rows[key]["current"] == value, key
    assert any(sentence.startswith("物联感知") for sentence in model["summary"])

    without = build_report(demo_db, NO_SENSORS, period.start, period.end)
    assert "iot" not in [s["key"] for s in without["sections"]]
    assert not [row for row in without["kpi_rows"] if row["domain_key"] == "iot"]
    assert not any(sentence.startswith("物联感知") for sentence in without["summary"])


def test_the_strip_shows_a_place_name_as_text(tmp_path, monkeypatch):
    """A community named like markup is written out in the strip's list of open alarms, never run."""
    named = "<img src=x onerror=alert(1)>社区"
    regions = [r | {"name": named} if r["code"] == G2[:12] else r for r in REGIONS]
    write_folder(
        tmp_path / "input", KPI_TABLES | {"regions": regions, "devices": IOT_DEVICES, "alarms": IOT_ALARMS}
    )
    db = build_folder(tmp_path / "input", tmp_path / "yiping.duckdb").db_path
    admin = Principal("admin", "admin", "50", "password")
    at = open_page(
        db, monkeypatch, "overview", principal=admin, region="500101", **{"from": YEAR[0], "to": YEAR[1]}
    )
    assert not at.exception, at.exception
    strip = strip_html(at)
    assert html.escape(named) in strip  # A4, open, on a device of G2
    assert "<img" not in strip


def test_the_iot_page_keeps_to_the_scope(demo_db, monkeypatch):
    """A link to the pilot from a 荣昌区 account: 无权查看 and no figure of it; a viewer gets no download."""
    rongchang = Principal("rongchang", "analyst", NO_SENSORS, "password")
    at = open_page(demo_db, monkeypatch, "iot", rongchang, region=PILOT)
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [t("out_of_scope") + PILOT]
    assert not at.metric and not at.get("plotly_chart") and not at.get("deck_gl_json_chart")
    assert not at.dataframe
    viewer = Principal("wall", "viewer", PILOT, "password")
    at = open_page(demo_db, monkeypatch, "iot", viewer, region=PILOT)
    assert not at.exception, at.exception
    assert at.get("plotly_chart") and not at.get("download_button")


def test_the_map_colours_a_region_with_devices_by_its_alarms(demo_db, monkeypatch):
    """Alarms are a metric of the map where there are devices: each child's count as iot_by_child gives
    it, in its hover text; a region without devices does not offer it, even after it was chosen."""
    at = open_page(demo_db, monkeypatch, "overview", region=PILOT)
    assert at.session_state["overview_map_metric"] == "events"
    at.session_state["overview_map_metric"] = "alarms"
    at.run()
    assert not at.exception, at.exception
    deck = json.dumps(json.loads(at.get("deck_gl_json_chart")[0].proto.json), ensure_ascii=False)
    period = queries.default_period(demo_db)
    counted = queries.iot_by_child(demo_db, PILOT, period.start, period.end)
    busiest = counted.sort_values("alarms").iloc[-1]
    assert f"{kpi_label('alarms')}: {format_value('count', busiest['alarms'], 'zh')}" in deck
    assert f"{t('metric_alarms')}（{t('unit_alarms')}）" in " ".join(h.proto.body for h in at.get("html"))

    elsewhere = open_page(demo_db, monkeypatch, "overview", region=NO_SENSORS)
    elsewhere.session_state["overview_map_metric"] = "alarms"  # as a drill from the pilot leaves it
    elsewhere.run()
    assert not elsewhere.exception, elsewhere.exception
    deck = json.dumps(json.loads(elsewhere.get("deck_gl_json_chart")[0].proto.json), ensure_ascii=False)
    assert t("metric_alarms") not in deck
