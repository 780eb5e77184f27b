"""The build on Apache Spark gives what the DuckDB build gives: audit, rejects, every mart, kpis().

One input folder with bad rows of every kind is built twice: by DuckDB in this process, and by the
command line's `build --engine spark --master spark://127.0.0.1:PORT` on a standalone Spark cluster (a
master and one worker started here), its alarms a folder of Parquet files as a large table arrives.
Both builds run from a copy of the mart SQL with one mart changed, so the change must show in both.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from inputs import (
    G1,
    G2,
    G3,
    G4,
    G5,
    REGIONS,
    alarm,
    device,
    economy,
    event,
    load_audit,
    query,
    rejects,
    write_csv,
    write_parquet,
    write_table,
)

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime (make system-deps installs one)", allow_module_level=True)

import pipelines.build as build_module  # noqa: E402
from dashboard.queries import kpis  # noqa: E402
from pipelines.__main__ import main as cli_main  # noqa: E402
from pipelines.build import MARTS, build, mart_select  # noqa: E402
from pipelines.spark import prepare, session, to_spark  # noqa: E402

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
# The edit both engines must show: one more column in one mart's SQL file.
EDITED_MART = "resolve_time_histogram"
EDIT = ("count(*) as events\n", "count(*) as events,\n        count(*) * 2 as events_twice\n")

RESIDENTS_ZH = [
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
EVENTS_HEADER = [
    "event_id", "grid_code", "category", "source", "reported_at", "accepted_at", "resolved_at",
    "due_at", "status", "resolution_level", "satisfaction", "description",
]  # fmt: skip


def _event_row(e: dict) -> list:
    return [e.get(c, "") for c in EVENTS_HEADER]


def write_input(folder: Path) -> Path:
    """Every table, with bad rows, encodings, aliases, labels and the date formats of the contract."""
    folder.mkdir(parents=True)
    regions = REGIONS + [
        {"code": "500101001009", "name": "孤社区", "level": "community", "parent_code": "500101009"},
        {"code": "500101001009001", "name": "孤网格", "level": "grid", "parent_code": "500101001009"},
        {"code": "5001", "name": "短码", "level": "district"},
        {"code": "500103", "name": "", "level": "区县", "kind": "区"},
    ]
    write_table(folder, "regions", regions)
    # residents: Chinese headers, personal columns, id numbers hashed, labels, tags, a blank line
    people = [
        ["R1", "", "张三", "13800000000", G1, "H1", "男", "1950", "户籍人口", "独居老人;低保对象"],
        ["", "510101195001011234", "李四", "", G2, "H2", "F", "1990-05-01", "floating", "veteran、disabled"],
        ["R3", "", "", "", G3, "H3", "X", "1980", "registered", ""],
        ["R4", "", "", "", G4, "H4", "M", "1880", "overseas", "nobody"],
        ["R1", "", "", "", G1, "H1", "男", "1951年", "registered", "elderly_alone"],
        ["R5", "", "", "", "500101001001999", "H5", "M", "1970", "registered", ""],
        ["R6", "", "", "", G5, "H6", "F", "1944", "floating", "left_behind_child，extreme_poverty"],
        ["", "", "王五", "", G5, "H7", "F", "1960", "registered", ""],
    ]
    path = write_csv(folder / "residents.csv", RESIDENTS_ZH, people, encoding="utf-8-sig")
    text = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    text.insert(4, "\r\n")  # a blank line between records: the spreadsheet rows after it count it
    path.write_text("".join(text), encoding="utf-8-sig")
    # housing as Parquet, read by Spark itself
    write_parquet(
        folder / "housing.parquet",
        ["house_id", "grid_code", "building_type", "usage", "area_m2", "built_year"],
        [
            ["U1", G1, "commercial", "rented", 80.5, 2001],
            ["U2", G2, "自建房", "空置", 120.0, 1995],
            ["U3", G3, "resettlement", "出租", -5.0, 2010],
            ["U4", G4, "villa", "owner_occupied", 60.0, 2030],
            ["U1", G1, "commercial", "owner_occupied", 81.0, 2001],
            ["U5", G5, "public_rental", "business", 45.25, None],
        ],
    )
    # events as GB18030 CSV, read by Spark: labels, mixed date formats, supersession, bad rows
    events = [
        event(event_id="E1", category="矛盾纠纷", source="12345热线", reported_at="2023/1/5 8:30",
              status="已办结", resolved_at="2023年1月6日 09:15", resolution_level="网格", satisfaction="满意"),
        event(event_id="E2", grid_code=G2, category="dispute", reported_at="2023-02-10 10:00:00",
              status="resolved", resolved_at="2023-02-20 10:00", resolution_level="district",
              satisfaction="不满意"),
        event(event_id="E3", grid_code=G3, category="safety_hazard", reported_at="44986", status="pending"),
        event(event_id="E4", grid_code=G4, reported_at="2023-03-01 08:00", status="in_progress",
              due_at="2023-03-02 08:00", description='含逗号, "引号" 与\n换行'),
        event(event_id="E1", category="dispute", source="hotline", reported_at="2023-01-05 08:30",
              status="resolved", resolved_at="2023-01-05 20:00", resolution_level="township",
              satisfaction="basically_satisfied"),
        event(event_id="E5", grid_code=G5, reported_at="not a date", status="pending"),
        event(event_id="E6", grid_code=G5, reported_at="2023-04-01 08:00", status="resolved"),
        event(event_id="E7", grid_code=G1, reported_at="2023-05-01 08:00", status="cancelled"),
        event(event_id="E8", grid_code=G2, reported_at="2024-02-29 23:59", status="resolved",
              resolved_at="2024-03-01 00:01", resolution_level="community", accepted_at="2024-02-28"),
        event(event_id="E9", grid_code=G3, category="traffic", reported_at="2023-12-31 23:00",
              status="pending"),
        event(event_id="E4", grid_code=G4, reported_at="2023-03-01 08:00", status="resolved",
              resolved_at="2023-02-01 08:00", resolution_level="grid"),
    ]  # fmt: skip
    path = write_csv(
        folder / "events.csv", EVENTS_HEADER, [_event_row(e) for e in events], encoding="gb18030"
    )
    raw = path.read_bytes().split(b"\r\n")
    raw.insert(7, f"E10,{G1},other,other,2023-06-01,多出一列".encode("gb18030"))  # too few columns
    raw.insert(9, b"")  # a blank line
    path.write_bytes(b"\r\n".join(raw))
    # collective economy as a workbook, read by the project's reader
    write_table(
        folder,
        "collective_economy",
        [
            economy(village_code="500101001002", year="2022", operating_income="40000", total_income="50000"),
            economy(village_code="500101001002", year="2023", operating_income="160000", total_income="200000",
                    operating_profit="120000", shareholders="300", dividends="9000", entity_type="强村公司"),
            economy(village_code="500101002001", year="2023", operating_income="90000", total_income="80000"),
            economy(village_code="500102001001", year="2023", operating_income="55000.5", total_income="60000"),
            economy(village_code="500101001001999", year="2023"),
        ],
        fmt="xlsx",
    )  # fmt: skip
    write_table(
        folder,
        "devices",
        [
            device(device_id="D1", installed_at="2022-01-01"),
            device(device_id="D2", grid_code=G5, device_type="燃气报警器", status="离线"),
            device(device_id="D3", grid_code=G2, device_type="toaster"),
            device(device_id="D4", grid_code=G3, status="retired"),
        ],
    )
    write_table(
        folder,
        "alarms",
        [
            alarm(alarm_id="A1", device_id="D1", raised_at="2023-06-01 08:00", status="handled",
                  handled_at="2023-06-01 08:45", outcome="false_alarm"),
            alarm(alarm_id="A2", device_id="D2", raised_at="2023-06-02 09:00", status="open", event_id="E4"),
            alarm(alarm_id="A3", device_id="D9", raised_at="2023-06-03 09:00", status="open"),
            alarm(alarm_id="A2", device_id="D2", raised_at="2023-06-02 09:00", status="handled",
                  handled_at="2023-06-02 10:30", outcome="属实"),
            alarm(alarm_id="A4", device_id="D1", raised_at="2023-06-04 09:00", status="open",
                  handled_at="2023-06-04 10:00"),
        ],
        fmt="parquet",
    )  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def edited_sql(tmp_path_factory):
    """A copy of the SQL folder with one mart changed; both engines build from it."""
    folder = tmp_path_factory.mktemp("sql") / "sql"
    shutil.copytree(build_module.SQL_DIR, folder)
    mart = folder / "marts" / f"{EDITED_MART}.sql"
    text = mart.read_text(encoding="utf-8")
    assert EDIT[0] in text
    mart.write_text(text.replace(EDIT[0], EDIT[1]), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build_module, "SQL_DIR", folder)
        patch.delenv("YIPING_SALT", raising=False)
        yield folder


@pytest.fixture(scope="module")
def built(tmp_path_factory, edited_sql, cluster):
    """The input built by DuckDB in this process and by the command line on the cluster, into one
    folder so both use its salt. A local session is kept for the parsing primitives."""
    root = tmp_path_factory.mktemp("parity")
    folder = write_input(root / "input")
    data = root / "data"
    duck = build(folder, data / "duck.duckdb", today=dt.date.today()).db_path
    # the same input for Spark, alarms split into a folder of Parquet files
    spark_input = root / "spark-input"
    shutil.copytree(folder, spark_input)
    import pyarrow.parquet as pq

    alarms = pq.read_table(spark_input / "alarms.parquet")
    (spark_input / "alarms.parquet").unlink()
    (spark_input / "alarms").mkdir()
    pq.write_table(alarms.slice(0, 2), spark_input / "alarms" / "part-1.parquet")
    pq.write_table(alarms.slice(2), spark_input / "alarms" / "part-2.parquet")
    spark_db, warehouse = data / "spark.duckdb", root / "warehouse"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YIPING_SPARK_MEMORY", "512m")  # the worker has 1g
        code = cli_main(
            ["build", "--input", str(spark_input), "--db", str(spark_db), "--engine", "spark",
             "--master", cluster, "--warehouse", str(warehouse)]
        )  # fmt: skip
    assert code == 0
    spark = session("local[1]", memory="512m")
    prepare(spark)
    try:
        yield {"input": folder, "duckdb": duck, "spark": spark_db, "warehouse": warehouse, "session": spark}
    finally:
        spark.stop()


def _rows(db: Path, table: str) -> list[tuple]:
    return [tuple(_plain(v) for v in row) for row in query(db, f"select * from {table} order by all")]


def _plain(value):
    """A value compared across engines: floats to 12 significant digits (sums may add in another order)."""
    if isinstance(value, float):
        return float(f"{value:.12g}") if math.isfinite(value) else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_load_audit_is_the_same(built):
    duck, spark = load_audit(built["duckdb"]), load_audit(built["spark"])
    parts = [spark.pop(name) for name in ("alarms/part-1.parquet", "alarms/part-2.parquet")]
    # one row per file of the folder; what they read and rejected adds up to the single file's
    assert sum(p[0] for p in parts) == duck["alarms.parquet"][0]
    assert sum(p[2] for p in parts) == duck["alarms.parquet"][2]
    assert spark == {k: v for k, v in duck.items() if k != "alarms.parquet"}
    assert built["warehouse"].is_dir() and list((built["warehouse"] / "events").glob("*.parquet"))
    # a row of too few columns is read and rejected; a blank line is no row at all
    assert duck["events.csv"] == (12, 6, 5, 1)
    assert duck["residents.csv"] == (8, 3, 4, 1)


def test_rejects_are_the_same_rows_with_their_lines(built):
    def keyed(db):
        return sorted((r["file"], r["line"], r["column"], r["value"] or "", r["reason"]) for r in rejects(db))

    duck, spark = keyed(built["duckdb"]), keyed(built["spark"])

    # the alarms came to Spark as two files, the first of 2 rows: a reject names its file and its row there
    def as_one_file(row):
        file, line, *rest = row
        if file.startswith("alarms/"):
            return ("alarms.parquet", line + (2 if file == "alarms/part-2.parquet" else 0), *rest)
        return row

    assert {r[0] for r in spark if r[0].startswith("alarms")} == {"alarms/part-2.parquet"}
    assert sorted(map(as_one_file, spark)) == duck
    lines = {(file, line) for file, line, *_ in duck}
    # after the blank line, rows keep the numbers a spreadsheet shows them
    assert {("residents.csv", 8), ("residents.csv", 10), ("events.csv", 8), ("events.csv", 14)} <= lines
    assert not any("510101195001011234" in (value or "") for *_, value, _ in duck)


@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_has_the_same_rows(built, mart):
    duck, spark = _rows(built["duckdb"], mart), _rows(built["spark"], mart)
    assert spark == duck
    columns = "select column_name, data_type from information_schema.columns where table_name = ? order by ordinal_position"
    assert query(built["spark"], columns, [mart]) == query(built["duckdb"], columns, [mart])


def test_an_edit_of_a_mart_file_changes_both_engines(built):
    for db in (built["duckdb"], built["spark"]):
        assert query(
            db, f"select count(*) filter (where events_twice <> 2 * events), count(*) from {EDITED_MART}"
        ) == [(0, 2)]
    assert "events_twice" in to_spark(mart_select(EDITED_MART))


REGION_SAMPLE = ("50", "500101", "500102", "500101001", "500101002", "500101001001", "500101001002", G1, G5)
PERIODS = (
    ("2023-01-01", "2023-12-31", None),
    ("2023-01-05", "2023-03-01", 2022),
    ("2024-01-01", "2024-06-30", None),
)


@pytest.mark.parametrize(("start", "end", "year"), PERIODS)
def test_kpis_are_the_same_at_every_level(built, start, end, year):
    for region in REGION_SAMPLE:
        duck = kpis(built["duckdb"], region, start, end, year=year)
        assert _plain(kpis(built["spark"], region, start, end, year=year)) == _plain(duck), region
    city = kpis(built["duckdb"], "50", "2023-01-01", "2023-12-31")
    assert city["events"]["total"] > 0 and city["population"]["residents"] > 0


def test_parsing_primitives_agree_with_duckdb(built):
    import duckdb

    from pipelines import staging

    values = ["2024-01-05 08:30:00", "2024/1/5 8:30", "2024年1月5日 08:30", "2024年1月5日", "2024-1-5",
              "20240105", "45292", "45292.5", "2024-01-05T08:30:00", "2024-01-05 08:30:00.25", "1,234.5",
              "1985", "1985.0", "1985年", "abc", "2024-02-30", "12", "-3.0", "2024-01-05 8时30分"]  # fmt: skip
    con = duckdb.connect()
    con.execute(staging.MACROS)
    spark = built["session"]
    for fn in ("yp_num", "yp_int", "yp_ts", "yp_year"):
        duck = [con.execute(f"select {fn}(?)", [v]).fetchall()[0][0] for v in values]
        frame = spark.createDataFrame([(v,) for v in values], "v string")
        frame.createOrReplaceTempView("samples")
        mine = [r[0] for r in spark.sql(f"select {fn}(v) from samples").collect()]
        assert [None if v is None else _plain(float(v) if fn == "yp_num" else v) for v in mine] == [
            None if v is None else _plain(v) for v in duck
        ], fn


def test_a_spark_failure_names_its_java_cause(built):
    """Py4J's own line ("An error occurred while calling o1305.parquet.") says nothing: the message a steward
    gets names the innermost Java exception, and says what to do when it is memory."""
    from py4j.protocol import Py4JJavaError

    from pipelines.spark import failure

    jvm = built["session"].sparkContext._jvm
    with pytest.raises(Exception) as raised:  # one PySpark maps to a Python exception of its own
        jvm.java.lang.Integer.parseInt("二十")
    assert failure(raised.value) == 'For input string: "二十"'

    # one it does not map (a job aborted for memory) comes as Py4J's, with the Java exception behind it
    heap = jvm.java.lang.OutOfMemoryError("Java heap space")
    wrapped = Py4JJavaError(
        "An error occurred while calling o1305.parquet.", jvm.java.lang.RuntimeException("Job aborted", heap)
    )
    assert failure(wrapped).startswith("java.lang.OutOfMemoryError: Java heap space")
    assert "YIPING_SPARK_MEMORY" in failure(wrapped)


def test_local_mode_gets_half_the_machine_and_a_cluster_sparks_default():
    from pipelines.spark import default_memory

    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    local = default_memory("local[*]")
    assert local.endswith("m") and abs(int(local[:-1]) * 2**20 - physical / 2) < 2**20  # half, to the MB
    assert default_memory("spark://127.0.0.1:7077") == "1g"


# ------------------------------------------------------------------------------- a real cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(path: Path, text: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"{path.name}: no '{text}'\n{path.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone master and one worker from PySpark's own scripts; stopped at the end."""
    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    logs = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_MEMORY": "256m",
           "SPARK_WORKER_DIR": str(logs / "work")}  # fmt: skip
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    started = []
    try:
        master_log = logs / "master.log"
        master = subprocess.Popen(
            [str(spark_class), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(port), "--webui-port", str(_free_port())],
            stdout=master_log.open("wb"), stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        started.append(master)
        _wait_for(master_log, "I have been elected leader", master)
        worker_log = logs / "worker.log"
        worker = subprocess.Popen(
            [str(spark_class), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
             "--cores", "2", "--memory", "1g", "--webui-port", str(_free_port())],
            stdout=worker_log.open("wb"), stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        started.append(worker)
        _wait_for(worker_log, "Successfully registered with master", worker)
        yield url
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
