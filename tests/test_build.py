"""Build: the load audit, the rejects report, personal data, the salt, and the atomic publish."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from inputs import (
    G1,
    KPI_TABLES,
    REGIONS,
    REPO_ROOT,
    build_folder,
    cli_env,
    event,
    house,
    load_audit,
    query,
    rejects,
    rejects_by_line,
    resident,
    run_cli,
    snapshot,
    write_csv,
    write_folder,
    write_large_folder,
    write_table,
)

from dashboard.queries import kpis
from pipelines.build import REJECT_COLUMNS, BuildError, describe_audit, rejects_path_for
from pipelines.safety import SALT_FILE_NAME


@pytest.fixture(autouse=True)
def no_salt_from_environment(monkeypatch):
    """Builds take their salt from the file beside the database."""
    monkeypatch.delenv("YIPING_SALT", raising=False)


@pytest.fixture
def db(tmp_path) -> Path:
    """Where the tests publish: `<tmp>/data/yiping.duckdb`."""
    return tmp_path / "data" / "yiping.duckdb"


def leftovers(db: Path) -> list[str]:
    """What builds left beside the database besides the database, its report and the salt."""
    return sorted(
        p.name
        for p in db.parent.iterdir()
        if p.name not in {db.name, rejects_path_for(db).name, SALT_FILE_NAME}
    )


@pytest.mark.parametrize(
    ("db_path", "report"),
    [
        ("data/yiping.duckdb", "data/yiping.rejects.csv"),
        ("/srv/a.b.duckdb", "/srv/a.b.rejects.csv"),
        ("yiping", "yiping.rejects.csv"),
    ],
)
def test_rejects_report_is_named_after_the_database(db_path, report):
    assert rejects_path_for(Path(db_path)) == Path(report)


# ------------------------------------------------------------------------------ audit, supersede

# (event_id, statuses of its rows in file order, status that stands or None)
SUPERSEDE_CASES = [
    ("A", ["pending", "in_progress"], "in_progress"),
    ("B", ["pending", "done"], "pending"),  # a rejected later row supersedes nothing
    ("C", ["done", "pending"], "pending"),
    ("D", ["pending", "in_progress", "done"], "in_progress"),
    ("E", ["pending", "in_progress", "cancelled"], "cancelled"),
    ("F", ["done", "done"], None),
    ("G", ["pending"], "pending"),
]


def test_last_valid_row_of_a_key_stands(tmp_path, db):
    rows = [event(event_id=key, status=s) for key, statuses, _ in SUPERSEDE_CASES for s in statuses]
    write_folder(tmp_path / "input", {"events": rows})
    build_folder(tmp_path / "input", db)
    standing = dict(query(db, "select event_id, status from events"))
    assert standing == {key: final for key, _, final in SUPERSEDE_CASES if final}
    # 15 rows: 6 keys stand, 5 rows are rejected ("done"), the other 4 valid rows are superseded
    assert load_audit(db)["events.csv"] == (15, 6, 5, 4)


def test_load_audit_is_stored_for_every_file(tmp_path, db):
    tables = {
        "residents": [
            resident(resident_id="R1"),
            resident(resident_id="R1"),
            resident(resident_id="R2", gender="X"),
        ],
        "housing": [house(house_id="U1")],
        "events": [],
    }
    write_folder(tmp_path / "input", tables)
    result = build_folder(tmp_path / "input", db)
    columns = query(
        db, "select column_name, data_type from information_schema.columns where table_name = 'load_audit'"
    )
    assert [name for name, _ in columns] == [
        "file",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
        "rows_superseded",
    ]
    assert load_audit(db) == {
        "regions.csv": (14, 14, 0, 0),
        "residents.csv": (3, 1, 1, 1),
        "housing.csv": (1, 1, 0, 0),
        "events.csv": (0, 0, 0, 0),
    }
    for read, loaded, rejected, superseded in load_audit(db).values():
        assert read == loaded + rejected + superseded
    assert {
        a.file: (a.rows_read, a.rows_loaded, a.rows_rejected, a.rows_superseded) for a in result.audit
    } == (load_audit(db))
    printed = describe_audit(result.audit).splitlines()
    assert printed[0].split() == ["file", "rows_read", "rows_loaded", "rows_rejected", "rows_superseded"]
    assert printed[2].split() == ["residents.csv", "3", "1", "1", "1"]


def test_tables_without_a_file_build_empty_marts(tmp_path, db):
    write_folder(tmp_path / "input", {})
    build_folder(tmp_path / "input", db)
    assert list(load_audit(db)) == ["regions.csv"]
    figures = kpis(db, "50", "2023-01-01", "2023-12-31")
    assert (figures["population"]["residents"], figures["housing"]["units"], figures["events"]["total"]) == (
        0,
        0,
        0,
    )
    assert query(db, "select count(*) from collective_economy") == [(0,)]


# ---------------------------------------------------------------------------------- the report


def test_rejects_report_is_utf8_with_bom_and_the_contract_columns(tmp_path, db):
    write_folder(tmp_path / "input", {"residents": [resident(gender="未知"), resident(resident_id="R1")]})
    write_table(tmp_path / "input", "events", [event(category='噪音,"吵"')])
    build_folder(tmp_path / "input", db)
    raw = rejects_path_for(db).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with rejects_path_for(db).open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    assert tuple(table[0]) == REJECT_COLUMNS == ("file", "line", "column", "value", "reason")
    assert [row[:4] for row in table[1:]] == [
        ["events.csv", "2", "category", '噪音,"吵"'],
        ["residents.csv", "2", "gender", "未知"],
    ]


def test_rejects_report_without_rejects_has_its_header(tmp_path, db):
    write_folder(tmp_path / "input", {})
    build_folder(tmp_path / "input", db)
    assert rejects_path_for(db).read_bytes().decode("utf-8-sig").splitlines() == [
        '"file","line","column","value","reason"'
    ]


@pytest.mark.parametrize(
    ("table", "row", "column", "shown"),
    [
        ("events", event(category="=1+1"), "category", "'=1+1"),
        ("events", event(source="+cmd|' /C calc'!A0"), "source", "'+cmd|' /C calc'!A0"),
        ("events", event(satisfaction="@SUM(A1)"), "satisfaction", "'@SUM(A1)"),
        ("events", event(status="-2+3"), "status", "'-2+3"),
        ("housing", house(area_m2="-5"), "area_m2", "-5"),
        ("housing", house(area_m2="-1e3"), "area_m2", "-1e3"),
        ("housing", house(built_year="+1850"), "built_year", "+1850"),
        (
            "residents",
            resident(gender='=HYPERLINK("http://x","y")'),
            "gender",
            '\'=HYPERLINK("http://x","y")',
        ),
    ],
)
def test_rejected_formulas_are_neutralised_in_the_report(tmp_path, db, table, row, column, shown):
    write_folder(tmp_path / "input", {table: [row]})
    build_folder(tmp_path / "input", db)
    assert rejects_by_line(db, f"{table}.csv")[2][0][:2] == (column, shown)


# ------------------------------------------------------------------------------- personal data

SECRETS = ["110101195001011234", "51010119880808888X", "王小明", "赵敏", "13912345678", "02361234567"]


def test_personal_data_never_leaves_the_input(tmp_path):
    header = [
        "人员编号",
        "身份证号",
        "姓名",
        "联系电话",
        "网格代码",
        "户号",
        "性别",
        "出生年份",
        "人口类型",
        "标签",
    ]
    rows = [
        ["", "110101195001011234", "王小明", "13912345678", G1, "H1", "男", "1950", "户籍人口", "独居老人"],
        # rejected for its gender, with every personal column filled
        ["", "51010119880808888X", "赵敏", "02361234567", G1, "H2", "X", "1988", "户籍人口", ""],
        # rejected: no id at all, but a name and a phone
        ["", "", "王小明", "13912345678", G1, "H3", "女", "1990", "流动人口", ""],
    ]
    (tmp_path / "input").mkdir()
    write_csv(tmp_path / "input" / "residents.csv", header, rows)
    write_table(tmp_path / "input", "regions", REGIONS)
    out = tmp_path / "out"
    db = out / "yiping.duckdb"
    result = run_cli("build", "--input", str(tmp_path / "input"), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert load_audit(db)["residents.csv"] == (3, 1, 2, 0)
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert [p.name for p in written] == [SALT_FILE_NAME, "yiping.duckdb", "yiping.rejects.csv"]
    for secret in SECRETS:
        for encoded in {secret.encode("utf-8"), secret.encode("gb18030"), secret.encode("utf-16-le")}:
            for path in written:
                assert encoded not in path.read_bytes(), f"{secret} in {path.name}"
        assert secret not in result.stdout and secret not in result.stderr
    assert [(r["line"], r["column"], r["value"]) for r in rejects(db)] == [
        (3, "gender", "X"),
        (4, "resident_id", None),
    ]


def test_salt_lives_beside_the_database_and_stays(tmp_path, db):
    write_folder(
        tmp_path / "input", {"residents": [resident(resident_id="", id_number="110101195001011234")]}
    )
    build_folder(tmp_path / "input", db)
    salt_file = db.parent / SALT_FILE_NAME
    salt = salt_file.read_bytes()
    assert len(salt.strip()) == 32 and salt_file.stat().st_mode & 0o777 == 0o600
    assert salt.strip() not in db.read_bytes()
    first = snapshot(salt_file)
    # the same input twice gives the same database contents with the same salt, hence the same ids
    marts = query(db, "select * from population_by_region order by region_code")
    build_folder(tmp_path / "input", db)
    assert snapshot(salt_file)[:2] == first[:2]
    assert query(db, "select * from population_by_region order by region_code") == marts


# ---------------------------------------------------------------------------- atomic publish


def test_failed_build_leaves_the_published_database_and_report(tmp_path, db):
    write_folder(tmp_path / "good", {"residents": [resident(gender="X")]})
    build_folder(tmp_path / "good", db)
    published, report = snapshot(db), snapshot(rejects_path_for(db))
    write_folder(tmp_path / "bad", {"residents": [resident()]})
    (tmp_path / "bad" / "events.csv").write_text("event_id,grid_code\nE1,1\n", encoding="utf-8")
    with pytest.raises(BuildError, match="events.csv: 缺少必需的列"):
        build_folder(tmp_path / "bad", db)
    assert snapshot(db) == published
    assert snapshot(rejects_path_for(db)) == report
    assert leftovers(db) == []


def test_stale_files_of_dead_builds_are_removed(tmp_path, db):
    build_folder(write_folder(tmp_path / "input", {}), db)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for name in (f"building-{dead_pid}", f"building-{dead_pid}.wal", f"building-{dead_pid}.rejects.csv",
                     f"building-{alive.pid}"):  # fmt: skip
            (db.parent / f"{db.name}.{name}").write_bytes(b"x")
        (db.parent / f"{db.name}.building-{dead_pid}.tmp").mkdir()
        (db.parent / f"{db.name}.building-{dead_pid}.tmp" / "spill.block").write_bytes(b"x")
        build_folder(tmp_path / "input", db)
        assert leftovers(db) == [f"{db.name}.building-{alive.pid}"]
    finally:
        alive.kill()
        alive.wait()


def test_killed_build_leaves_the_old_database(tmp_path, db):
    write_folder(tmp_path / "old", KPI_TABLES)
    build_folder(tmp_path / "old", db)
    published = snapshot(db)
    old_figures = kpis(db, "50", "2023-01-01", "2023-12-31")
    write_large_folder(tmp_path / "large", 100_000)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "build", "--input", str(tmp_path / "large"), "--db", str(db)],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not list(db.parent.glob(f"{db.name}.building-*")):
            assert process.poll() is None and time.monotonic() < deadline, "the build never started writing"
            time.sleep(0.01)
        time.sleep(0.3)
        assert process.poll() is None, "the build finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert snapshot(db) == published
    assert kpis(db, "50", "2023-01-01", "2023-12-31") == old_figures
    assert leftovers(db), "a killed build leaves its files; the next build removes them"
    write_folder(tmp_path / "next", {"residents": KPI_TABLES["residents"][:2]})
    build_folder(tmp_path / "next", db)
    assert leftovers(db) == []
    assert kpis(db, "50", "2023-01-01", "2023-12-31")["population"]["residents"] == 2


READER = """
import json, pathlib, sys
from dashboard.queries import kpis

db, stop = sys.argv[1], pathlib.Path(sys.argv[2])
print("ready", flush=True)
while not stop.exists():
    try:
        k = kpis(db, "50", "2023-01-01", "2023-12-31")
        figures = [k["population"]["residents"], k["housing"]["units"], k["events"]["total"],
                   k["collective_economy"]["villages"]]
        print(json.dumps(figures), flush=True)
    except Exception as exc:
        print(json.dumps({"error": repr(exc)}), flush=True)
"""


def test_readers_see_the_old_or_the_new_database_during_publishes(tmp_path, db):
    old = write_folder(tmp_path / "old", KPI_TABLES)
    new = write_folder(tmp_path / "new", {
        "residents": KPI_TABLES["residents"][:5], "housing": KPI_TABLES["housing"][:3],
        "events": KPI_TABLES["events"][:4], "collective_economy": KPI_TABLES["collective_economy"][:1],
    })  # fmt: skip
    figures = {"old": [9, 6, 8, 3], "new": [5, 3, 4, 1]}
    build_folder(old, db)
    log, stop = tmp_path / "reads.jsonl", tmp_path / "stop"
    with log.open("w") as out:
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(db), str(stop)],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while len(log.read_text().splitlines()) < 3:
            assert reader.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        for folder in (new, old, new, old, new):
            build_folder(folder, db)
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        stop.touch()
        reader.wait(timeout=30)
    reads = [json.loads(line) for line in log.read_text().splitlines()[1:]]
    assert [r for r in reads if r not in figures.values()] == []
    assert len(reads) > 20
    assert reads[0] == figures["old"] and reads[-1] == figures["new"]
    switches = sum(1 for a, b in zip(reads, reads[1:], strict=False) if a != b)
    assert switches >= 3, "the reader kept reading one database while others were published"
