"""Build: validate and load every input file, build the marts, publish the database atomically.

The database is written to a new file beside the target and renamed over it at the end, so a
reader sees the old database or the new one, and a build that dies half-way leaves the old one
as it was. The rejects report is published the same way, just after the database; see
`swap_in` for what a reader can rely on between the two renames. `pipelines.ingest` publishes
through the same helpers.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import h3
import pyarrow.csv as pacsv
from duckdb.sqltypes import DOUBLE, INTEGER, VARCHAR

from pipelines import outlines, readers, staging
from pipelines.contract import (
    CITY_CODE,
    CITY_NAME,
    FILE_SUFFIXES,
    LEVELS,
    PARENT_LEVEL,
    SLA_HOURS,
    TABLES,
    TABLES_BY_NAME,
    Table,
)
from pipelines.safety import NEUTRALIZE_SQL_MACRO, installation_salt

SQL_DIR = Path(__file__).parent / "sql"
# Marts in the order they are built; each file creates the table of its name.
MARTS = (
    "regions",
    "population_by_region",
    "residents_by_region_age",
    "housing_by_region",
    "housing_by_region_type",
    "events",
    "events_by_region_day",
    "overdue_changes_by_region_day",
    "resolve_times",
    "resolve_time_histogram",
    "events_by_region_month",
    "collective_economy",
    "resolve_times_by_grid",
    "region_snapshot",
    "devices",
    "devices_by_region",
    "alarms",
    "alarms_by_region_day",
)
# Marts read one region at a time: an index on region_code makes that a lookup. Zone maps cannot,
# since DuckDB keeps 8-byte prefixes of strings and every code begins with the same digits; the
# marts read by ranges of days or grids carry the code as a number instead, where they are exact.
INDEXED_BY_REGION = (
    "region_snapshot",
    "population_by_region",
    "residents_by_region_age",
    "housing_by_region",
    "devices_by_region",
)
# Zone maps (the min and max of each column) are kept per row group. DuckDB's default of 122,880 rows
# makes a question about one grid read 122,880 rows; row groups of 16,384 read about an eighth of that.
ROW_GROUP_ROWS = 16_384
REJECT_COLUMNS = ("file", "line", "column", "value", "reason")
DEMO_MARKER = "DEMO.json"
BOUNDARIES_FILE = "boundaries.geojson"
# Files an input folder holds beside the tables, read by name.
COMPANION_FILES = (DEMO_MARKER, BOUNDARIES_FILE)
# How many rows each table has in a published database, read from the marts that keep them all.
PUBLISHED_ROWS_SQL = {
    "regions": "select count(*) from regions where level <> 'city'",
    "residents": f"select coalesce(sum(residents), 0) from population_by_region where region_code = '{CITY_CODE}'",
    "housing": f"select coalesce(sum(units), 0) from housing_by_region where region_code = '{CITY_CODE}'",
    "events": "select count(*) from events",
    "collective_economy": "select count(*) from collective_economy",
    "devices": "select count(*) from devices",
    "alarms": "select count(*) from alarms",
}
# A load that leaves a table with fewer rows than this share of the published one stops, unless allowed.
SHRINK_LIMIT = 0.5

Progress = Callable[[str, float], None]
Warn = Callable[[str], None]


class BuildError(Exception):
    """A build that cannot go on; the message names the file and the problem."""


@dataclass
class FileAudit:
    file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_superseded: int


@dataclass
class BuildResult:
    db_path: Path
    rejects_path: Path
    audit: list[FileAudit]
    seconds: float


def rejects_path_for(db_path: Path) -> Path:
    """`data/yiping.duckdb` -> `data/yiping.rejects.csv`."""
    return db_path.with_name(db_path.stem + ".rejects.csv")


def _quiet(message: str, fraction: float) -> None:
    return None


def warn_on_stderr(message: str) -> None:
    print(f"警告：{message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Load:
    """One publish: a build (number 1) or an ingest after it (2, 3 ...), with an id of its own.

    The id is stored in build_info and the number on every load_log and load_rejects row, so a
    database names the load it holds and the rejects of each load it took in.
    """

    number: int
    command: str
    id: str
    at: dt.datetime

    @classmethod
    def next(cls, number: int, command: str) -> Load:
        return cls(number, command, secrets.token_hex(8), dt.datetime.now().replace(microsecond=0))


def build(
    input_dir: Path,
    db_path: Path,
    progress: Progress = _quiet,
    today: dt.date | None = None,
    *,
    allow_shrink: bool = True,
    warn: Warn = warn_on_stderr,
) -> BuildResult:
    """Load `input_dir` into a new database and publish it as `db_path`.

    With `allow_shrink=False` (the command line's default), a build that would leave a table with
    fewer than half the rows of the published database stops before publishing.
    """
    started = time.perf_counter()
    input_dir, db_path = Path(input_dir), Path(db_path)
    today = today or dt.date.today()
    try:
        files = input_files(input_dir, warn)
    except readers.InputFileError as exc:
        raise BuildError(str(exc)) from None
    if "regions" not in files:
        raise BuildError(
            f"{input_dir}: 缺少 regions 文件（regions.csv、regions.xlsx 或 regions.parquet），其他表都要引用它"
        )
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with load_lock(db_path, warn):
        remove_stale_builds(db_path)
        building = building_path(db_path)
        rejects_building = rejects_building_path(building)
        steps = len(TABLES) + len(MARTS) + 1
        try:
            con = connect_building(building)
            try:
                configure(con, building)
                salt = installation_salt(db_path.parent)
                audit: list[FileAudit] = []
                step = 0
                for table in TABLES:
                    path = files.get(table.name)
                    progress(f"校验 {path.name if path else table.name}", step / steps)
                    if path is None:
                        _load_empty(con, table, today)
                    else:
                        audit.append(load_table(con, table, path, salt, today))
                    step += 1
                if not allow_shrink:
                    staged = {
                        t.name: con.execute(f"select count(*) from stg_{t.name}").fetchall()[0][0]
                        for t in TABLES
                    }
                    check_shrink(published_rows(db_path), staged)
                for mart in MARTS:
                    progress(f"汇总 {mart}", step / steps)
                    con.execute(_mart_sql(mart))
                    step += 1
                for mart in INDEXED_BY_REGION:
                    con.execute(f"create index {mart}_region on {mart} (region_code)")
                progress("发布", step / steps)
                _load_boundaries(con, input_dir / BOUNDARIES_FILE)
                load = Load.next(1, "build")
                _write_metadata(con, audit, input_dir, today, load)
                finish(con, rejects_building)
            finally:
                con.close()
            swap_in(building, rejects_building, db_path)
        except readers.InputFileError as exc:
            raise BuildError(str(exc)) from None
        except duckdb.Error as exc:
            raise BuildError(f"构建失败：{database_problem(exc)}") from exc
        except OSError as exc:
            raise BuildError(os_problem(exc, input_dir)) from None
        finally:
            remove_building(building)
    progress("完成", 1.0)
    return BuildResult(db_path, rejects_path_for(db_path), audit, time.perf_counter() - started)


def database_problem(exc: duckdb.Error) -> str:
    """DuckDB's first line of an error; a full disk says so first, in words a steward reads."""
    text = str(exc).splitlines()[0]
    if "No space left on device" in text:
        return f"磁盘空间不足，已发布的数据库保持不变（{text}）"
    return text


def os_problem(exc: OSError, where: Path) -> str:
    """A failed read or write as a steward reads it; a full disk says so."""
    if exc.errno == errno.ENOSPC:
        return f"{exc.filename or where}: 磁盘空间不足（{exc.strerror}），已发布的数据库保持不变"
    return f"{exc.filename or where}: 无法读取或写入（{exc.strerror}）"


# ------------------------------------------------------------------------------- input files

# A separator between a table's name and the rest of an increment's name: `events_20251221`,
# `events-0930`, `网格事件 1221`, `events20251221`.
_NAME_SEPARATORS = "_-. （("


def table_spellings() -> dict[str, str]:
    """Every spelling of a table's name a file may start with (lowercase) -> the table."""
    spellings: dict[str, str] = {}
    for table in TABLES:
        spellings[table.name.lower()] = table.name
        spellings[table.label] = table.name
    return spellings


def table_of_file(name: str, *, increment: bool = False) -> str | None:
    """The contract table a file's name names, or None (not a table, or not one table only).

    A build's file is named exactly after its table (`events.csv`, `网格事件.xlsx`); an increment's
    name starts with it (`events_20251221.csv`, `events-0930.xlsx`).
    """
    stem, _, suffix = name.rpartition(".")
    if not stem or f".{suffix.lower()}" not in FILE_SUFFIXES:
        return None
    stem = stem.strip().lower()
    found = set()
    for spelling, table in table_spellings().items():
        if stem == spelling:
            return table
        rest = stem[len(spelling) :]
        if increment and stem.startswith(spelling) and (rest[0] in _NAME_SEPARATORS or rest[0].isdigit()):
            found.add(table)
    return found.pop() if len(found) == 1 else None


def not_a_table(path: Path, *, increment: bool = False) -> str:
    """Why a file of an input folder is not loaded, for the warning that names it."""
    tables = "、".join(f"{t.name}（{t.label}）" for t in TABLES)
    if f".{path.name.rpartition('.')[2].lower()}" not in FILE_SUFFIXES:
        return f"{path.name}: 未导入：只读取 .csv、.xlsx 和 .parquet 文件"
    if not increment and table_of_file(path.name, increment=True):
        return f"{path.name}: 未导入：文件名不是表名；如是增量文件，请用 ingest 导入"
    return f"{path.name}: 未导入：文件名不是输入表的名称（{tables}）"


def _visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())


def input_files(input_dir: Path, warn: Warn = warn_on_stderr) -> dict[str, Path]:
    """The file of every table in a build's input folder; a file that is no table is named in a warning.

    Two files for one table (`events.csv` and `网格事件.xlsx`) is an error: which one is meant?
    """
    if not input_dir.is_dir():
        raise readers.InputFileError(str(input_dir), "输入目录不存在 (input folder not found)")
    found: dict[str, Path] = {}
    for path in _visible_files(input_dir):
        table = table_of_file(path.name)
        if table is None:
            if path.name not in COMPANION_FILES:
                warn(not_a_table(path))
            continue
        if table in found:
            raise readers.InputFileError(
                path.name,
                f"表 {table} 有两个输入文件（{found[table].name} 和 {path.name}），只能保留一个",
            )
        found[table] = path
    return found


# ------------------------------------------------------------------------------ guards, publish


def published_rows(db_path: Path) -> dict[str, int]:
    """Rows of every table in the published database; empty when there is none to compare with."""
    if not db_path.exists():
        return {}
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return {}  # not a database this project can read: nothing to protect
    try:
        return table_rows(con)
    finally:
        con.close()


def table_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every table held in the database `con` reads by default."""
    rows = {}
    for table, sql in PUBLISHED_ROWS_SQL.items():
        try:
            rows[table] = int(con.execute(sql).fetchall()[0][0])
        except duckdb.Error:
            continue
    return rows


def check_shrink(before: dict[str, int], after: dict[str, int]) -> None:
    """Stop a load that would leave a table with fewer than half its published rows."""
    for table, old in before.items():
        new = after.get(table, 0)
        if old > 0 and new < old * SHRINK_LIMIT:
            raise BuildError(
                f"表 {table}（{TABLES_BY_NAME[table].label}）将从 {old} 行减少到 {new} 行，不到已发布数据库的一半，"
                "已停止；如确是有意为之，请加 --allow-shrink"
            )


@contextmanager
def load_lock(db_path: Path, warn: Warn = warn_on_stderr) -> Iterator[None]:
    """One load at a time into a database's folder, so that no load publishes over another's work.

    The folder itself is locked: a lock file beside the database would be one more file there.
    """
    fd = os.open(db_path.parent, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            warn(f"另一个构建或导入正在写入 {db_path.parent}，等待它结束")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def building_path(db_path: Path) -> Path:
    """Where a load writes the next database, beside the target; the pid tells a killed load's leftovers."""
    return db_path.with_name(f"{db_path.name}.building-{os.getpid()}")


def rejects_building_path(building: Path) -> Path:
    # not building.with_suffix(): that would replace ".building-<pid>" and escape the stale-build cleanup
    return building.with_name(building.name + ".rejects.csv")


def remove_building(building: Path) -> None:
    for leftover in (building, rejects_building_path(building), Path(str(building) + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(building.with_name(building.name + ".tmp"), ignore_errors=True)


def finish(con: duckdb.DuckDBPyConnection, rejects_building: Path) -> None:
    """Write the rejects report, record its digest in build_info, write the database out and close it.

    Everything is on disk before anything is published, so a failure here publishes nothing.
    """
    digest = _write_rejects(con, rejects_building)
    con.execute("update build_info set rejects_sha256 = ?", [digest])
    con.execute("checkpoint yiping")
    con.execute("use memory")
    con.execute("detach yiping")


def swap_in(building: Path, rejects_building: Path, db_path: Path) -> None:
    """Publish the new database, then its rejects report, each by an atomic rename.

    The database goes first: it is the record of what was loaded, and it holds the report's rows
    (load_rejects) and its SHA-256 (build_info.rejects_sha256). Between the two renames, or when
    a load is killed between them, the report on disk is the previous one; a reader that must
    match them compares the digest (`rejects_report_is_current`), and the next load writes the
    report afresh from the database. A reader never sees a report of a load whose database was
    not published.
    """
    os.replace(building, db_path)
    os.replace(rejects_building, rejects_path_for(db_path))


def rejects_report_is_current(db_path: Path) -> bool:
    """Whether the rejects report beside the database is the one written with it."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        digest = con.execute("select rejects_sha256 from build_info").fetchall()[0][0]
    finally:
        con.close()
    try:
        return hashlib.sha256(rejects_path_for(db_path).read_bytes()).hexdigest() == digest
    except FileNotFoundError:
        return False


def remove_stale_builds(db_path: Path) -> None:
    """Remove what a killed build left behind; a running build's files are left alone."""
    for leftover in db_path.parent.glob(f"{db_path.name}.building-*"):
        pid = leftover.name.split("-")[-1].split(".")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        if leftover.is_dir():  # DuckDB's spill directory, `<building>.tmp`
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def connect_building(building: Path) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the new file, written in row groups of ROW_GROUP_ROWS."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(
            f"attach '{str(building).replace(chr(39), chr(39) * 2)}' as yiping (row_group_size {ROW_GROUP_ROWS})"
        )
        con.execute("use yiping")
    except duckdb.Error:
        con.close()
        raise
    return con


def configure(con: duckdb.DuckDBPyConnection, building: Path, memory_limit: str | None = None) -> None:
    """Spill, memory, macros and the tables every load reads besides its input."""
    spill = building.with_name(building.name + ".tmp")
    con.execute(f"set temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    con.execute("set memory_limit = ?", [memory_limit or os.environ.get("YIPING_BUILD_MEMORY", "6GB")])
    con.execute("set preserve_insertion_order = false")
    con.execute(staging.MACROS)
    con.create_function("yp_h3", _h3_cell, [DOUBLE, DOUBLE, INTEGER], VARCHAR)
    con.execute(NEUTRALIZE_SQL_MACRO)
    con.execute(
        "create temp table sla_hours as select * from (values "
        + ", ".join(f"('{c}', {h})" for c, h in SLA_HOURS.items())
        + ") as v(category, hours)"
    )
    con.execute(
        'create temp table rejects (file varchar, line bigint, "column" varchar, value varchar, reason varchar)'
    )


# Map resolutions: the city is drawn with cells of ~36 km², a district ~0.7 km², below that ~0.1 km².
H3_RESOLUTIONS = (6, 8, 9)


def _h3_cell(lat: float, lon: float, resolution: int) -> str:
    return h3.latlng_to_cell(lat, lon, resolution)


def _key_sql(table: Table) -> str:
    return ", ".join(table.key)


def load_table(
    con: duckdb.DuckDBPyConnection, table: Table, path: Path, salt: str, today: dt.date
) -> FileAudit:
    """Check one file into `stg_<table>` (its last valid row per key) and its bad rows into `rejects`."""
    raw = readers.register(con, path, table)
    params = {"salt": salt} if table.name == "residents" else None
    sql = staging.checked_sql(table, raw.view, today.year)
    try:
        con.execute(f"create temp table checked_{table.name} as {sql}", params)
    except duckdb.Error as exc:
        raise readers.reading_problem(raw, exc) or exc from None
    if table.name == "regions":
        _check_region_parents(con)
    con.execute(
        f"""
        create temp table stg_{table.name} as
        select * exclude (problems, _line)
        from checked_{table.name}
        where len(problems) = 0
        qualify row_number() over (partition by {_key_sql(table)} order by _line desc) = 1
        """
    )
    con.execute(
        f"""
        insert into rejects
        select ?, _line, p.column_name, p.value, p.reason
        from (select _line, unnest(problems) as p from checked_{table.name} where len(problems) > 0)
        """,
        [raw.file],
    )
    if raw.unreadable_rows:
        con.executemany(
            "insert into rejects values (?, ?, '', null, ?)",
            [[raw.file, line, why] for line, why in raw.unreadable_rows],
        )
    read, valid, rejected = con.execute(
        f"select count(*), count(*) filter (where len(problems) = 0), count(*) filter (where len(problems) > 0) "
        f"from checked_{table.name}"
    ).fetchall()[0]
    loaded = con.execute(f"select count(*) from stg_{table.name}").fetchall()[0][0]
    con.execute(f"drop table checked_{table.name}")
    con.execute(f"drop view {raw.view}")
    if f"arrow_{table.name}" in {name for (name,) in con.execute("show tables").fetchall()}:
        con.unregister(f"arrow_{table.name}")
    unreadable = len(raw.unreadable_rows)
    return FileAudit(raw.file, read + unreadable, loaded, rejected + unreadable, valid - loaded)


def _check_region_parents(con: duckdb.DuckDBPyConnection) -> None:
    """A region's parent must be a valid region one level up: level by level, so rejections cascade."""
    for level, parent in PARENT_LEVEL.items():
        if parent is None:
            continue
        con.execute(
            """
            update checked_regions
            set problems = [struct_pack(column_name := 'parent_code', value := parent_code,
                reason := '上级代码 ' || parent_code || ' 不是已导入的' || ? || '（或该行已被拒绝）')]
            where len(problems) = 0
              and level = ?
              and parent_code not in (select code from checked_regions where level = ? and len(problems) = 0)
            """,
            [{"district": "区县", "township": "街镇", "community": "村社区"}[parent], level, parent],
        )


def _load_empty(con: duckdb.DuckDBPyConnection, table: Table, today: dt.date) -> None:
    """A table with no input file: staging exists with no rows, so marts still build."""
    names = [c.name for c in table.columns_read]
    con.execute(
        f"create temp view raw_{table.name} as select null::bigint as _line, "
        + ", ".join(f"null::varchar as {n}" for n in names)
        + " where false"
    )
    params = {"salt": ""} if table.name == "residents" else None
    sql = staging.checked_sql(table, f"raw_{table.name}", today.year)
    con.execute(
        f"create temp table stg_{table.name} as select * exclude (problems, _line) from ({sql})", params
    )
    con.execute(f"drop view raw_{table.name}")


def mart_select(name: str) -> str:
    """The query of a mart, as a select statement."""
    text = (SQL_DIR / "marts" / f"{name}.sql").read_text(encoding="utf-8")
    return text.replace("{{ city_code }}", f"'{CITY_CODE}'").replace("{{ city_name }}", f"'{CITY_NAME}'")


def _mart_sql(name: str) -> str:
    return f"create table {name} as\n{mart_select(name)}"


def _load_boundaries(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Every region's outline as table `boundaries`: those of an optional GeoJSON FeatureCollection
    beside the tables first, then the shipped ones, then outlines derived to tile their parent."""
    given = {code: outlines.from_geojson(json.loads(text)) for code, text in _given_boundaries(path)}
    regions = con.execute(
        "select code, level, parent_code, lon, lat, has_own_position from regions where level <> 'city'"
    ).df()
    con.register("outline_rows", outlines.build_outlines(regions, given))
    con.execute(
        """
        create table boundaries (
            code varchar, level varchar, source varchar, geometry varchar, label_lon double,
            label_lat double, area_km2 double, lon_min double, lat_min double, lon_max double, lat_max double
        )
        """
    )
    con.execute(
        f"insert into boundaries select {', '.join(outlines.COLUMNS)} from outline_rows order by code"
    )
    con.unregister("outline_rows")


def _given_boundaries(path: Path) -> list[tuple[str, str]]:
    """(code, GeoJSON geometry) of each outline in the input folder's boundaries.geojson, checked."""
    rows: list[tuple[str, str]] = []
    if path.exists():
        try:
            collection = json.loads(path.read_text(encoding="utf-8-sig"))
            features = collection["features"] if collection.get("type") == "FeatureCollection" else None
        except (ValueError, AttributeError, KeyError, UnicodeDecodeError) as exc:
            raise readers.InputFileError(path.name, f"不是有效的 GeoJSON：{str(exc)[:120]}") from None
        if not isinstance(features, list):
            raise readers.InputFileError(path.name, "应为 GeoJSON FeatureCollection")
        for number, feature in enumerate(features, start=1):
            if not isinstance(feature, dict):
                raise readers.InputFileError(path.name, f"第 {number} 个要素不是 GeoJSON Feature 对象")
            properties = feature.get("properties")
            properties = properties if isinstance(properties, dict) else {}
            code = str(properties.get("code") or properties.get("区划代码") or "").strip()
            geometry = feature.get("geometry")
            if (
                not code
                or not isinstance(geometry, dict)
                or geometry.get("type") not in ("Polygon", "MultiPolygon")
            ):
                raise readers.InputFileError(
                    path.name, f"第 {number} 个要素缺少 properties.code 或 Polygon/MultiPolygon 几何"
                )
            problem = geometry_problem(geometry)
            if problem:
                raise readers.InputFileError(
                    path.name, f"第 {number} 个要素（{code[:20]}）的几何无效：{problem}"
                )
            rows.append((code, json.dumps(geometry, separators=(",", ":"))))
    return rows


def geometry_problem(geometry: dict) -> str | None:
    """What makes a Polygon or MultiPolygon unusable as an outline, None when it can be drawn.

    Maps and reports index into every ring, so an empty or short ring must stop the build here.
    """
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        return "coordinates 为空"
    polygons = [coordinates] if geometry.get("type") == "Polygon" else coordinates
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return "多边形没有环"
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                return "环应至少有 4 个点（首尾相同）"
            for point in ring:
                if (
                    not isinstance(point, list)
                    or len(point) not in (2, 3)
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
                ):
                    return f"点 {str(point)[:40]} 不是 [经度, 纬度]"
                # comparisons, not math.isfinite: NaN fails them, and a huge integer cannot overflow
                if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
                    return f"点 {str(point)[:40]} 超出经纬度范围"
    return None


def demo_settings(path: Path) -> dict:
    """The demo marker's settings; an empty dict when the folder holds real input (no marker)."""
    if not path.exists():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise readers.InputFileError(path.name, f"不是有效的 JSON：{str(exc)[:120]}") from None
    if not isinstance(settings, dict):
        raise readers.InputFileError(path.name, '应为 JSON 对象（例如 {"demo": true}）')
    return settings


def record_load(con: duckdb.DuckDBPyConnection, audit: list[FileAudit], load: Load) -> None:
    """Keep the audit of every file and the rejects of this load beside those of earlier loads."""
    con.executemany(
        "insert into load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [load.number, load.id, load.command, load.at, position, a.file]
            + [a.rows_read, a.rows_loaded, a.rows_rejected, a.rows_superseded]
            for position, a in enumerate(audit, start=1)
        ],
    )
    con.execute("insert into load_rejects select ?, * from rejects", [load.number])


def _write_metadata(
    con: duckdb.DuckDBPyConnection, audit: list[FileAudit], input_dir: Path, today: dt.date, load: Load
) -> None:
    # Every load since the build, one row per file; load_audit shows the contract's columns of it.
    con.execute(
        "create table load_log (load_number integer, load_id varchar, command varchar, loaded_at timestamp, "
        "position integer, file varchar, rows_read bigint, rows_loaded bigint, rows_rejected bigint, "
        "rows_superseded bigint)"
    )
    con.execute(
        "create view load_audit as "
        "select file, rows_read, rows_loaded, rows_rejected, rows_superseded from load_log "
        "order by load_number, position"
    )
    con.execute(
        'create table load_rejects (load_number integer, file varchar, line bigint, "column" varchar, '
        "value varchar, reason varchar)"
    )
    record_load(con, audit, load)
    demo = demo_settings(input_dir / DEMO_MARKER)
    con.execute(
        """
        create table build_info as
        select
            ?::timestamp as published_at,
            ?::boolean as is_demo,
            ?::varchar as demo_settings,
            (select max(reported_date) from events) as latest_event_date,
            (select max(year) from collective_economy) as latest_economy_year,
            ?::integer as level_count,
            ?::varchar as load_id,
            ?::integer as load_number,
            null::varchar as rejects_sha256
        """,
        [load.at, bool(demo.get("demo")), json.dumps(demo), len(LEVELS), load.id, load.number],
    )


def _write_rejects(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The rejects report of every load since the build: UTF-8 with BOM so Excel opens it, formulas
    neutralised. Returns its SHA-256."""
    reader = con.sql(
        """
        select file, line, "column", yp_safe_text(value) as value, reason
        from load_rejects
        order by load_number, file, line, "column"
        """
    ).to_arrow_reader(100_000)
    with path.open("wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        with pacsv.CSVWriter(
            fh, reader.schema, write_options=pacsv.WriteOptions(include_header=True)
        ) as writer:
            for batch in reader:
                writer.write_batch(batch)
        fh.flush()
        os.fsync(fh.fileno())
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def describe_audit(audit: list[FileAudit]) -> str:
    """The audit as a small table for the terminal."""
    head = f"{'file':<28}{'rows_read':>12}{'rows_loaded':>13}{'rows_rejected':>15}{'rows_superseded':>17}"
    lines = [head]
    for a in audit:
        lines.append(
            f"{a.file:<28}{a.rows_read:>12}{a.rows_loaded:>13}{a.rows_rejected:>15}{a.rows_superseded:>17}"
        )
    return "\n".join(lines)
