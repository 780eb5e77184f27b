"""Malformed files through the `build` and `ingest` commands: each ends in rejects or in one message
naming the file (and the line where there is one), never a traceback, and a failure leaves the
published database and its rejects report exactly as they were.

The files come from a seeded generator: every case draws from a random source of its own, so the
same bytes are tried on every run and a new case changes none of the others.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from inputs import (
    G1,
    HEADERS,
    KPI_TABLES,
    REGIONS,
    REPO_ROOT,
    build_folder,
    cli_env,
    economy,
    event,
    query,
    run_cli,
    write_folder,
)

from pipelines.build import rejects_path_for, rejects_report_is_current
from pipelines.readers import SNIFF_BYTES
from pipelines.safety import neutralize_formula

SEED = 20261130
LONG = 100_000
FORMULA = "=cmd|' /C calc'!A0"


@dataclass(frozen=True)
class Case:
    """A malformed file and what loading it must end in.

    `problem`: the file fails, and its message holds these words. Otherwise `rejects`: the load
    publishes, and the rejects of the file are these (line, column, words of the reason).
    """

    id: str
    name: str  # the file's name in a build; an increment's is `events_<id>.<suffix>`
    make: Callable[[random.Random], bytes]
    problem: tuple[str, ...] = ()
    rejects: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def increment_name(self) -> str:
        return f"events_{self.id}{Path(self.name).suffix}"


# ------------------------------------------------------------------------------------ generating


def csv_bytes(rows: list[dict | list], header: list[str] | None = None, encoding: str = "utf-8") -> bytes:
    header = header or HEADERS["events"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c) or "" for c in header] if isinstance(row, dict) else row)
    return out.getvalue().encode(encoding)


def events(rng: random.Random, count: int, prefix: str = "F") -> list[dict]:
    """Valid pending events of 2023 with ids from `prefix`."""
    return [
        event(
            event_id=f"{prefix}{i}",
            reported_at=f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 08:00",
        )
        for i in range(count)
    ]


def xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    if header:
        sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return without_times(out.getvalue())


def without_times(workbook: bytes) -> bytes:
    """The workbook with a fixed time wherever the writer put the present one: the same bytes every run."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", data)
            copy.writestr(
                zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED
            )
    return out.getvalue()


def a_workbook(rng: random.Random) -> bytes:
    rows = [[row.get(c) for c in HEADERS["events"]] for row in events(rng, 5)]
    return xlsx_bytes(HEADERS["events"], rows)


def damaged_sheet(rng: random.Random) -> bytes:
    """A workbook whose first sheet's compressed bytes are damaged: the zip's directory is intact."""
    data = bytearray(a_workbook(rng))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    local = data[info.header_offset : info.header_offset + 30]
    start = (
        info.header_offset
        + 30
        + int.from_bytes(local[26:28], "little")
        + int.from_bytes(local[28:30], "little")
    )
    # 0xff opens a deflate block of the reserved type: no reader can inflate it
    data[start : start + info.compress_size] = b"\xff" * info.compress_size
    return bytes(data)


def zip_of(files: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


def parquet_bytes(rows: list[dict]) -> bytes:
    out = io.BytesIO()
    columns = {c: pa.array([row.get(c) for row in rows], pa.string()) for c in HEADERS["events"]}
    pq.write_table(pa.table(columns), out, compression="snappy")
    return out.getvalue()


def damaged_parquet(rng: random.Random) -> bytes:
    """A Parquet file whose schema reads but whose first data page does not."""
    data = bytearray(parquet_bytes(events(rng, 20)))
    column = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(0).column(0)
    start = column.dictionary_page_offset or column.data_page_offset
    data[start : start + column.total_compressed_size] = bytes(
        rng.randrange(256) for _ in range(column.total_compressed_size)
    )
    return bytes(data)


# Rows of UTF-8 beyond the part of a file its encoding is judged on (each row is longer than 60 bytes).
ROWS_PAST_SAMPLE = SNIFF_BYTES // 60
LINE_PAST_SAMPLE = 1 + 5 + ROWS_PAST_SAMPLE + 1


def lines_past_the_sample(rng: random.Random, last: bytes) -> bytes:
    """Five events, then valid UTF-8 rows beyond the sample, then `last` as line LINE_PAST_SAMPLE."""
    body = csv_bytes(events(rng, 5)) + b"".join(
        f"P{i},{G1},sanitation,hotline,2023-06-01 08:00,,,,pending,,,描述\r\n".encode()
        for i in range(ROWS_PAST_SAMPLE)
    )
    assert len(body) > SNIFF_BYTES
    return body + last


def mixed_encodings(rng: random.Random) -> bytes:
    """Two UTF-8 rows and two GB18030 rows of Chinese text: two exports pasted into one file."""
    head = csv_bytes([event(event_id="M1", description="居民反映楼道堆物")])
    utf8_row = csv_bytes([event(event_id="M2", description="路灯损坏")]).split(b"\r\n", 1)[1]
    gb_rows = csv_bytes(
        [event(event_id="M3", description="噪音扰民"), event(event_id="M4", description="垃圾清运不及时")],
        encoding="gb18030",
    ).split(b"\r\n", 1)[1]
    return head + utf8_row + gb_rows


def not_text(rng: random.Random) -> bytes:
    return rng.randbytes(4096)


def high_bytes(rng: random.Random) -> bytes:
    """Bytes that no supported encoding reads, none of them NUL."""
    return bytes(rng.choice(range(0x80, 0x100)) for _ in range(4096))


CASES = [
    Case("random_xlsx", "events.xlsx", not_text, problem=("无法作为 Excel 工作簿读取",)),
    Case("truncated_xlsx", "events.xlsx", lambda rng: a_workbook(rng)[:3000], problem=("无法作为 Excel 工作簿读取",)),
    Case("zip_not_xlsx", "events.xlsx", lambda rng: zip_of({"readme.txt": "not a workbook"}),
         problem=("无法作为 Excel 工作簿读取",)),
    Case("damaged_xlsx", "events.xlsx", damaged_sheet, problem=("无法作为 Excel 工作簿读取",)),
    Case("empty_xlsx", "events.xlsx", lambda rng: xlsx_bytes([], []), problem=("工作表是空的",)),
    Case("header_only_xlsx", "events.xlsx", lambda rng: xlsx_bytes(HEADERS["events"], [])),
    Case("binary_csv", "events.csv", not_text, problem=("不是文本文件",)),
    Case("high_bytes_csv", "events.csv", high_bytes, problem=("无法识别文件编码", "第 1 行不是 UTF-8")),
    Case("mixed_encodings", "events.csv", mixed_encodings,
         problem=("文件混用了两种编码", "第 2 行是 UTF-8", "第 4 行是 GB18030")),
    Case("gb18030_past_sample", "events.csv",
         lambda rng: lines_past_the_sample(rng, "Q1,,,,,,,,,,,噪音扰民\r\n".encode("gb18030")),
         problem=(f"第 {LINE_PAST_SAMPLE} 行不是 UTF-8 编码",)),
    Case("nul_in_a_field", "events.csv",
         lambda rng: csv_bytes([*events(rng, 2), event(event_id="N\x00UL")]), problem=("第 4 行含有 NUL",)),
    Case("nul_past_sample", "events.csv", lambda rng: lines_past_the_sample(rng, b"N\x00UL,,,,,,,,,,,\r\n"),
         problem=(f"第 {LINE_PAST_SAMPLE} 行含有 NUL",)),
    Case("empty_csv", "events.csv", lambda rng: b"", problem=("文件是空的",)),
    Case("bom_only_csv", "events.csv", lambda rng: b"\xef\xbb\xbf", problem=("没有可识别的表头",)),
    Case("header_only", "events.csv", lambda rng: csv_bytes([])),
    Case("header_without_line_break", "events.csv", lambda rng: ",".join(HEADERS["events"]).encode()),
    Case("duplicated_header", "events.csv",
         lambda rng: csv_bytes([[*row.values(), "x"] for row in events(rng, 2)], [*event(), "event_id"]),
         problem=("列 event_id 在表头中出现了两次",)),
    Case("header_twice_as_alias", "events.csv",
         lambda rng: csv_bytes([[*row.values(), "x"] for row in events(rng, 2)], [*event(), "事件编号"]),
         problem=("列 event_id 在表头中出现了两次",)),
    Case("long_fields", "events.csv",
         lambda rng: csv_bytes([event(event_id="L" * LONG), event(event_id="L2", description="长" * LONG),
                                event(event_id="L3", grid_code="5" * LONG)]),
         rejects=[(4, "grid_code", "不是已导入的网格")]),
    Case("formulas", "events.csv",
         lambda rng: csv_bytes([event(event_id=FORMULA, description="@SUM(A1)"), event(event_id="F2", category="=1+1"),
                                event(event_id="F3", source="+cmd|' /C calc'!A0")]),
         rejects=[(3, "category", "取值不在允许范围内"), (4, "source", "取值不在允许范围内")]),
    Case("far_years", "events.csv",
         lambda rng: csv_bytes([event(event_id="Y1", reported_at="99999-01-01 08:00"),
                                event(event_id="Y2", reported_at="9999-12-31 23:59"),
                                event(event_id="Y3", reported_at="0001-01-01"),
                                event(event_id="Y4", reported_at="2023-06-01 08:00", due_at="9999-12-31")]),
         rejects=[(2, "reported_at", "无法识别的日期时间"), (3, "reported_at", "应在 1900 年至"),
                  (4, "reported_at", "应在 1900 年至"), (5, "due_at", "应在 1900 年至")]),
    Case("unicode_digits", "events.csv",
         lambda rng: csv_bytes([event(event_id="U1", grid_code=G1.translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
                                event(event_id="U2", grid_code=G1.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))),
                                event(event_id="U3", reported_at="２０２３-０６-０１ ０８:００")]),
         rejects=[(2, "grid_code", "代码应只含数字"), (3, "grid_code", "代码应只含数字"),
                  (4, "reported_at", "无法识别的日期时间")]),
    Case("unterminated_quote", "events.csv", lambda rng: csv_bytes(events(rng, 2)) + b'"F9,never closed\r\n',
         rejects=[(4, "", "列数不符")]),
    Case("too_many_cells", "events.csv", lambda rng: csv_bytes([*events(rng, 1), ["x"] * 5000]),
         rejects=[(3, "", "列数不符")]),
    Case("random_parquet", "events.parquet", not_text, problem=("无法作为 Parquet 读取",)),
    Case("damaged_parquet", "events.parquet", damaged_parquet, problem=("文件内容无法读取",)),
]  # fmt: skip
CASES_BY_ID = {case.id: case for case in CASES}
# The build reads through the same readers: a handful of cases, one of each reader and rule.
BUILD_CASES = [
    "damaged_xlsx",
    "mixed_encodings",
    "nul_past_sample",
    "header_without_line_break",
    "far_years",
    "damaged_parquet",
]


def content(case: Case) -> bytes:
    return case.make(random.Random(f"{SEED}-{case.id}"))


def digests() -> str:
    """The SHA-256 of every case's file, one a line."""
    return "\n".join(hashlib.sha256(content(case)).hexdigest() for case in CASES)


# ------------------------------------------------------------------------------------ checking


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_state(db: Path) -> tuple[str, str, list[str]]:
    """The database's and its report's checksums, and every file beside them."""
    return digest(db), digest(rejects_path_for(db)), sorted(p.name for p in db.parent.iterdir())


def rejects_of_last_load(db: Path) -> list[tuple[int, str, str]]:
    return query(
        db,
        'select line, "column", reason from load_rejects where load_number = (select load_number from build_info) '
        'order by line, "column"',
    )


def assert_outcome(case: Case, result, db: Path, before, file: str) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    if case.problem:
        assert (result.returncode, result.stdout) == (1, ""), result.stderr
        message = [line for line in result.stderr.splitlines() if line.startswith(f"{file}: ")]
        assert len(message) == 1, result.stderr
        for words in case.problem:
            assert words in message[0], message[0]
        assert published_state(db) == before, "a failed load changed the published database or its report"
        return
    assert result.returncode == 0, result.stderr[-3000:]
    found = rejects_of_last_load(db)
    assert [(line, column) for line, column, _ in found] == [
        (line, column) for line, column, _ in case.rejects
    ]
    for (_, _, reason), (_, _, words) in zip(found, case.rejects, strict=True):
        assert words in reason
    assert rejects_report_is_current(db)
    with rejects_path_for(db).open(encoding="utf-8-sig", newline="") as fh:
        values = [row["value"] for row in csv.DictReader(fh)]
    assert [v for v in values if neutralize_formula(v) != v] == [], "a formula reached the rejects report"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The build's input folder and the database built from it, copied by each test."""
    folder = tmp_path_factory.mktemp("fuzz-base")
    build_folder(write_folder(folder / "input", KPI_TABLES), folder / "data" / "yiping.duckdb")
    return folder


@pytest.fixture
def db(base, tmp_path) -> Path:
    shutil.copytree(base / "data", tmp_path / "data")
    return tmp_path / "data" / "yiping.duckdb"


def test_the_cases_are_the_same_bytes_in_another_process():
    """Seeded, and no time or process of their own in them: a failure found is found again."""
    printed = subprocess.run(
        [sys.executable, "-c", "import test_fuzz; print(test_fuzz.digests())"],
        cwd=Path(__file__).parent,
        env={**cli_env(), "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(Path(__file__).parent)])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.split() == digests().split()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_ingest_of_a_malformed_increment(case, db, tmp_path):
    path = tmp_path / case.increment_name
    path.write_bytes(content(case))
    before = published_state(db)
    result = run_cli("ingest", "--input", str(path), "--db", str(db))
    assert_outcome(case, result, db, before, path.name)
    if not case.problem:
        assert query(db, "select count(*) from load_log where file = ?", [path.name]) == [(1,)]


@pytest.mark.parametrize("case_id", BUILD_CASES)
def test_build_with_a_malformed_file(case_id, base, db, tmp_path):
    case = CASES_BY_ID[case_id]
    folder = shutil.copytree(base / "input", tmp_path / "input")
    (folder / "events.csv").unlink()
    (folder / case.name).write_bytes(content(case))
    before = published_state(db)
    result = run_cli("build", "--input", str(folder), "--db", str(db), "--allow-shrink")
    assert_outcome(case, result, db, before, case.name)


@pytest.mark.parametrize(
    ("table", "rows", "rejects"),
    [
        ("collective_economy", [economy(year="99999"), economy(year="2023")], [(2, "year", "应不大于")]),
        (
            "regions",
            [*REGIONS, {"code": "５００１０３", "name": "戊区", "level": "district"}],
            [(len(REGIONS) + 2, "code", "代码应只含数字")],
        ),
    ],
    ids=["economy_year_99999", "region_code_full_width"],
)
def test_build_rejects_values_of_other_tables(table, rows, rejects, db, tmp_path):
    folder = write_folder(tmp_path / "input", KPI_TABLES | {table: rows})
    result = run_cli("build", "--input", str(folder), "--db", str(db), "--allow-shrink")
    case = Case(table, f"{table}.csv", lambda rng: b"", rejects=rejects)
    assert_outcome(case, result, db, None, f"{table}.csv")
