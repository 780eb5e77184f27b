"""Ingest: increments replace and add events, keep their audit and rejects, publish atomically, and
leave the marts exactly as a full build over the same files would; the steward's guards."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from inputs import (
    G1,
    G2,
    GRIDS,
    HEADERS,
    KPI_TABLES,
    REPO_ROOT,
    TODAY,
    alarm,
    build_folder,
    cli_env,
    device,
    event,
    load_audit,
    query,
    rejects,
    run_cli,
    snapshot,
    write_csv,
    write_folder,
    write_xlsx,
)

from pipelines.build import (
    MARTS,
    BuildError,
    build,
    rejects_path_for,
    rejects_report_is_current,
    table_of_file,
)
from pipelines.contract import ALARMS, DEVICE_TYPES, EVENTS
from pipelines.ingest import CONTINUOUS, ingest
from pipelines.safety import SALT_FILE_NAME

UNKNOWN_GRID = "500101001001999"
ALARMS_DEVICE_TYPES = tuple(DEVICE_TYPES)


@pytest.fixture(autouse=True)
def no_salt_from_environment(monkeypatch):
    """Loads take their salt from the file beside the database."""
    monkeypatch.delenv("YIPING_SALT", raising=False)


@pytest.fixture
def db(tmp_path) -> Path:
    """Where the tests publish: `<tmp>/data/yiping.duckdb`."""
    return tmp_path / "data" / "yiping.duckdb"


@pytest.fixture
def published(tmp_path, db) -> Path:
    """A database built from KPI_TABLES (events E1 … E10)."""
    build_folder(write_folder(tmp_path / "base", KPI_TABLES), db)
    return db


def leftovers(db: Path) -> list[str]:
    """What loads left beside the database besides the database, its report and the salt."""
    keep = {db.name, rejects_path_for(db).name, SALT_FILE_NAME}
    return sorted(p.name for p in db.parent.iterdir() if p.name not in keep)


def write_increment(folder: Path, name: str, rows: list[dict], table: str = "events", **options) -> Path:
    """Write one increment file named `name` (CSV unless it ends in .xlsx) with the contract header."""
    folder.mkdir(parents=True, exist_ok=True)
    if name.endswith(".xlsx"):
        return write_xlsx(folder / name, HEADERS[table], rows)
    # the cells in contract order, under the header asked for (Chinese aliases, say)
    cells = [[row.get(column) for column in HEADERS[table]] for row in rows]
    return write_csv(
        folder / name, options.get("header", HEADERS[table]), cells, options.get("encoding", "utf-8")
    )


# --------------------------------------------------------------------------- replace and add


def test_a_known_id_replaces_the_stored_event_and_a_new_id_is_added(tmp_path, published):
    increment = write_increment(tmp_path / "in", "events_20240101.csv", [
        event(event_id="E3", grid_code=G1, category="dispute", reported_at="2023-05-01 08:00",
              status="resolved", resolved_at="2023-05-03 08:00", resolution_level="grid"),
        event(event_id="N1", grid_code=G2, reported_at="2023-12-01 09:00"),
    ])  # fmt: skip
    result = ingest(increment, published, today=TODAY)
    assert (result.added, result.replaced, result.rows) == (1, 1, 2)
    assert query(published, "select count(*) from events") == [(11,)]
    assert query(published, "select status, hours_to_resolve from events where event_id = 'E3'") == [
        ("resolved", 48.0)
    ]
    assert query(published, "select grid_code from events where event_id = 'N1'") == [(G2,)]
    audit = load_audit(published)
    assert audit["events.csv"] == (10, 10, 0, 0), "the build's rows stay"
    assert audit["events_20240101.csv"] == (2, 2, 0, 0)


def test_repeated_ids_in_one_increment_keep_the_last_valid_row(tmp_path, published):
    rows = [
        event(event_id="E9", grid_code="500101002001001", status="in_progress"),
        event(
            event_id="E9", grid_code="500101002001001", status="resolved", resolution_level="grid"
        ),  # rejected
        event(event_id="N1", status="pending"),
        event(event_id="N1", status="in_progress"),
        event(event_id="N1", status="cancelled"),
        event(event_id="N2", grid_code=UNKNOWN_GRID),
        event(event_id="E1", grid_code=UNKNOWN_GRID),  # rejected: E1 stays as it was
    ]
    ingest(write_increment(tmp_path / "in", "events-0930.csv", rows), published, today=TODAY)
    standing = dict(
        query(published, "select event_id, status from events where event_id in ('E1', 'E9', 'N1', 'N2')")
    )
    assert standing == {"E1": "resolved", "E9": "in_progress", "N1": "cancelled"}
    # 7 rows: E9 and N1 stand, 3 rows are rejected, the 2 earlier rows of N1 are superseded
    read, loaded, rejected, superseded = load_audit(published)["events-0930.csv"]
    assert (read, loaded, rejected, superseded) == (7, 2, 3, 2)
    assert read == loaded + rejected + superseded
    assert [(r["file"], r["line"], r["column"]) for r in rejects(published)] == [
        ("events-0930.csv", 3, "resolved_at"),
        ("events-0930.csv", 7, "grid_code"),
        ("events-0930.csv", 8, "grid_code"),
    ]


# ------------------------------------------------------------------ equal to a full build


def random_events(rng: random.Random, ids: list[str]) -> list[dict]:
    """Valid events of every status, category and place, reported over 2023."""
    rows = []
    categories = list(EVENTS.column("category").enum)
    for event_id in ids:
        reported = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.choice(['00', '30'])}"
        status = rng.choice(["pending", "in_progress", "resolved", "resolved", "cancelled"])
        row = event(
            event_id=event_id,
            grid_code=rng.choice(GRIDS),
            category=rng.choice(categories),
            source=rng.choice(["hotline", "grid_worker", "iot"]),
            reported_at=reported,
            status=status,
            satisfaction=rng.choice(["", "satisfied", "dissatisfied"]),
        )
        if rng.random() < 0.3:
            row["due_at"] = reported[:10] + " 23:59"
        if status == "resolved":
            day = int(reported[8:10])
            row["resolved_at"] = (
                reported[:8] + f"{min(day + rng.randint(0, 3), 28):02d} 23:{rng.randint(10, 59)}"
            )
            row["resolution_level"] = rng.choice(["grid", "community", "township", "district"])
        rows.append(row)
    return rows


def changed(rng: random.Random, rows: list[dict]) -> list[dict]:
    """The same events with a new state; some also moved to another day or grid (a corrected report)."""
    fresh = random_events(rng, [r["event_id"] for r in rows])
    for old, new in zip(rows, fresh, strict=True):
        if rng.random() < 0.7:  # most keep their place and day: a status change
            new["grid_code"], new["reported_at"] = old["grid_code"], old["reported_at"]
            if new.get("resolved_at") and new["resolved_at"] < old["reported_at"]:
                new["resolved_at"] = old["reported_at"]
    return fresh


def increments(rng: random.Random, base: list[dict]) -> list[tuple[str, list[dict], dict]]:
    """Three increments (file name, rows, writing options): changes, new ids, repeats and bad rows."""
    first = changed(rng, rng.sample(base, 60)) + random_events(rng, [f"N{i}" for i in range(30)])
    first += [
        event(event_id=base[0]["event_id"], grid_code=UNKNOWN_GRID),
        event(event_id="N5", status="done"),
    ]
    first += changed(rng, rng.sample(first, 10))  # repeated ids inside the increment
    rng.shuffle(first)
    second = changed(rng, rng.sample(base + first[:20], 40)) + random_events(
        rng, [f"M{i}" for i in range(20)]
    )
    second += [event(event_id="M3", reported_at="2023-02-30 08:00")]
    third = changed(rng, rng.sample(base, 15)) + changed(rng, rng.sample(second[:40], 5))
    chinese = [EVENTS.column(c).alias for c in HEADERS["events"]]
    return [
        ("events_20240101.csv", first, {}),
        ("网格事件_20240102.csv", second, {"encoding": "gb18030", "header": chinese}),
        ("events-20240103.xlsx", third, {}),
    ]


DEVICES = [
    device(device_id=f"D{i}", grid_code=GRIDS[i % len(GRIDS)], device_type=kind, status=status)
    for i, (kind, status) in enumerate(
        (kind, status) for kind in ALARMS_DEVICE_TYPES for status in ("online", "offline", "retired")
    )
]


def random_alarms(rng: random.Random, ids: list[str]) -> list[dict]:
    """Valid alarms of every status and outcome on DEVICES, raised over 2023."""
    rows = []
    for alarm_id in ids:
        raised = dt.datetime(
            2023, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)
        )
        row = alarm(
            alarm_id=alarm_id,
            device_id=rng.choice(DEVICES)["device_id"],
            raised_at=f"{raised:%Y-%m-%d %H:%M}",
        )
        if rng.random() < 0.7:
            handled = raised + dt.timedelta(minutes=rng.randint(0, 3000))
            row |= {"status": "handled", "handled_at": f"{handled:%Y-%m-%d %H:%M}"}
            row["outcome"] = rng.choice(["", "confirmed", "false_alarm"])
            if row["outcome"] == "confirmed" and rng.random() < 0.5:
                row["event_id"] = f"E{rng.randint(0, 399)}"
        rows.append(row)
    return rows


def changed_alarms(rng: random.Random, rows: list[dict]) -> list[dict]:
    """The same alarms in a new state; most keep their device and time (handled at last), some moved."""
    fresh = random_alarms(rng, [r["alarm_id"] for r in rows])
    for old, new in zip(rows, fresh, strict=True):
        if rng.random() < 0.7:
            new["device_id"], new["raised_at"] = old["device_id"], old["raised_at"]
            if new.get("handled_at") and new["handled_at"] < old["raised_at"]:
                new["handled_at"] = old["raised_at"]
    return fresh


def alarm_increments(rng: random.Random, base: list[dict]) -> list[tuple[str, list[dict], dict]]:
    """Two increments of alarms: changes, new ids, repeats, and rows of an unknown device or status."""
    first = changed_alarms(rng, rng.sample(base, 40)) + random_alarms(rng, [f"NA{i}" for i in range(20)])
    first += [alarm(alarm_id=base[0]["alarm_id"], device_id="D999"), alarm(alarm_id="NA3", status="closed")]
    first += changed_alarms(rng, rng.sample(first[:50], 10))  # repeated ids inside the increment
    rng.shuffle(first)
    second = changed_alarms(rng, rng.sample(base + first[:20], 25)) + random_alarms(
        rng, [f"MA{i}" for i in range(10)]
    )
    chinese = [ALARMS.column(c).alias for c in HEADERS["alarms"]]
    return [
        ("alarms-20240102.csv", first, {"table": "alarms"}),
        ("告警_20240103.csv", second, {"table": "alarms", "encoding": "gb18030", "header": chinese}),
    ]


def comparable(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A select list of `table` in which sums of floats compare as equal.

    A build adds floats in whatever order its threads meet the rows, so two builds of one input
    may differ in the last bits of a sum: floats are compared to the thousandth.
    """
    columns = []
    for name, kind in con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = 'a' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall():
        quoted = f'"{name}"'
        if "DOUBLE" in kind:  # also inside lists and structs
            columns.append(f"cast({quoted} as {kind.replace('DOUBLE', 'DECIMAL(38, 3)')}) as {quoted}")
        else:
            columns.append(quoted)
    return ", ".join(columns)


def mart_differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """mart -> (rows only in a, rows only in b), for every mart that differs as a multiset."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        differences = {}
        for mart in (*MARTS, "build_info"):
            columns = (
                comparable(con, mart) if mart != "build_info" else "latest_event_date, latest_economy_year"
            )
            only_a, only_b = (
                con.execute(
                    f"select count(*) from (select {columns} from {x}.{mart} except all select {columns} from {y}.{mart})"
                ).fetchall()[0][0]
                for x, y in (("a", "b"), ("b", "a"))
            )
            if only_a or only_b:
                differences[mart] = (only_a, only_b)
        return differences
    finally:
        con.close()


def test_ingested_marts_equal_a_full_build_of_the_same_files(tmp_path, db):
    rng = random.Random(11)
    base = random_events(rng, [f"E{i}" for i in range(400)])
    base_alarms = random_alarms(rng, [f"A{i}" for i in range(300)])
    tables = {k: v for k, v in KPI_TABLES.items() if k != "events"} | {
        "events": base, "devices": DEVICES, "alarms": base_alarms
    }  # fmt: skip
    build_folder(write_folder(tmp_path / "base", tables), db)
    files = increments(rng, base)
    alarm_files = alarm_increments(rng, base_alarms)
    for name, rows, options in files + alarm_files:
        write_increment(tmp_path / "increments", name, rows, **options)
    # one file alone, then a folder holding the others (taken in name order)
    ingest(tmp_path / "increments" / files[0][0], db, today=TODAY)
    (tmp_path / "increments" / files[0][0]).unlink()
    result = ingest(tmp_path / "increments", db, today=TODAY)
    assert [a.file for a in result.audit] == [alarm_files[0][0], files[2][0], alarm_files[1][0], files[1][0]]

    # the full build reads the base rows with every increment appended, in the order ingested
    in_order = [files[0], files[2], files[1]]
    everything = base + [row for _, rows, _ in in_order for row in rows]
    all_alarms = base_alarms + [row for _, rows, _ in alarm_files for row in rows]
    full = tmp_path / "full" / "yiping.duckdb"
    build_folder(
        write_folder(tmp_path / "everything", tables | {"events": everything, "alarms": all_alarms}), full
    )

    for table in ("events", "alarms"):
        assert query(db, f"select count(*) from {table}") == query(full, f"select count(*) from {table}")
    assert query(db, "select count(*) from events where event_id like 'N%'") == [(30,)]
    assert query(db, "select count(*) from alarms where alarm_id like 'NA%' or alarm_id like 'MA%'") == [
        (30,)
    ]
    assert mart_differences(db, full) == {}

    # the report beside the ingested database holds the build's rejects and every ingest's
    def problems(db: Path) -> list[tuple]:
        return sorted((r["column"], r["value"] or "", r["reason"]) for r in rejects(db))

    assert len(problems(db)) == 6 and problems(db) == problems(full)


def test_every_mart_built_on_a_continuous_table_is_recomputed_by_ingest():
    for continuous in CONTINUOUS.values():
        readers_of = {continuous.stored}
        for mart in MARTS[MARTS.index(continuous.stored) + 1 :]:
            sql = (REPO_ROOT / "pipelines" / "sql" / "marts" / f"{mart}.sql").read_text(encoding="utf-8")
            if set(re.findall(r"\b(?:from|join)\s+([a-z_]+)", sql)) & readers_of:
                readers_of.add(mart)
        assert readers_of - {continuous.stored} == {d.mart for d in continuous.derived}


# ---------------------------------------------------------------- rejects report and publish


def test_rejects_report_keeps_every_ingest_until_the_next_build(tmp_path, db):
    write_folder(
        tmp_path / "base", KPI_TABLES | {"events": [*KPI_TABLES["events"], event(event_id="X", status="?")]}
    )
    build_folder(tmp_path / "base", db)
    for day in ("0101", "0102"):
        write_increment(
            tmp_path / day, f"events_{day}.csv", [event(event_id=day), event(event_id="B", grid_code="1")]
        )
        ingest(tmp_path / day, db, today=TODAY)
        assert rejects_report_is_current(db)
    assert [(r["file"], r["line"]) for r in rejects(db)] == [
        ("events.csv", 12),
        ("events_0101.csv", 3),
        ("events_0102.csv", 3),
    ]
    digest = hashlib.sha256(rejects_path_for(db).read_bytes()).hexdigest()
    assert query(db, "select rejects_sha256, load_number from build_info") == [(digest, 3)]
    build_folder(tmp_path / "base", db)
    assert [r["file"] for r in rejects(db)] == ["events.csv"]
    assert list(load_audit(db))[-1] == "collective_economy.csv"


def bad_header(folder: Path) -> Path:
    return write_increment(folder, "events_bad.csv", [event()], header=["event_id", "grid_code"])


def not_text(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "events_1.csv").write_bytes(bytes(range(256)) * 10)
    return folder / "events_1.csv"


def not_an_increment(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "residents_1.csv").write_text("resident_id\nR1\n", encoding="utf-8")
    return folder / "residents_1.csv"


def nothing(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (bad_header, "events_bad.csv: 缺少必需的列"),
        (not_text, "events_1.csv: 不是文本文件"),
        (not_an_increment, "residents_1.csv: 表 residents 不能增量导入"),
        (nothing, "没有可导入的增量文件"),
    ],
)
def test_an_unreadable_increment_leaves_the_published_database(tmp_path, published, spoil, message):
    before = snapshot(published), snapshot(rejects_path_for(published))
    with pytest.raises(BuildError, match=message):
        ingest(spoil(tmp_path / "in"), published, today=TODAY)
    assert (snapshot(published), snapshot(rejects_path_for(published))) == before
    assert leftovers(published) == []


def test_a_killed_ingest_leaves_the_published_database_and_the_next_one_cleans_up(tmp_path, published):
    before = snapshot(published), snapshot(rejects_path_for(published))
    rows = 300_000
    with (tmp_path / "events_big.csv").open("w", encoding="utf-8") as fh:
        fh.write("event_id,grid_code,category,source,reported_at,status\n")
        fh.writelines(
            f"K{i},{GRIDS[i % 5]},dispute,hotline,2023-03-{1 + i % 28:02d} 08:00,pending\n"
            for i in range(rows)
        )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines",
            "ingest",
            "--input",
            str(tmp_path / "events_big.csv"),
            "--db",
            str(published),
        ],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not list(published.parent.glob(f"{published.name}.building-*")):
            assert process.poll() is None and time.monotonic() < deadline, "the ingest never started writing"
            time.sleep(0.01)
        time.sleep(0.2)
        assert process.poll() is None, "the ingest finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert (snapshot(published), snapshot(rejects_path_for(published))) == before
    assert leftovers(published), "a killed ingest leaves its files; the next load removes them"
    ingest(write_increment(tmp_path / "next", "events_1.csv", [event(event_id="N1")]), published, today=TODAY)
    assert leftovers(published) == []
    assert query(published, "select count(*) from events") == [(11,)]


def test_ingest_needs_a_published_database(tmp_path, db):
    with pytest.raises(BuildError, match="数据库不存在，请先运行 build"):
        ingest(write_increment(tmp_path / "in", "events_1.csv", [event()]), db, today=TODAY)
    assert not db.parent.exists() or leftovers(db) == []


# ------------------------------------------------------------------------------ command line


def test_ingest_command_prints_the_audit_and_its_time(tmp_path, published):
    folder = tmp_path / "in"
    write_increment(folder, "events_1.csv", [event(event_id="E1", status="cancelled"), event(event_id="N1")])
    (folder / "Book1.xlsx").write_bytes(b"not read")
    result = run_cli("ingest", "--input", str(folder), "--db", str(published))
    assert result.returncode == 0, result.stderr
    assert [line.split() for line in result.stdout.splitlines()] == [
        ["file", "rows_read", "rows_loaded", "rows_rejected", "rows_superseded"],
        ["events_1.csv", "2", "2", "0", "0"],
    ]
    assert "Book1.xlsx" in result.stderr
    assert re.search(r"ingest: 2 rows \(1 new, 1 replaced\) in \d+\.\d+ s", result.stderr)
    assert query(published, "select status from events where event_id = 'E1'") == [("cancelled",)]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ingest", "--input", "x"], 2, "--db"),
        (["ingest", "--db", "x"], 2, "--input"),
        (["watch", "--input", "x", "--db", "y", "--interval", "0"], 2, "--interval"),
    ],
)
def test_ingest_and_watch_usage_errors_exit_2(args, code, message):
    result = run_cli(*args)
    assert (result.returncode, result.stdout) == (code, "")
    assert message in result.stderr and "Traceback" not in result.stderr


def test_failed_ingest_command_says_so_once(tmp_path, published):
    before = snapshot(published)
    result = run_cli("ingest", "--input", str(bad_header(tmp_path / "in")), "--db", str(published))
    assert (result.returncode, result.stdout) == (1, "")
    assert "Traceback" not in result.stderr and result.stderr.count("导入失败") == 1
    assert "events_bad.csv: 缺少必需的列" in result.stderr
    assert snapshot(published) == before


# ---------------------------------------------------------------------------- steward guards


@pytest.mark.parametrize(
    ("name", "increment", "table"),
    [
        ("events.csv", False, "events"),
        ("Events.CSV", False, "events"),
        ("网格事件.xlsx", False, "events"),
        ("实有人口.parquet", False, "residents"),
        ("event.csv", False, None),
        ("Book1.xlsx", False, None),
        ("events_20251221.csv", False, None),
        ("events.txt", False, None),
        ("events_20251221.csv", True, "events"),
        ("events-0930.xlsx", True, "events"),
        ("events20251221.parquet", True, "events"),
        ("网格事件_1221.csv", True, "events"),
        ("events.csv", True, "events"),
        ("eventsx.csv", True, None),
        ("event_1.csv", True, None),
    ],
)
def test_a_file_is_named_after_its_table(name, increment, table):
    assert table_of_file(name, increment=increment) == table


def test_build_names_files_that_are_no_table_and_takes_chinese_names(tmp_path):
    folder = write_folder(tmp_path / "input", {"residents": KPI_TABLES["residents"]})
    write_xlsx(folder / "网格事件.xlsx", HEADERS["events"], KPI_TABLES["events"])
    for name in ("event.csv", "Book1.xlsx", "events_20251221.csv"):
        (folder / name).write_text("x\n", encoding="utf-8")
    db = tmp_path / "data" / "yiping.duckdb"
    result = run_cli("build", "--input", str(folder), "--db", str(db))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("警告")]
    assert [w.split("：", 1)[1].split(":")[0] for w in warnings] == [
        "Book1.xlsx",
        "event.csv",
        "events_20251221.csv",
    ]
    assert "ingest" in warnings[2]
    assert load_audit(db)["网格事件.xlsx"] == (10, 10, 0, 0)


def test_a_build_that_would_halve_a_table_stops_unless_allowed(tmp_path, published):
    before = snapshot(published)
    fewer = write_folder(tmp_path / "fewer", KPI_TABLES | {"events": KPI_TABLES["events"][:4]})
    result = run_cli("build", "--input", str(fewer), "--db", str(published))
    assert (result.returncode, result.stdout) == (1, "")
    assert (
        "events" in result.stderr
        and "10 行减少到 4 行" in result.stderr
        and "--allow-shrink" in result.stderr
    )
    assert snapshot(published) == before
    result = run_cli("build", "--input", str(fewer), "--db", str(published), "--allow-shrink")
    assert result.returncode == 0, result.stderr
    assert query(published, "select count(*) from events") == [(4,)]
    # half is not fewer than half
    half = write_folder(tmp_path / "half", KPI_TABLES | {"events": KPI_TABLES["events"][:2]})
    assert run_cli("build", "--input", str(half), "--db", str(published)).returncode == 0


def test_loads_remove_what_killed_loads_left(tmp_path, published):
    dead = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        ).stdout
    )
    for name in (f"building-{dead}", f"building-{dead}.wal", f"building-{dead}.rejects.csv"):
        (published.parent / f"{published.name}.{name}").write_bytes(b"x")
    (published.parent / f"{published.name}.building-{dead}.tmp").mkdir()
    ingest(write_increment(tmp_path / "in", "events_1.csv", [event(event_id="N1")]), published, today=TODAY)
    assert leftovers(published) == []


def test_ingested_demo_equals_a_full_build_of_the_demo_and_its_increment(tmp_path, demo_db):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = demo_db.parent.parent / "input"
    db = tmp_path / "data" / "yiping.duckdb"
    db.parent.mkdir()
    shutil.copyfile(demo_db, db)
    events = pq.read_table(source / "events.parquet")
    rows = events.to_pylist()
    rng = random.Random(5)
    increment = []
    for row in rng.sample(rows, 150):
        increment.append(row | {"status": "cancelled", "resolved_at": None, "resolution_level": None})
    for row in rng.sample([r for r in rows if r["status"] != "resolved"], 150):
        resolved = row["reported_at"] + dt.timedelta(hours=rng.randint(1, 200))
        increment.append(
            row | {"status": "resolved", "resolved_at": resolved, "resolution_level": "community"}
        )
    for number, row in enumerate(rng.sample(rows, 200)):
        # a new event, a day after one of the demo's
        times = ("reported_at", "accepted_at", "resolved_at", "due_at")
        later = {c: row[c] + dt.timedelta(days=1) for c in times if row[c] is not None}
        increment.append(row | later | {"event_id": f"X{number}"})
    increment.append(rows[0] | {"grid_code": UNKNOWN_GRID})
    rng.shuffle(increment)
    pq.write_table(
        pa.Table.from_pylist(increment, schema=events.schema), tmp_path / "events_20250101.parquet"
    )
    # alarms: open ones handled, handled ones reopened as corrected, new ones an hour later, one of no device
    alarms = pq.read_table(source / "alarms.parquet")
    rows = alarms.to_pylist()
    alarm_increment = []
    for row in rng.sample([r for r in rows if r["status"] == "open"], 5):
        handled = row["raised_at"] + dt.timedelta(minutes=rng.randint(1, 600))
        alarm_increment.append(row | {"status": "handled", "handled_at": handled, "outcome": "confirmed"})
    for row in rng.sample([r for r in rows if r["status"] == "handled"], 100):
        alarm_increment.append(row | {"status": "open", "handled_at": None, "outcome": None})
    for number, row in enumerate(rng.sample(rows, 100)):
        later = {c: row[c] + dt.timedelta(hours=1) for c in ("raised_at", "handled_at") if row[c] is not None}
        alarm_increment.append(row | later | {"alarm_id": f"XA{number}"})
    alarm_increment.append(rows[0] | {"device_id": "D-none"})
    rng.shuffle(alarm_increment)
    pq.write_table(
        pa.Table.from_pylist(alarm_increment, schema=alarms.schema), tmp_path / "alarms_20250101.parquet"
    )
    result = ingest(tmp_path / "events_20250101.parquet", db)
    assert (result.added, result.audit[0].rows_rejected) == (200, 1)
    result = ingest(tmp_path / "alarms_20250101.parquet", db)
    assert (result.added, result.audit[0].rows_rejected) == (100, 1)

    everything = tmp_path / "everything"
    shutil.copytree(source, everything)
    pq.write_table(
        pa.concat_tables([events, pa.Table.from_pylist(increment, schema=events.schema)]),
        everything / "events.parquet",
    )
    pq.write_table(
        pa.concat_tables([alarms, pa.Table.from_pylist(alarm_increment, schema=alarms.schema)]),
        everything / "alarms.parquet",
    )
    full = tmp_path / "full" / "yiping.duckdb"
    build(everything, full)
    assert mart_differences(db, full) == {}


def test_loads_at_the_same_time_take_turns_and_lose_nothing(tmp_path, published):
    processes = []
    for number in range(3):
        rows = [event(event_id=f"P{number}-{i}") for i in range(2000)]
        increment = write_increment(tmp_path / f"in{number}", f"events_{number}.csv", rows)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pipelines",
                    "ingest",
                    "--input",
                    str(increment),
                    "--db",
                    str(published),
                ],
                cwd=REPO_ROOT,
                env=cli_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    assert query(published, "select count(*) from events where event_id like 'P%'") == [(6000,)]
    assert {file for file in load_audit(published) if file.startswith("events_")} == {
        "events_0.csv",
        "events_1.csv",
        "events_2.csv",
    }
    assert query(published, "select max(load_number), count(distinct load_number) from load_log") == [(4, 4)]


def test_a_report_left_from_an_earlier_load_is_told_and_replaced_by_the_next(tmp_path, published):
    earlier = rejects_path_for(published).read_bytes()
    ingest(
        write_increment(tmp_path / "a", "events_a.csv", [event(event_id="A", status="?")]),
        published,
        today=TODAY,
    )
    assert rejects_report_is_current(published)
    # as if the load had been killed between publishing the database and its report
    rejects_path_for(published).write_bytes(earlier)
    assert not rejects_report_is_current(published)
    ingest(write_increment(tmp_path / "b", "events_b.csv", [event(event_id="B")]), published, today=TODAY)
    assert rejects_report_is_current(published)
    assert [r["file"] for r in rejects(published)] == ["events_a.csv"]
