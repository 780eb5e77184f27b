"""Build: validate and load every input file, build the marts, publish the database atomically.

The database is written to a new file beside the target and renamed over it at the end, so a
reader sees the old database or the new one, and a build that dies half-way leaves the old one
as it was. The rejects report is published the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import h3
import pyarrow.csv as pacsv
from duckdb.sqltypes import DOUBLE, INTEGER, VARCHAR

from pipelines import readers, staging
from pipelines.contract import CITY_CODE, CITY_NAME, LEVELS, PARENT_LEVEL, SLA_HOURS, TABLES, Table
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
    "resolve_times",
    "resolve_time_histogram",
    "events_by_region_month",
    "collective_economy",
    "resolve_times_by_grid",
    "region_snapshot",
)
# Marts read one region at a time: an index on region_code makes that a lookup. Zone maps cannot,
# since DuckDB keeps 8-byte prefixes of strings and every code begins with the same digits; the
# marts read by ranges of days or grids carry the code as a number instead, where they are exact.
INDEXED_BY_REGION = (
    "region_snapshot",
    "population_by_region",
    "residents_by_region_age",
    "housing_by_region",
)
# Zone maps (the min and max of each column) are kept per row group. DuckDB's default of 122,880 rows
# makes a question about one grid read 122,880 rows; row groups of 16,384 read about an eighth of that.
ROW_GROUP_ROWS = 16_384
REJECT_COLUMNS = ("file", "line", "column", "value", "reason")
DEMO_MARKER = "DEMO.json"
BOUNDARIES_FILE = "boundaries.geojson"

Progress = Callable[[str, float], None]


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


def build(
    input_dir: Path, db_path: Path, progress: Progress = _quiet, today: dt.date | None = None
) -> BuildResult:
    """Load `input_dir` into a new database and publish it as `db_path`."""
    started = time.perf_counter()
    input_dir, db_path = Path(input_dir), Path(db_path)
    today = today or dt.date.today()
    try:
        files = readers.find_input_files(input_dir)
    except readers.InputFileError as exc:
        raise BuildError(str(exc)) from None
    if "regions" not in files:
        raise BuildError(
            f"{input_dir}: 缺少 regions 文件（regions.csv、regions.xlsx 或 regions.parquet），其他表都要引用它"
        )
    db_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(db_path)
    building = db_path.with_name(f"{db_path.name}.building-{os.getpid()}")
    # not building.with_suffix(): that would replace ".building-<pid>" and escape the stale-build cleanup
    rejects_building = building.with_name(building.name + ".rejects.csv")
    steps = len(TABLES) + len(MARTS) + 1
    try:
        con = _connect(building)
        try:
            _configure(con, building)
            salt = installation_salt(db_path.parent)
            audit: list[FileAudit] = []
            step = 0
            for table in TABLES:
                path = files.get(table.name)
                progress(f"校验 {path.name if path else table.name}", step / steps)
                if path is None:
                    _load_empty(con, table, today)
                else:
                    audit.append(_load_table(con, table, path, salt, today))
                step += 1
            for mart in MARTS:
                progress(f"汇总 {mart}", step / steps)
                con.execute(_mart_sql(mart))
                step += 1
            for mart in INDEXED_BY_REGION:
                con.execute(f"create index {mart}_region on {mart} (region_code)")
            progress("发布", step / steps)
            _load_boundaries(con, input_dir / BOUNDARIES_FILE)
            _write_metadata(con, audit, input_dir, today)
            _write_rejects(con, rejects_building)
            # written out and closed before publishing, so that a failure here stops the build
            con.execute("checkpoint yiping")
            con.execute("use memory")
            con.execute("detach yiping")
        finally:
            con.close()
        os.replace(rejects_building, rejects_path_for(db_path))
        os.replace(building, db_path)
    except readers.InputFileError as exc:
        raise BuildError(str(exc)) from None
    except duckdb.Error as exc:
        raise BuildError(f"构建失败：{str(exc).splitlines()[0]}") from exc
    except OSError as exc:
        raise BuildError(f"{exc.filename or input_dir}: 无法读取或写入（{exc.strerror}）") from None
    finally:
        for leftover in (building, rejects_building, Path(str(building) + ".wal")):
            leftover.unlink(missing_ok=True)
    progress("完成", 1.0)
    return BuildResult(db_path, rejects_path_for(db_path), audit, time.perf_counter() - started)


def _remove_stale_builds(db_path: Path) -> None:
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


def _connect(building: Path) -> duckdb.DuckDBPyConnection:
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


def _configure(con: duckdb.DuckDBPyConnection, building: Path) -> None:
    spill = building.with_name(building.name + ".tmp")
    con.execute(f"set temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    con.execute("set memory_limit = ?", [os.environ.get("YIPING_BUILD_MEMORY", "6GB")])
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


def _load_table(
    con: duckdb.DuckDBPyConnection, table: Table, path: Path, salt: str, today: dt.date
) -> FileAudit:
    raw = readers.register(con, path, table)
    params = {"salt": salt} if table.name == "residents" else None
    sql = staging.checked_sql(table, raw.view, today.year)
    con.execute(f"create temp table checked_{table.name} as {sql}", params)
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


def _mart_sql(name: str) -> str:
    text = (SQL_DIR / "marts" / f"{name}.sql").read_text(encoding="utf-8")
    text = text.replace("{{ city_code }}", f"'{CITY_CODE}'").replace("{{ city_name }}", f"'{CITY_NAME}'")
    return f"create table {name} as\n{text}"


def _load_boundaries(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Region outlines keyed by code, from an optional GeoJSON FeatureCollection beside the tables."""
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
    con.execute("create table boundaries (code varchar, geometry varchar)")
    if rows:
        con.executemany("insert into boundaries values (?, ?)", rows)
        con.execute("delete from boundaries where code not in (select code from regions)")


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


def _write_metadata(
    con: duckdb.DuckDBPyConnection, audit: list[FileAudit], input_dir: Path, today: dt.date
) -> None:
    con.execute(
        "create table load_audit (file varchar, rows_read bigint, rows_loaded bigint, "
        "rows_rejected bigint, rows_superseded bigint)"
    )
    con.executemany(
        "insert into load_audit values (?, ?, ?, ?, ?)",
        [[a.file, a.rows_read, a.rows_loaded, a.rows_rejected, a.rows_superseded] for a in audit],
    )
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
            ?::integer as level_count
        """,
        [dt.datetime.now().replace(microsecond=0), bool(demo.get("demo")), json.dumps(demo), len(LEVELS)],
    )


def _write_rejects(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The rejects report: UTF-8 with BOM so Excel opens it, formulas neutralised."""
    reader = con.sql(
        """
        select file, line, "column", yp_safe_text(value) as value, reason
        from rejects
        order by file, line, "column"
        """
    ).to_arrow_reader(100_000)
    with path.open("wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        with pacsv.CSVWriter(
            fh, reader.schema, write_options=pacsv.WriteOptions(include_header=True)
        ) as writer:
            for batch in reader:
                writer.write_batch(batch)


def describe_audit(audit: list[FileAudit]) -> str:
    """The audit as a small table for the terminal."""
    head = f"{'file':<28}{'rows_read':>12}{'rows_loaded':>13}{'rows_rejected':>15}{'rows_superseded':>17}"
    lines = [head]
    for a in audit:
        lines.append(
            f"{a.file:<28}{a.rows_read:>12}{a.rows_loaded:>13}{a.rows_rejected:>15}{a.rows_superseded:>17}"
        )
    return "\n".join(lines)
