"""Readers: CSV in UTF-8, UTF-8 with BOM or GB18030, Excel and Parquet become the same text columns."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from inputs import (
    G1,
    G2,
    HEADERS,
    KPI_TABLES,
    REGION_CODES,
    REGIONS,
    REPO_ROOT,
    build_folder,
    cli_env,
    event,
    load_audit,
    query,
    rejects,
    rejects_by_line,
    write_csv,
    write_folder,
    write_parquet,
    write_table,
    write_xlsx,
)
from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill

from dashboard.queries import kpis
from pipelines import readers
from pipelines.contract import EVENTS, RESIDENTS, TABLES_BY_NAME
from pipelines.contract import REGIONS as REGIONS_TABLE
from pipelines.staging import enum_reason


def raw_rows(path: Path, table: str) -> list[tuple]:
    """The rows of the reader's view of `path`, in file order, `_line` first."""
    con = duckdb.connect()
    raw = readers.register(con, path, TABLES_BY_NAME[table])
    return con.execute(f"select * from {raw.view} order by _line").fetchall()


CHINESE_RESIDENTS_HEADER = [
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
CHINESE_RESIDENTS = [
    ["R1", "", "张三", "13800000000", G1, "007", "男", "1950", "户籍人口", "独居老人、低保对象"],
    ["", "110101195001011234", "李四", "", G2, "H2", "女", "1990年5月1日", "流动人口", "残疾人，退役军人"],
]
# What the reader passes on: _line, then the contract's columns read (name and phone never are).
CHINESE_RESIDENTS_READ = [
    (2, "R1", "", G1, "007", "男", "1950", "户籍人口", "独居老人、低保对象"),
    (3, "", "110101195001011234", G2, "H2", "女", "1990年5月1日", "流动人口", "残疾人，退役军人"),
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_and_chinese_headers_read_identically(tmp_path, encoding):
    path = write_csv(tmp_path / "residents.csv", CHINESE_RESIDENTS_HEADER, CHINESE_RESIDENTS, encoding)
    assert (
        readers.detect_encoding(path)
        == {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030"}[encoding]
    )
    assert raw_rows(path, "residents") == CHINESE_RESIDENTS_READ


def test_english_and_chinese_headers_read_identically(tmp_path):
    english = ["resident_id", "id_number", "name", "phone", *HEADERS["residents"][1:]]
    path = write_csv(tmp_path / "residents.csv", english, CHINESE_RESIDENTS)
    assert raw_rows(path, "residents") == CHINESE_RESIDENTS_READ


@pytest.mark.parametrize(
    ("header", "read_as"),
    [
        (["code", "name", "level"], ["code", "name", "level"]),
        ([" CODE ", "Name", "LEVEL"], ["code", "name", "level"]),
        (["区划代码", "名称", "层级", "经度", "纬度"], ["code", "name", "level", "lon", "lat"]),
        (["code", "name", "level", "lng", "latitude"], ["code", "name", "level", "lon", "lat"]),
        (["code", "name", "level", "Longitude", "备注"], ["code", "name", "level", "lon"]),
    ],
)
def test_header_spellings(tmp_path, header, read_as):
    values = {"code": "500101", "name": "甲区", "level": "区县", "lon": "106.5", "lat": "29.5"}
    row = [values[read_as[i]] if i < len(read_as) else "x" for i in range(len(header))]
    path = write_csv(tmp_path / "regions.csv", header, [row])
    con = duckdb.connect()
    raw = readers.register(con, path, REGIONS_TABLE)
    row = con.execute(f"select {', '.join(read_as)} from {raw.view}").fetchone()
    assert row == tuple(values[c] for c in read_as)
    assert raw.ignored_columns == (["备注"] if "备注" in header else [])


def test_csv_values_are_read_as_written(tmp_path):
    path = write_csv(
        tmp_path / "events.csv",
        ["event_id", "grid_code", "category", "source", "reported_at", "status", "lon"],
        [["007", G1, "dispute", "hotline", "2023-06-01 07:59", "pending", "106.50"]],
    )
    assert raw_rows(path, "events")[0][:6] == (2, "007", G1, "dispute", "hotline", "2023-06-01 07:59")
    assert raw_rows(path, "events")[0][-3] == "106.50"


def test_personal_columns_other_than_id_number_are_never_read(tmp_path):
    path = write_csv(tmp_path / "residents.csv", CHINESE_RESIDENTS_HEADER, CHINESE_RESIDENTS)
    con = duckdb.connect()
    raw = readers.register(con, path, RESIDENTS)
    columns = [d[0] for d in con.execute(f"select * from {raw.view}").description]
    assert "name" not in columns and "phone" not in columns
    assert "13800000000" not in repr(con.execute(f"select * from {raw.view}").fetchall())


# ---------------------------------------------------------------------------- Excel and Parquet

EVENTS_HEADER = ["event_id", "grid_code", "category", "source", "reported_at", "status", "lon"]


def test_xlsx_cells_are_read_as_contract_text(tmp_path):
    rows = [
        ["E1", int(G1), "矛盾纠纷", "hotline", dt.datetime(2024, 1, 5, 8, 30), "pending", 106.5],
        [None] * 7,  # an empty sheet row keeps its row number
        ["E2", float(G1), "dispute", "hotline", dt.date(2024, 1, 5), "pending", 106.0],
        ["E3", G1, "dispute", "hotline", "2024/1/5 8:30", "pending", None],
    ]
    path = write_xlsx(tmp_path / "events.xlsx", EVENTS_HEADER, rows)
    read = [(r[0], *r[1:6], r[-3]) for r in raw_rows(path, "events")]
    assert read == [
        (2, "E1", G1, "矛盾纠纷", "hotline", "2024-01-05 08:30:00", "106.5"),
        (4, "E2", G1, "dispute", "hotline", "2024-01-05", "106"),
        (5, "E3", G1, "dispute", "hotline", "2024/1/5 8:30", None),
    ]


def test_parquet_columns_are_read_as_text_with_record_lines(tmp_path):
    rows = [
        ["E1", int(G1), "dispute", "hotline", dt.datetime(2024, 1, 5, 8, 30), "pending", 106.5],
        ["E2", int(G1), "dispute", "hotline", dt.datetime(2024, 1, 6, 9, 0), "pending", None],
    ]
    path = write_parquet(tmp_path / "events.parquet", EVENTS_HEADER, rows)
    read = [(r[0], *r[1:6], r[-3]) for r in raw_rows(path, "events")]
    assert read == [
        (2, "E1", G1, "dispute", "hotline", "2024-01-05 08:30:00", "106.5"),
        (3, "E2", G1, "dispute", "hotline", "2024-01-06 09:00:00", None),
    ]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "+08:00"])
def test_parquet_zoned_times_are_read_as_local_time(tmp_path, zone):
    import pyarrow as pa
    import pyarrow.parquet as pq

    instant = dt.datetime(2024, 1, 5, 0, 30, tzinfo=dt.UTC)  # 08:30 in Chongqing
    table = pa.table(
        {
            "event_id": ["E1"],
            "grid_code": [G1],
            "category": ["dispute"],
            "source": ["hotline"],
            "reported_at": pa.array([instant], pa.timestamp("us", tz=zone)),
            "status": ["pending"],
        }
    )
    pq.write_table(table, tmp_path / "events.parquet")
    assert raw_rows(tmp_path / "events.parquet", "events")[0][5] == "2024-01-05 08:30:00"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("", None),
        ("x", "x"),
        (500101001001001, "500101001001001"),
        (500101001001001.0, "500101001001001"),
        (80.5, "80.5"),
        (True, "true"),
        (dt.datetime(2024, 1, 5, 8, 30), "2024-01-05 08:30:00"),
        (dt.date(2024, 1, 5), "2024-01-05"),
        (dt.time(8, 30), "08:30:00"),
    ],
)
def test_excel_cell_text(value, text):
    assert readers.excel_cell_text(value) == text


# ----------------------------------------------------------------------- one build, every format

FORMAT_EVENTS = [
    {"event_id": "E1", "grid_code": int(G1), "category": "dispute", "source": "hotline",
     "reported_at": dt.datetime(2024, 1, 5, 8, 30), "resolved_at": dt.datetime(2024, 1, 6, 8, 30),
     "status": "resolved", "resolution_level": "grid", "satisfaction": "satisfied"},
    {"event_id": "E2", "grid_code": int(G1), "category": "sanitation", "source": "iot",
     "reported_at": dt.datetime(2024, 2, 1, 9, 0), "status": "pending"},
    # rejected: resolved before reported
    {"event_id": "E3", "grid_code": int(G2), "category": "sanitation", "source": "iot",
     "reported_at": dt.datetime(2024, 2, 1, 9, 0), "resolved_at": dt.datetime(2024, 1, 1, 9, 0),
     "status": "resolved", "resolution_level": "grid"},
]  # fmt: skip
FORMAT_HEADER = ["event_id", "grid_code", "category", "source", "reported_at", "resolved_at", "status",
                 "resolution_level", "satisfaction"]  # fmt: skip


def csv_text(value: object) -> object:
    """How a value is typed into a CSV by hand."""
    if isinstance(value, dt.datetime):
        return f"{value:%Y/%m/%d %H:%M}"
    return value


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_every_format_loads_the_same_events(tmp_path, fmt):
    rows = FORMAT_EVENTS
    if fmt == "csv":
        rows = [{k: csv_text(v) for k, v in row.items()} for row in rows]
    write_table(tmp_path / "input", "events", rows, header=FORMAT_HEADER, fmt=fmt)
    write_table(tmp_path / "input", "regions", REGIONS)
    db = tmp_path / "yiping.duckdb"
    build_folder(tmp_path / "input", db)
    assert query(
        db, "select event_id, grid_code, reported_at, resolved_at, status from events order by 1"
    ) == [
        ("E1", G1, dt.datetime(2024, 1, 5, 8, 30), dt.datetime(2024, 1, 6, 8, 30), "resolved"),
        ("E2", G1, dt.datetime(2024, 2, 1, 9, 0), None, "pending"),
    ]
    assert load_audit(db)[f"events.{fmt}"] == (3, 2, 1, 0)
    assert [(r["file"], r["line"], r["column"], r["reason"]) for r in rejects(db)] == [
        (f"events.{fmt}", 4, "resolved_at", "办结时间早于上报时间")
    ]


def write_chinese_folder(folder: Path, tables: dict[str, list[dict]], fmt: str, encoding: str) -> Path:
    """Every table of `tables` and the regions with Chinese headers."""
    folder.mkdir(parents=True)
    for name, rows in {"regions": REGIONS, **tables}.items():
        contract = TABLES_BY_NAME[name]
        names = HEADERS[name]
        header = [contract.column(c).alias for c in names]
        write_table(folder, name, [[row.get(c) for c in names] for row in rows], header, fmt, encoding)
    return folder


@pytest.fixture(scope="module")
def reference_kpis(tmp_path_factory) -> dict:
    """KPIs of KPI_TABLES written as UTF-8 CSV with English headers, per region."""
    root = tmp_path_factory.mktemp("reference")
    db = build_folder(write_folder(root / "input", KPI_TABLES), root / "yiping.duckdb").db_path
    return {code: kpis(db, code, "2023-01-01", "2023-12-31") for code in ["50", *REGION_CODES]}


@pytest.mark.parametrize(
    ("fmt", "encoding"),
    [("csv", "utf-8"), ("csv", "utf-8-sig"), ("csv", "gb18030"), ("xlsx", ""), ("parquet", "")],
)
def test_chinese_headers_in_every_encoding_and_format_load_identically(
    tmp_path, reference_kpis, fmt, encoding
):
    folder = write_chinese_folder(tmp_path / "input", KPI_TABLES, fmt, encoding)
    db = build_folder(folder, tmp_path / "yiping.duckdb").db_path
    assert rejects(db) == []
    assert {code: kpis(db, code, "2023-01-01", "2023-12-31") for code in reference_kpis} == reference_kpis


# ------------------------------------------------------------------------------- line numbers


def test_csv_lines_are_spreadsheet_rows_after_blank_lines_and_multiline_values(tmp_path):
    header = ",".join(HEADERS["events"])
    lines = [
        header,
        'E1,{g},sanitation,hotline,2023-06-01 08:00,,,,pending,,,"第一行\n第二行\n第三行"',  # row 2
        "",  # row 3: blank
        "E2,{g},sanitation,hotline,2023-06-01 08:00,,,,pending,,,",  # row 4
        ",,,,,,,,,,,",  # row 5: every cell empty, not a record
        "E3,{g},sanitation,hotline,2023-06-01 08:00,,,,pending,,,,extra",  # row 6: one cell too many
        "E4,{g},噪音,hotline,2023-06-01 08:00,,,,pending,,,",  # row 7: rejected
    ]
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "events.csv").write_text("\r\n".join(lines).format(g=G1) + "\r\n", encoding="utf-8")
    write_table(folder, "regions", REGIONS)
    db = tmp_path / "yiping.duckdb"
    build_folder(folder, db)
    assert rejects_by_line(db, "events.csv") == {
        6: [("", None, "列数不符：应有 12 列，实际 13 列")],
        7: [("category", "噪音", enum_reason(EVENTS.column("category")))],
    }
    assert load_audit(db)["events.csv"] == (4, 2, 2, 0)
    assert query(db, "select description from events where event_id = 'E1'") == [("第一行\n第二行\n第三行",)]


def test_xlsx_lines_are_sheet_rows(tmp_path):
    rows = [
        event(event_id="E1"),
        {},  # an empty sheet row
        event(event_id="E2", category="噪音"),
    ]
    write_table(tmp_path / "input", "events", rows, fmt="xlsx")
    write_table(tmp_path / "input", "regions", REGIONS)
    db = tmp_path / "yiping.duckdb"
    build_folder(tmp_path / "input", db)
    assert list(rejects_by_line(db, "events.xlsx")) == [4]
    assert load_audit(db)["events.xlsx"] == (2, 1, 1, 0)


def test_parquet_lines_are_record_numbers_plus_one(tmp_path):
    rows = [event(event_id=f"E{i}") for i in range(5)] + [event(event_id="E5", status="done")]
    write_table(tmp_path / "input", "events", rows, fmt="parquet")
    write_table(tmp_path / "input", "regions", REGIONS)
    db = tmp_path / "yiping.duckdb"
    build_folder(tmp_path / "input", db)
    assert list(rejects_by_line(db, "events.parquet")) == [7]


# --------------------------------------------------------------------------- unreadable files


def random_bytes() -> bytes:
    return random.Random(7).randbytes(4096)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("regions.csv", b"", "文件是空的"),
        ("regions.csv", b"\r\n  \r\n", "文件是空的"),
        ("regions.csv", "code,name,level\n".encode("utf-16"), "UTF-16"),
        ("regions.csv", "code,name,level\n".encode("utf-16-le"), "不是文本文件"),
        ("regions.csv", random_bytes(), "不是文本文件"),
        ("regions.csv", bytes(range(0x80, 0x100)) * 8, "无法识别文件编码"),
        ("regions.csv", b"\x81\x30" * 100, "没有可识别的表头"),
        ("regions.csv", "500101,甲区,district\n".encode(), "没有可识别的表头"),
        ("regions.csv", b"code,level\n500101,district\n", "缺少必需的列：name（名称）"),
        ("regions.csv", "区划代码,code,name,level\n".encode(), "出现了两次"),
        ("residents.csv", b"grid_code,household_id,gender,birth_year,residence_type\n",
         "缺少必需的列：resident_id（人员编号）"),
        ("regions.xlsx", b"code,name,level\n500101,x,district\n", "无法作为 Excel 工作簿读取"),
        ("regions.parquet", b"PAR1 not really", "无法作为 Parquet 读取"),
    ],
)  # fmt: skip
def test_unreadable_file_names_the_file_and_the_problem(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(readers.InputFileError) as raised:
        readers.register(duckdb.connect(), path, TABLES_BY_NAME[path.stem])
    assert raised.value.file == name
    assert problem in raised.value.problem
    assert str(raised.value).startswith(f"{name}: ")


def test_empty_workbook_has_no_header(tmp_path):
    path = write_xlsx(tmp_path / "regions.xlsx", [], [])
    with pytest.raises(readers.InputFileError, match="regions.xlsx: 工作表是空的"):
        readers.register(duckdb.connect(), path, REGIONS_TABLE)


def test_header_only_file_reads_no_rows(tmp_path):
    path = write_csv(tmp_path / "residents.csv", HEADERS["residents"], [])
    assert raw_rows(path, "residents") == []


def test_find_input_files_takes_one_file_per_table(tmp_path):
    for name in ("regions.csv", "events.xlsx", "housing.parquet", "README.md", "notes.csv", "residents.txt"):
        (tmp_path / name).write_text("x")
    assert readers.find_input_files(tmp_path) == {
        "regions": tmp_path / "regions.csv",
        "events": tmp_path / "events.xlsx",
        "housing": tmp_path / "housing.parquet",
    }


def test_two_files_for_one_table_is_an_error(tmp_path):
    (tmp_path / "events.csv").write_text("x")
    (tmp_path / "events.xlsx").write_text("x")
    with pytest.raises(readers.InputFileError, match="表 events 有两个输入文件（events.csv 和 events.xlsx）"):
        readers.find_input_files(tmp_path)


def test_missing_input_folder_is_an_error(tmp_path):
    with pytest.raises(readers.InputFileError, match="输入目录不存在"):
        readers.find_input_files(tmp_path / "nowhere")


# ------------------------------------------------------------------------- hostile workbooks

# Reads a workbook in a fresh interpreter and prints the seconds and the peak memory it added,
# so that a reader that allocates the sheet's whole grid shows (or aborts the process) here.
MEASURE_EXCEL_READ = """
import resource, sys, time
from pathlib import Path
import duckdb
from pipelines import readers
from pipelines.contract import TABLES_BY_NAME
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    readers.register(duckdb.connect(), Path(sys.argv[1]), TABLES_BY_NAME["collective_economy"])
    outcome = "read"
except readers.InputFileError as exc:
    outcome = str(exc)
seconds = time.perf_counter() - started
added_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(f"{seconds:.3f}\\t{added_kb}\\t{outcome}")
"""


def write_sheet_bomb(path: Path) -> Path:
    """A small valid workbook whose one stray value sits in the last cell of the sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS["collective_economy"])
    sheet.append(["500101001002", 2023, 120000, 150000, 80000, 0, 300, "股份经济合作社"])
    sheet["XFD1048576"] = "x"
    workbook.save(path)
    return path


def test_a_workbook_claiming_the_whole_sheet_is_refused_at_once(tmp_path):
    path = write_sheet_bomb(tmp_path / "collective_economy.xlsx")
    assert path.stat().st_size < 10_000
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_EXCEL_READ, str(path)],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"the reader died (exit code {done.returncode}): {done.stderr[-500:]}"
    seconds, added_kb, outcome = done.stdout.strip().split("\t")
    assert outcome.startswith("collective_economy.xlsx: ")
    assert "已用区域过大" in outcome and "1048576 行 × 16384 列" in outcome
    assert float(seconds) < 1.0
    assert int(added_kb) < 8 * 1024


def test_formatting_far_from_the_table_is_not_a_used_area(tmp_path):
    path = write_xlsx(
        tmp_path / "events.xlsx",
        EVENTS_HEADER,
        [["E1", G1, "dispute", "hotline", "2024-01-05", "pending", None]],
    )
    workbook = load_workbook(path)
    workbook.active["XFD1048576"].fill = PatternFill("solid", fgColor="FF0000")
    workbook.save(path)
    assert readers.used_extent(path) == (2, 7)
    assert [r[1] for r in raw_rows(path, "events")] == ["E1"]


def test_a_parquet_path_is_a_path_not_a_pattern(tmp_path):
    own = write_parquet(
        (tmp_path / "in*").mkdir() or tmp_path / "in*" / "events.parquet",
        EVENTS_HEADER,
        [["E1", G1, "dispute", "hotline", "2024-01-05 08:30:00", "pending", None]],
    )
    for sibling in ("inbox", "in[x]", "in?"):
        (tmp_path / sibling).mkdir()
        write_parquet(
            tmp_path / sibling / "events.parquet",
            EVENTS_HEADER,
            [["SIBLING", G1, "dispute", "hotline", "2024-01-05 08:30:00", "pending", None]],
        )
    assert [r[1] for r in raw_rows(own, "events")] == ["E1"]
    assert [r[1] for r in raw_rows(tmp_path / "in[x]" / "events.parquet", "events")] == ["SIBLING"]
