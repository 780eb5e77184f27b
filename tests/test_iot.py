"""The iot block of the KPI object (SPEC section 6): hand-counted, against pandas on the demo at every
level, without sensors at all, and as the `kpi` command prints it."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from inputs import (
    G1,
    G2,
    G3,
    G4,
    G5,
    KPI_TABLES,
    alarm,
    build_folder,
    device,
    load_audit,
    query,
    rejects,
    run_cli,
    write_folder,
)

from bench import reference
from dashboard import queries
from dashboard.queries import kpis

# Devices on the fixed regions of tests/inputs.py; none in 500102.
IOT_DEVICES = [
    device(device_id="D1", grid_code=G1, device_type="smoke_detector", status="online"),
    device(device_id="D2", grid_code=G1, device_type="door_access", status="offline"),
    device(device_id="D3", grid_code=G2, device_type="bin_sensor", status="online"),
    device(device_id="D4", grid_code=G3, device_type="high_throw_camera", status="retired"),
    device(device_id="D5", grid_code=G4, device_type="parking_sensor", status="online"),
]
IOT_ALARMS = [
    alarm(alarm_id="A1", device_id="D1", raised_at="2023-03-01 08:00", status="handled",
          handled_at="2023-03-01 08:10", outcome="false_alarm"),  # 10 minutes
    alarm(alarm_id="A2", device_id="D1", raised_at="2023-03-02 12:00", status="handled",
          handled_at="2023-03-02 12:30", outcome="false_alarm"),  # 30
    alarm(alarm_id="A3", device_id="D2", raised_at="2023-05-01 22:00", status="handled",
          handled_at="2023-05-01 23:00", outcome="confirmed", event_id="E3"),  # 60
    alarm(alarm_id="A4", device_id="D3", raised_at="2023-06-01 19:00", status="open"),
    # an alarm of a device retired since: counted where the device was
    alarm(alarm_id="A5", device_id="D4", raised_at="2023-07-01 10:00", status="handled",
          handled_at="2023-07-01 10:20", outcome="confirmed", event_id="E7"),  # 20
    # handled the next day, without an outcome
    alarm(alarm_id="A6", device_id="D5", raised_at="2023-12-31 23:50", status="handled",
          handled_at="2024-01-01 00:30"),  # 40
    alarm(alarm_id="A7", device_id="D5", raised_at="2022-12-31 23:00", status="handled",
          handled_at="2022-12-31 23:05", outcome="false_alarm"),  # 5, in 2022
    # open, then handled: the later row stands
    alarm(alarm_id="A8", device_id="D3", raised_at="2023-06-01 20:00", status="open"),
    alarm(alarm_id="A8", device_id="D3", raised_at="2023-06-01 20:00", status="handled",
          handled_at="2023-06-01 21:30", outcome="confirmed"),  # 90
]  # fmt: skip
NO_IOT = {
    "devices": 0, "online_share": None, "alarms": 0, "handled": 0, "handled_rate": None,
    "median_minutes_to_handle": None, "false_alarm_share": None, "open_alarms": 0, "escalated": 0,
}  # fmt: skip
# Counted by hand. Devices not retired: D1 D2 D3 D5, online D1 D3 D5. Alarms raised in 2023: A1 A2 A3 A4
# A5 A6 A8; handled all but A4, in 10 30 60 20 40 90 minutes; with an outcome A1 A2 A3 A5 A8, false A1 A2.
CITY_2023 = {
    "devices": 4, "online_share": 3 / 4, "alarms": 7, "handled": 6, "handled_rate": 6 / 7,
    "median_minutes_to_handle": (30 + 40) / 2, "false_alarm_share": 2 / 5, "open_alarms": 1, "escalated": 2,
}  # fmt: skip
IOT_CASES = [
    ("50", "2023-01-01", "2023-12-31", CITY_2023),
    ("500101", "2023-01-01", "2023-12-31", CITY_2023),
    ("50", "2022-01-01", "2022-12-31", CITY_2023 | {
        "alarms": 1, "handled": 1, "handled_rate": 1.0, "median_minutes_to_handle": 5.0,
        "false_alarm_share": 1.0, "open_alarms": 0, "escalated": 0}),
    # no alarms in 2024 (A6 was raised on the last minutes of 2023): the devices stay, a snapshot
    ("50", "2024-01-01", "2024-12-31", NO_IOT | {"devices": 4, "online_share": 3 / 4}),
    # one day: A4 open and A8 handled in 90 minutes
    ("50", "2023-06-01", "2023-06-01", CITY_2023 | {
        "alarms": 2, "handled": 1, "handled_rate": 1 / 2, "median_minutes_to_handle": 90.0,
        "false_alarm_share": 0.0, "escalated": 0}),
    # township 500101001: G1 G2 G3, so not D5 nor A6
    ("500101001", "2023-01-01", "2023-12-31", {
        "devices": 3, "online_share": 2 / 3, "alarms": 6, "handled": 5, "handled_rate": 5 / 6,
        "median_minutes_to_handle": 30.0, "false_alarm_share": 2 / 5, "open_alarms": 1, "escalated": 2}),
    ("500101002", "2023-01-01", "2023-12-31", {
        "devices": 1, "online_share": 1.0, "alarms": 1, "handled": 1, "handled_rate": 1.0,
        "median_minutes_to_handle": 40.0, "false_alarm_share": None, "open_alarms": 0, "escalated": 0}),
    # community 500101001001: G1 G2
    ("500101001001", "2023-01-01", "2023-12-31", {
        "devices": 3, "online_share": 2 / 3, "alarms": 5, "handled": 4, "handled_rate": 4 / 5,
        "median_minutes_to_handle": (30 + 60) / 2, "false_alarm_share": 2 / 4, "open_alarms": 1,
        "escalated": 1}),
    (G1, "2023-01-01", "2023-12-31", {
        "devices": 2, "online_share": 1 / 2, "alarms": 3, "handled": 3, "handled_rate": 1.0,
        "median_minutes_to_handle": 30.0, "false_alarm_share": 2 / 3, "open_alarms": 0, "escalated": 1}),
    # G3's only device is retired: no devices, but its alarm of July counts
    (G3, "2023-01-01", "2023-12-31", {
        "devices": 0, "online_share": None, "alarms": 1, "handled": 1, "handled_rate": 1.0,
        "median_minutes_to_handle": 20.0, "false_alarm_share": 0.0, "open_alarms": 0, "escalated": 1}),
    ("500102", "2023-01-01", "2023-12-31", NO_IOT),
    (G5, "2023-01-01", "2023-12-31", NO_IOT),
]  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """The database built from KPI_TABLES with IOT_DEVICES and IOT_ALARMS."""
    root = tmp_path_factory.mktemp("iot")
    write_folder(root / "input", KPI_TABLES | {"devices": IOT_DEVICES, "alarms": IOT_ALARMS})
    return build_folder(root / "input", root / "yiping.duckdb").db_path


@pytest.mark.parametrize(("region", "start", "end", "expected"), IOT_CASES)
def test_iot_kpis(db, region, start, end, expected):
    assert kpis(db, region, start, end)["iot"] == expected


def test_a_repeated_alarm_counts_as_superseded(db):
    assert load_audit(db)["devices.csv"] == (5, 5, 0, 0)
    assert load_audit(db)["alarms.csv"] == (9, 8, 0, 1)


def test_the_other_blocks_do_not_change_with_sensors(db, tmp_path):
    """Devices and alarms add a block; every other figure is that of the same input without them."""
    write_folder(tmp_path / "input", KPI_TABLES)
    without = build_folder(tmp_path / "input", tmp_path / "yiping.duckdb").db_path
    for region in ("50", "500101001", G1):
        ours = kpis(db, region, "2023-01-01", "2023-12-31")
        theirs = kpis(without, region, "2023-01-01", "2023-12-31")
        assert {k: v for k, v in ours.items() if k != "iot"} == {
            k: v for k, v in theirs.items() if k != "iot"
        }


# ----------------------------------------------------------------------------- a city without sensors


def test_a_city_without_sensors_builds_and_answers_zeros(tmp_path):
    write_folder(tmp_path / "input", KPI_TABLES)
    db = build_folder(tmp_path / "input", tmp_path / "yiping.duckdb").db_path
    assert not {"devices.csv", "alarms.csv"} & set(load_audit(db))
    assert query(db, "select (select count(*) from devices), (select count(*) from alarms)") == [(0, 0)]
    for region in ("50", "500101", G1):
        assert kpis(db, region, "2023-01-01", "2023-12-31")["iot"] == NO_IOT


def test_alarms_without_devices_are_rejected_and_the_rest_loads(tmp_path):
    write_folder(tmp_path / "input", KPI_TABLES | {"alarms": IOT_ALARMS[:2]})
    db = build_folder(tmp_path / "input", tmp_path / "yiping.duckdb").db_path
    assert load_audit(db)["alarms.csv"] == (2, 0, 2, 0)
    assert [(r["line"], r["column"], r["value"]) for r in rejects(db)] == [
        (2, "device_id", "D1"),
        (3, "device_id", "D1"),
    ]
    assert kpis(db, "50", "2023-01-01", "2023-12-31")["events"]["total"] == 8


# ------------------------------------------------------------------------------ the kpi command


def test_kpi_command_prints_the_iot_block(db):
    result = run_cli(
        "kpi", "--db", str(db), "--region", "500101001001", "--from", "2023-01-01", "--to", "2023-12-31"
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert list(printed)[-1] == "iot"
    assert printed["iot"] == next(case[3] for case in IOT_CASES if case[0] == "500101001001")


# ------------------------------------------------------------------------ the demo, against pandas


@pytest.fixture(scope="module")
def demo_tables(demo_db) -> reference.Tables:
    """The demo's input folder in pandas, read the plain way."""
    return reference.load(demo_db.parent.parent / "input")


def sample_regions(db: Path) -> list[str]:
    """The city, and at every level some regions with devices and one without."""
    cur = queries.cursor(db)
    try:
        grids = [
            code for (code,) in cur.execute("select distinct grid_code from devices order by 1").fetchall()
        ]
        bare = cur.execute(
            "select code from regions where level = 'grid' and code not in (select grid_code from devices) "
            "order by code limit 1"
        ).fetchall()[0][0]
    finally:
        cur.close()
    rng = random.Random(3)
    regions = ["50"]
    for length in (6, 9, 12, 15):
        codes = sorted({grid[:length] for grid in grids})
        regions += rng.sample(codes, min(4, len(codes))) + [bare[:length]]
    return regions


PERIODS = [
    ("2024-01-01", "2024-12-31"),
    ("2023-07-01", "2023-07-31"),
    ("2022-01-01", "2024-12-31"),
    ("2024-12-25", "2024-12-31"),  # the last week: alarms still open
]


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_iot_kpis_equal_pandas_on_the_demo_at_every_level(demo_db, demo_tables, start, end):
    regions = sample_regions(demo_db)
    assert {len(code) for code in regions} == {2, 6, 9, 12, 15}
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    answered = 0
    for region in regions:
        ours = kpis(demo_db, region, first, last)["iot"]
        theirs = reference.kpis(demo_tables, region, first, last)["iot"]
        assert reference.differences(ours, theirs) == [], (region, start, end)
        answered += ours["alarms"] > 0
    assert answered >= 3  # not a comparison of empty answers
