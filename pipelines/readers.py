"""Readers: turn one input file (CSV, Excel or Parquet) into a relation of text columns.

Every reader yields the same shape: a `_line` column (the row number a spreadsheet shows:
header = 1, first data row = 2; for Parquet the record number + 1) and one VARCHAR column per
contract column, named as in the contract whatever the header said. Columns the header lacks are
NULL. Personal columns are never read, except `id_number`, which staging hashes at once.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import math
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from pipelines.contract import FILE_SUFFIXES, TABLES_BY_NAME, Table, header_lookup

SNIFF_BYTES = 4 << 20
LOCAL_TIME_ZONE = "Asia/Shanghai"
# The Excel reader holds a sheet as a dense grid from A1 to its last used cell, about 32 bytes a
# cell, before a single row is returned: one value in XFD1048576 claims half a terabyte. A sheet
# is measured first and refused beyond these (the widest contract table has 14 columns).
EXCEL_MAX_COLUMNS = 256
EXCEL_MAX_CELLS = 30_000_000
EXCEL_MAX_SHEET_BYTES = 4 << 30
EXCEL_MAX_PART_BYTES = 16 << 20


class InputFileError(Exception):
    """A file that cannot be read at all: the build stops and names the file and the problem."""

    def __init__(self, file: str, problem: str):
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


@dataclass
class RawInput:
    """One input file registered in a DuckDB connection as a view of text columns."""

    table: Table
    path: Path
    view: str
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    # Records the reader itself could not split into columns: (line, reason).
    unreadable_rows: list[tuple[int, str]] = field(default_factory=list)
    # Whether the view reads the file when queried (Parquet) rather than data already read.
    lazy: bool = False

    @property
    def file(self) -> str:
        return self.path.name


def find_input_files(input_dir: Path) -> dict[str, Path]:
    """The input file of every table present in the folder; two files for one table is an error."""
    if not input_dir.is_dir():
        raise InputFileError(str(input_dir), "输入目录不存在 (input folder not found)")
    found: dict[str, Path] = {}
    for path in sorted(input_dir.iterdir()):
        if path.suffix.lower() not in FILE_SUFFIXES or path.stem not in TABLES_BY_NAME:
            continue
        if path.stem in found:
            raise InputFileError(
                path.name,
                f"表 {path.stem} 有两个输入文件（{found[path.stem].name} 和 {path.name}），只能保留一个",
            )
        found[path.stem] = path
    return found


def map_header(table: Table, file: str, header: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map source header names to contract columns; unknown names are returned as ignored."""
    lookup = header_lookup(table)
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    for raw in header:
        key = str(raw).strip().lstrip("\ufeff").strip()
        column = lookup.get(key) or lookup.get(key.lower())
        if column is None:
            if key:
                ignored.append(key)
            continue
        if column in mapping.values():
            raise InputFileError(file, f"列 {column} 在表头中出现了两次（{raw}）")
        mapping[raw] = column
    if not mapping:
        raise InputFileError(
            file, "没有可识别的表头（第1行应为列名，例如 " + "、".join(table.column_names[:3]) + "）"
        )
    missing = [c for c in table.required_in_header if c not in mapping.values()]
    if table.name == "residents" and not {"resident_id", "id_number"} & set(mapping.values()):
        missing.insert(0, "resident_id")
    if missing:
        names = "、".join(f"{c}（{table.column(c).alias}）" for c in missing)
        raise InputFileError(file, f"缺少必需的列：{names}")
    return mapping, ignored


def register(con: duckdb.DuckDBPyConnection, path: Path, table: Table) -> RawInput:
    """Register the file as view `raw_<table>` in the connection and describe what was read."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _register_csv(con, path, table)
    if suffix == ".xlsx":
        return _register_excel(con, path, table)
    if suffix == ".parquet":
        return _register_parquet(con, path, table)
    raise InputFileError(path.name, f"不支持的文件类型 {suffix}")


def _quote(identifier: str) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'


def _select_list(table: Table, mapping: dict[str, str], source_cast: str = "{}") -> str:
    """The SELECT list that renames source columns to the contract and fills absent ones."""
    by_column = {column: source for source, column in mapping.items()}
    parts = []
    for c in table.columns_read:
        if c.name in by_column:
            parts.append(f"{source_cast.format(_quote(by_column[c.name]))} as {c.name}")
        else:
            parts.append(f"null::varchar as {c.name}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------- CSV


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, judged on the file's start; anything else cannot be read."""
    with path.open("rb") as fh:
        sample = fh.read(SNIFF_BYTES)
        more = fh.read(1) != b""
    if not sample.strip():
        raise InputFileError(path.name, "文件是空的（没有表头）")
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputFileError(path.name, "文件编码为 UTF-16，请另存为 UTF-8 或 GB18030 的 CSV")
    if b"\x00" in sample:
        raise InputFileError(path.name, _binary(_line_at(sample, sample.index(b"\x00"))))
    if more:  # do not judge by a multi-byte character cut at the end of the sample
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    failed = {}
    for encoding in ("utf-8", "gb18030"):
        try:
            sample.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            failed[encoding] = _line_at(sample, exc.start)
    from charset_normalizer import from_bytes

    guess = from_bytes(sample[:65536]).best()
    named = f"，看起来是 {guess.encoding}" if guess is not None else ""
    raise InputFileError(
        path.name,
        f"无法识别文件编码（第 {failed['utf-8']} 行不是 UTF-8，第 {failed['gb18030']} 行不是 GB18030{named}）；"
        "支持 UTF-8、带 BOM 的 UTF-8 和 GB18030/GBK",
    )


def _line_at(data: bytes, offset: int, first: int = 1) -> int:
    """The line holding byte `offset` of `data`, whose first line is `first`."""
    return first + data.count(b"\n", 0, offset)


def _binary(line: int) -> str:
    return f"不是文本文件（第 {line} 行含有 NUL 等二进制内容），无法作为 CSV 读取"


def check_text(path: Path, encoding: str) -> None:
    """Read the whole file as `encoding`, as its start was judged, and stop at the first line that is not.

    The start decides the encoding; a file is read as one encoding only. A NUL byte or a line that
    is not in that encoding further on stops the read, named by its line. A GB18030 file holding
    lines that read as UTF-8 Chinese (two exports pasted into one file) would load them garbled:
    it stops too, naming a line of each.
    """
    codec = "utf-8" if encoding.startswith("utf-8") else encoding
    line, carry = 1, b""
    lines_of = {}  # the first line read as UTF-8 and as GB18030, in a GB18030 file
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            data = carry + chunk
            if chunk:  # whole lines only; a line longer than a chunk waits for the next
                cut = data.rfind(b"\n") + 1
                data, carry = data[:cut], data[cut:]
            if data:
                if b"\x00" in data:
                    raise InputFileError(path.name, _binary(_line_at(data, data.index(b"\x00"), line)))
                try:
                    data.decode(codec)
                except UnicodeDecodeError as exc:
                    raise InputFileError(
                        path.name,
                        f"第 {_line_at(data, exc.start, line)} 行不是 {_ENCODING_NAMES[codec]} 编码，"
                        f"而文件开头是：一个文件只能用一种编码，请整个另存为 UTF-8 或 GB18030",
                    ) from None
                if codec == "gb18030" and not data.isascii():
                    # as UTF-8, a byte that is not becomes a lone surrogate: lines without one that hold
                    # Chinese are the candidates, judged one by one
                    as_utf8 = data.decode("utf-8", errors="surrogateescape")
                    if "GB18030" not in lines_of and (other := _NOT_UTF8.search(as_utf8)):
                        lines_of["GB18030"] = line + as_utf8.count("\n", 0, other.start())
                    position = 0
                    while "UTF-8" not in lines_of and (han := _HAN.search(as_utf8, position)):
                        start = as_utf8.rfind("\n", 0, han.start()) + 1
                        end = as_utf8.find("\n", han.end())
                        candidate = as_utf8[start : end if end >= 0 else None]
                        if not _NOT_UTF8.search(candidate) and _reads_as_utf8(candidate.encode("utf-8")):
                            lines_of["UTF-8"] = line + as_utf8.count("\n", 0, start)
                        position = end if end >= 0 else len(as_utf8)
                    if len(lines_of) == 2:
                        raise InputFileError(
                            path.name,
                            f"文件混用了两种编码（第 {lines_of['UTF-8']} 行是 UTF-8，第 {lines_of['GB18030']} 行是 "
                            "GB18030）：请整个另存为 UTF-8 或 GB18030",
                        )
                line += data.count(b"\n")
            if not chunk:
                return


_ENCODING_NAMES = {"utf-8": "UTF-8", "gb18030": "GB18030"}


def _reads_as_utf8(text: bytes) -> bool:
    """Whether a line of a GB18030 file is really UTF-8: it decodes as UTF-8 into Chinese, and into
    more common characters (those of GB2312) than it does as GB18030. Short GB18030 text can happen
    to be valid UTF-8 too (女 is the bytes of Ů), but then it decodes into rare characters."""
    try:
        as_utf8 = text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(_HAN.search(as_utf8)) and _common_chinese(as_utf8) > _common_chinese(text.decode("gb18030"))


_HAN = re.compile("[\u4e00-\u9fff]")
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def _common_chinese(text: str) -> int:
    """Characters beyond ASCII that GB2312, the common set of simplified Chinese, holds."""
    wide = "".join(ch for ch in text if not ch.isascii())
    return len(wide.encode("gb2312", errors="ignore")) // 2


def _read_csv_arrow(path: Path, encoding: str, use_threads: bool, header: list[str]) -> tuple[pa.Table, list]:
    invalid: list = []

    def keep_invalid(row) -> str:
        invalid.append(row)
        return "skip"

    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding, use_threads=use_threads, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=keep_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            # every column as text, as written: no inferred numbers (007 -> 7) or times (08:30 -> 08:30:00)
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            auto_dict_encode=False,
        ),
    )
    return table, invalid


def _register_csv(con: duckdb.DuckDBPyConnection, path: Path, table: Table) -> RawInput:
    encoding = detect_encoding(path)
    check_text(path, encoding)
    try:
        with path.open(encoding=encoding, newline="") as fh:
            header = next(csv.reader(fh), [])
            header_only = not fh.read(1)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(path.name, f"无法读取表头：{_short(exc)}") from None
    mapping, ignored = map_header(table, path.name, header)
    kept = {c.name for c in table.columns_read}
    wanted = [source for source, column in mapping.items() if column in kept]
    try:
        if header_only:  # Arrow cannot split a header that no line break ends
            data, invalid = pa.table({name: pa.array([], pa.string()) for name in wanted}), []
        else:
            data, invalid = _read_csv_arrow(path, encoding, use_threads=True, header=header)
        if invalid and any(row.number is None for row in invalid):
            data, invalid = _read_csv_arrow(path, encoding, use_threads=False, header=header)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            path.name, f"文件中途出现非 {encoding} 编码的内容（字节位置约 {exc.start}）"
        ) from None
    except (pa.ArrowInvalid, ValueError) as exc:
        raise InputFileError(path.name, f"无法作为 CSV 读取：{_short(exc)}") from None
    data = data.select(wanted).cast(pa.schema([(n, pa.string()) for n in wanted]))

    unreadable: list[tuple[int, str]] = []
    skipped_lines: list[int] = []
    for row in invalid:
        skipped_lines.append(row.number)
        if (row.text or "").strip(" ,\r\n\t") == "":
            continue  # a blank line is not a record
        unreadable.append(
            (row.number, f"列数不符：应有 {row.expected_columns} 列，实际 {row.actual_columns} 列")
        )
    # Rows the parser skipped keep their line numbers; the rows it kept fill the others in order.
    lines = np.setdiff1d(
        np.arange(2, data.num_rows + len(skipped_lines) + 2), np.array(skipped_lines, dtype=np.int64)
    )
    data = data.append_column("_line", pa.array(lines[: data.num_rows], pa.int64()))
    # A line whose every cell is empty is a blank record, not data.
    arrow_name = f"arrow_{table.name}"
    con.register(arrow_name, data)
    select = _select_list(table, {s: c for s, c in mapping.items() if s in wanted})
    blank = " and ".join(f"coalesce(trim({_quote(s)}), '') = ''" for s in wanted)
    con.execute(
        f"create or replace temp view raw_{table.name} as select _line, {select} from {arrow_name} where not ({blank})"
    )
    return RawInput(table, path, f"raw_{table.name}", encoding, ignored, unreadable)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


# -------------------------------------------------------------------------------------- Excel


def excel_cell_text(value: object) -> str | None:
    """The text of an Excel cell as the contract reads it (dates in ISO, whole numbers without .0)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # a duration cell; keep it readable
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    return str(value)


_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# The start tag of a row or a cell, with its attributes; `<col>`, `<cols>` and `<cfRule>` do not match.
_ROW_OR_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_REFERENCE = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]*)([0-9]*)["']""")


def _first_sheet_part(archive: zipfile.ZipFile) -> str:
    """The archive member holding the workbook's first sheet (the one the reader takes)."""

    def small(name: str) -> ET.Element:
        info = archive.getinfo(name)
        if info.file_size > EXCEL_MAX_PART_BYTES:
            raise ValueError(f"{name} 过大")
        return ET.fromstring(archive.read(info))

    workbook = small("xl/workbook.xml")
    sheet = next(e for e in workbook.iter() if e.tag.endswith("}sheet") or e.tag == "sheet")
    relation = sheet.get(_RELATIONSHIPS)
    targets = {
        e.get("Id"): e.get("Target", "")
        for e in small("xl/_rels/workbook.xml.rels").iter()
        if e.tag.endswith("Relationship")
    }
    target = targets[relation]
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def used_extent(path: Path) -> tuple[int, int]:
    """Rows and columns from A1 to the last cell holding a value in the first sheet, read as a stream.

    Stops as soon as the extent passes the limits, so a sheet claiming the whole grid costs no more
    than the bytes read up to its far cell. Cells without a value (formatting only) do not count,
    as the reader skips them too.
    """
    with zipfile.ZipFile(path) as archive:
        part = _first_sheet_part(archive)
        if archive.getinfo(part).file_size > EXCEL_MAX_SHEET_BYTES:
            raise InputFileError(path.name, f"工作表过大（解压后超过 {EXCEL_MAX_SHEET_BYTES >> 30} GB）")
        rows = columns = row = column = read = 0
        tail = b""
        with archive.open(part) as stream:
            while chunk := stream.read(1 << 20):
                read += len(chunk)
                if read > EXCEL_MAX_SHEET_BYTES:
                    raise InputFileError(
                        path.name, f"工作表过大（解压后超过 {EXCEL_MAX_SHEET_BYTES >> 30} GB）"
                    )
                text = tail + chunk
                cut = text.rfind(b">") + 1
                text, tail = text[:cut], text[cut:]
                for tag in _ROW_OR_CELL.finditer(text):
                    attributes = tag.group(2)
                    reference = _REFERENCE.search(attributes)
                    if tag.group(1) == b"row":
                        row = int(reference.group(2)) if reference and reference.group(2) else row + 1
                        column = 0
                        continue
                    if reference and reference.group(1):
                        column = _column_number(reference.group(1))
                        row = int(reference.group(2)) if reference.group(2) else row
                    else:
                        column += 1
                    if attributes.rstrip().endswith(b"/"):
                        continue  # an empty cell: formatting only
                    rows, columns = max(rows, row), max(columns, column)
                if columns > EXCEL_MAX_COLUMNS or rows * columns > EXCEL_MAX_CELLS:
                    break
    return rows, columns


def _check_sheet_size(path: Path) -> None:
    try:
        rows, columns = used_extent(path)
    except (
        zipfile.BadZipFile,
        zlib.error,  # a damaged compressed part: zipfile passes it on as it is
        EOFError,
        NotImplementedError,  # a compression method zipfile lacks
        RuntimeError,  # an encrypted part
        KeyError,
        StopIteration,
        ValueError,
        ET.ParseError,
        OSError,
    ):
        return  # not a readable workbook: the reader itself says what is wrong with it
    if columns > EXCEL_MAX_COLUMNS or rows * columns > EXCEL_MAX_CELLS:
        raise InputFileError(
            path.name,
            f"第一个工作表的已用区域过大（至少 {rows} 行 × {columns} 列；上限 {EXCEL_MAX_COLUMNS} 列、"
            f"{EXCEL_MAX_CELLS:,} 个单元格）：请删除表格以外的内容或另存为 CSV",
        )


def _register_excel(con: duckdb.DuckDBPyConnection, path: Path, table: Table) -> RawInput:
    from python_calamine import CalamineWorkbook

    _check_sheet_size(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001 -- calamine raises its own error types for every broken workbook
        raise InputFileError(path.name, f"无法作为 Excel 工作簿读取：{_short(exc)}") from None
    header_index = next((i for i, r in enumerate(rows) if any(v not in (None, "") for v in r)), None)
    if header_index is None:
        raise InputFileError(path.name, "工作表是空的（没有表头）")
    header = [excel_cell_text(v) or "" for v in rows[header_index]]
    mapping, ignored = map_header(table, path.name, header)
    kept = {c.name for c in table.columns_read}
    positions = {column: header.index(source) for source, column in mapping.items() if column in kept}
    columns: dict[str, list] = {c: [] for c in positions}
    lines: list[int] = []
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        cells = {c: excel_cell_text(row[i]) if i < len(row) else None for c, i in positions.items()}
        if all(v is None or not str(v).strip() for v in cells.values()):
            continue
        lines.append(offset)
        for c, v in cells.items():
            columns[c].append(v)
    data = pa.table(
        {**{c: pa.array(v, pa.string()) for c, v in columns.items()}, "_line": pa.array(lines, pa.int64())}
    )
    arrow_name = f"arrow_{table.name}"
    con.register(arrow_name, data)
    select = _select_list(table, {c: c for c in positions})
    con.execute(f"create or replace temp view raw_{table.name} as select _line, {select} from {arrow_name}")
    return RawInput(table, path, f"raw_{table.name}", None, ignored)


# ------------------------------------------------------------------------------------ Parquet


def glob_literal(path: str) -> str:
    """The path as a DuckDB file pattern matching only itself.

    DuckDB reads a path holding `*`, `?` or `[` as a glob: an input folder named `in*` would also
    load its siblings' files. In brackets each is that one character.
    """
    return re.sub(r"([*?\[])", r"[\1]", path)


def _register_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: Table) -> RawInput:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001 -- pyarrow raises several types for a file that is not Parquet
        raise InputFileError(path.name, f"无法作为 Parquet 读取：{_short(exc)}") from None
    header = schema.names
    mapping, ignored = map_header(table, path.name, header)
    kept = {c.name for c in table.columns_read}
    wanted = {s: c for s, c in mapping.items() if c in kept}
    select = _select_list(table, wanted, source_cast="cast({} as varchar)")
    literal = glob_literal(str(path)).replace("'", "''")
    source = f"read_parquet('{literal}', file_row_number = true)"
    # Times are local (SPEC section 3): a zoned timestamp becomes Chinese local time without its zone.
    zoned = [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.tz and f.name in wanted]
    if zoned:
        local = ", ".join(f"timezone('{LOCAL_TIME_ZONE}', {_quote(n)}) as {_quote(n)}" for n in zoned)
        source = f"(select * replace ({local}) from {source})"
    raw = RawInput(table, path, f"raw_{table.name}", None, ignored, lazy=True)
    try:
        con.execute(
            f"create or replace temp view raw_{table.name} as "
            f"select file_row_number + 2 as _line, {select} "
            f"from {source}"
        )
    except duckdb.Error as exc:
        raise reading_problem(raw, exc) or exc from None
    return raw


def reading_problem(raw: RawInput, exc: duckdb.Error) -> InputFileError | None:
    """The file's problem when DuckDB failed while reading a file it reads itself (Parquet), else None.

    A damaged Parquet file shows only when its pages are read, by the first query over the view;
    running out of memory or disk is no fault of the file.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if (
        not raw.lazy
        or isinstance(exc, duckdb.OutOfMemoryException | duckdb.InterruptException)
        or "No space left on device" in text
    ):
        return None
    return InputFileError(
        raw.file, f"文件内容无法读取（文件可能已损坏）：{text.replace(str(raw.path), raw.file)[:200]}"
    )
