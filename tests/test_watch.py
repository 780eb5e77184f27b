"""Watch: a real watcher process takes complete files from incoming/, files them under done/ or
failed/, survives bad files and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from inputs import (
    HEADERS,
    KPI_TABLES,
    REPO_ROOT,
    alarm,
    build_folder,
    cli_env,
    device,
    event,
    load_audit,
    query,
    write_csv,
    write_folder,
)

from pipelines.watch import Watcher

WAIT_S = 60


@pytest.fixture
def published(tmp_path) -> Path:
    """A database built from KPI_TABLES (events E1 … E10)."""
    db = tmp_path / "data" / "yiping.duckdb"
    build_folder(write_folder(tmp_path / "base", KPI_TABLES), db)
    return db


def wait_for(condition, process: subprocess.Popen | None = None, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, "the watcher stopped on its own"
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.05)


def test_watcher_files_good_and_bad_files_and_stops_on_sigterm(tmp_path, published):
    folder = tmp_path / "drop"
    folder.mkdir()
    log = tmp_path / "watch.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines",
                "watch",
                "--input",
                str(folder),
                "--db",
                str(published),
                "--interval",
                "0.5",
            ],
            cwd=REPO_ROOT,
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_for(lambda: (folder / "incoming").is_dir(), process)
        # written elsewhere, then renamed in: complete as it appears
        staged = write_csv(
            tmp_path / "events_1.csv",
            HEADERS["events"],
            [event(event_id="E1", status="cancelled"), event(event_id="N1")],
        )
        os.rename(staged, folder / "incoming" / "events_1.csv")
        # a file still being written: its .part name keeps the watcher away until it is renamed
        (folder / "incoming" / "events_2.csv.part").write_text("event_id,grid_code\nN2,1\n", encoding="utf-8")
        wait_for(lambda: (folder / "done" / "events_1.csv").exists(), process)
        assert (folder / "incoming" / "events_2.csv.part").exists()
        os.rename(folder / "incoming" / "events_2.csv.part", folder / "incoming" / "events_2.csv")
        (folder / "incoming" / "Book1.xlsx").write_bytes(b"not a workbook")
        wait_for(lambda: (folder / "failed" / "events_2.csv.why.txt").exists(), process)
        wait_for(lambda: (folder / "failed" / "Book1.xlsx.why.txt").exists(), process)
        assert "缺少必需的列" in (folder / "failed" / "events_2.csv.why.txt").read_text(encoding="utf-8")
        # a good file after the bad ones is still taken
        write_csv(folder / "incoming" / "events_3.csv", HEADERS["events"], [event(event_id="N3")])
        wait_for(lambda: (folder / "done" / "events_3.csv").exists(), process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_S) == 0
    finally:
        process.kill()
        process.wait()
    assert sorted(p.name for p in (folder / "incoming").iterdir()) == []
    assert sorted(p.name for p in (folder / "failed").iterdir()) == [
        "Book1.xlsx",
        "Book1.xlsx.why.txt",
        "events_2.csv",
        "events_2.csv.why.txt",
    ]
    assert query(
        published, "select event_id, status from events where event_id in ('E1', 'N1', 'N3') order by 1"
    ) == [
        ("E1", "cancelled"),
        ("N1", "pending"),
        ("N3", "pending"),
    ]
    assert list(load_audit(published))[-2:] == ["events_1.csv", "events_3.csv"]
    lines = log.read_text().splitlines()
    per_file = [line for line in lines if "events_" in line or "Book1" in line]
    assert len(per_file) == 4, lines
    assert [("已导入" in line, "失败" in line) for line in per_file] == [
        (True, False),
        (False, True),
        (False, True),
        (True, False),
    ]


def test_files_are_taken_once_complete_in_arrival_order(tmp_path, published):
    folder = tmp_path / "drop"
    folder.mkdir()
    taken: list[str] = []
    watcher = Watcher(folder, published, interval=0.2, log=taken.append)
    watcher.check()
    incoming = folder / "incoming"
    old = time.time() - 60
    for name, mtime in (("events_b.csv", old + 2), ("events_a.csv", old + 2), ("events_c.csv", old + 1)):
        write_csv(incoming / name, HEADERS["events"], [event(event_id=name)])
        os.utime(incoming / name, (mtime, mtime))
    write_csv(incoming / "events_new.csv", HEADERS["events"], [event(event_id="new")])  # just written
    (incoming / ".events_hidden.csv").write_text("x", encoding="utf-8")
    (incoming / "events_x.csv.tmp").write_text("x", encoding="utf-8")
    assert [p.name for p in watcher.complete_files()] == ["events_c.csv", "events_a.csv", "events_b.csv"]
    # unchanged over one look: complete
    assert [p.name for p in watcher.complete_files()] == [
        "events_c.csv",
        "events_a.csv",
        "events_b.csv",
        "events_new.csv",
    ]
    for path in watcher.complete_files():
        assert watcher.take(path)
    assert sorted(p.name for p in incoming.iterdir()) == [".events_hidden.csv", "events_x.csv.tmp"]
    assert query(
        published, "select count(*) from events where event_id like 'events%' or event_id = 'new'"
    ) == [(4,)]


def test_an_alarms_increment_is_taken_like_events(tmp_path):
    db = tmp_path / "data" / "yiping.duckdb"
    sensors = {"devices": [device(device_id="D1")], "alarms": [alarm(alarm_id="A1")]}
    build_folder(write_folder(tmp_path / "base", KPI_TABLES | sensors), db)
    folder = tmp_path / "drop"
    folder.mkdir()
    watcher = Watcher(folder, db, interval=0.2, log=lambda message: None)
    watcher.check()
    handled = alarm(alarm_id="A1", status="handled", handled_at="2023-06-01 08:30")
    write_csv(folder / "incoming" / "alarms_1.csv", HEADERS["alarms"], [handled, alarm(alarm_id="A2")])
    assert watcher.take(folder / "incoming" / "alarms_1.csv")
    assert (folder / "done" / "alarms_1.csv").exists()
    assert query(db, "select alarm_id, status from alarms order by 1") == [("A1", "handled"), ("A2", "open")]
    assert query(
        db, "select sum(alarms), sum(handled) from alarms_by_region_day where region_code = '50'"
    ) == [(2, 1)]


def test_a_second_file_of_the_same_name_keeps_the_first(tmp_path, published):
    folder = tmp_path / "drop"
    folder.mkdir()
    watcher = Watcher(folder, published, interval=0.2, log=lambda message: None)
    watcher.check()
    for number in range(3):
        write_csv(folder / "incoming" / "events_1.csv", HEADERS["events"], [event(event_id=f"N{number}")])
        assert watcher.take(folder / "incoming" / "events_1.csv")
    assert sorted(p.name for p in (folder / "done").iterdir()) == [
        "events_1.csv",
        "events_1~2.csv",
        "events_1~3.csv",
    ]


def test_watch_needs_a_folder_and_a_database(tmp_path, published):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "watch",
            "--input",
            str(tmp_path / "nowhere"),
            "--db",
            str(published),
        ],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert "目录不存在" in result.stderr and "Traceback" not in result.stderr


def test_sigint_stops_an_idle_watcher_cleanly(tmp_path, published):
    folder = tmp_path / "drop"
    folder.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines",
            "watch",
            "--input",
            str(folder),
            "--db",
            str(published),
            "--interval",
            "5",
        ],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: (folder / "failed").is_dir(), process)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=WAIT_S)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
