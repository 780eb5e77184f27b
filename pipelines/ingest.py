"""Ingest: merge increments of a continuous table into the published database and publish it again.

An increment follows the contract of its table, read and checked by the build's own readers and
staging SQL. A row whose key is stored replaces the stored row, a new key is added. The marts
built on the table are then recomputed for the slices the old and new rows fall in (the days,
months or grid-days their grain names), so that the result equals a full build over the same
files: the build's input with every increment appended in order.

The published file is copied beside itself, changed, and renamed back in with its rejects report,
as a build publishes; a failed or killed ingest leaves the published database as it was.

Changed rows are written after the build's: a mart's clustering (by district and time, by grid)
holds for the build's rows and the few row groups each ingest adds; the next build restores it.
Slices cost what they read: 10,000 changes spread over three years touch every day, so the city's
rows of every day are recounted (a few seconds on the full demo); a day's feed touches a few days.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from pipelines import readers
from pipelines.build import (
    MARTS,
    BuildError,
    FileAudit,
    Load,
    Progress,
    Warn,
    building_path,
    check_shrink,
    configure,
    connect_building,
    database_problem,
    finish,
    load_lock,
    load_table,
    mart_select,
    not_a_table,
    os_problem,
    record_load,
    rejects_building_path,
    rejects_path_for,
    remove_building,
    remove_stale_builds,
    swap_in,
    table_of_file,
    table_rows,
    warn_on_stderr,
)
from pipelines.contract import ALARMS, CITY_CODE, EVENTS, Table

# An ingest holds the increment and the slices it touches in memory, not the database; this is
# its ceiling before DuckDB spills to disk beside the target.
DEFAULT_MEMORY = "2GB"
# Room an ingest needs on disk besides the copy of the database: the write-ahead log and spill.
DISK_MARGIN = 1.2


@dataclass(frozen=True)
class Slice:
    """The part of a derived mart that one changed row of its source can move, and how to rebuild it.

    `key` is SQL over a row of the source (and of the stored table) naming its slice; `mart_key`
    names the same slice over a row of the mart, and `rows` which rows of the mart this slice
    rebuilds. The slice's rows are deleted and made again by the mart's own SQL, reading only the
    source rows of the affected slices. A mart that rolls up over regions has a slice per level:
    with the codes below a level blanked (`blank`), every grouping set of the rollup folds into
    that level, so a district's day reads the district's events, not the city's.
    """

    key: str
    mart_key: str
    rows: str = "true"
    blank: tuple[str, ...] = ()


@dataclass(frozen=True)
class Derived:
    """A mart computed from `source`, rebuilt slice by slice."""

    mart: str
    source: str
    slices: tuple[Slice, ...]


@dataclass(frozen=True)
class Continuous:
    """A table that grows by increments: the mart storing its rows by key, and what is built on it.

    `references` gives the staging tables its rules look up (`stg_regions` for a grid code) as
    queries of the published marts that hold the same rows.
    """

    table: Table
    stored: str
    derived: tuple[Derived, ...]
    references: tuple[tuple[str, str], ...] = ()


_CITY = f"'{CITY_CODE}'"
_BELOW_DISTRICT = ("township_code", "community_code", "grid_code")


def _by_level(period: str, period_in_mart: str, deepest: int) -> tuple[Slice, ...]:
    """Slices of a mart rolled up from grids (or townships, `deepest` 9) to the city, per period."""
    below = _BELOW_DISTRICT if deepest == 15 else ("township_code",)
    return (
        Slice(
            f"(township_code, {period})",
            f"(substr(region_code, 1, 9), {period_in_mart})",
            "length(region_code) >= 9",
        ),
        Slice(
            f"(district_code, {period})",
            f"(region_code, {period_in_mart})",
            "length(region_code) = 6",
            blank=below,
        ),
        Slice(period, period_in_mart, f"region_code = {_CITY}", blank=("district_code", *below)),
    )


def _of_kind(kind: str, slices: tuple[Slice, ...]) -> tuple[Slice, ...]:
    """The same slices over the mart's rows of one kind: a mart whose kinds of row are dated by
    different columns of the source rebuilds each kind by its own date."""
    return tuple(replace(part, rows=f"kind = '{kind}' and ({part.rows})") for part in slices)


CONTINUOUS: dict[str, Continuous] = {
    "events": Continuous(
        EVENTS,
        stored="events",
        derived=(
            Derived("events_by_region_day", "events", _by_level("reported_date", "reported_date", 15)),
            # an event enters the overdue backlog on one day and may leave it on another
            Derived(
                "overdue_changes_by_region_day",
                "events",
                _of_kind("overdue", _by_level("greatest(reported_at, due_at)::date", "change_date", 15)),
            ),
            Derived(
                "overdue_changes_by_region_day",
                "events",
                _of_kind("resolved", _by_level("resolved_at::date", "change_date", 15)),
            ),
            # one row per resolved event: the rows of a day and a duration are interchangeable
            Derived(
                "resolve_times",
                "events",
                (Slice("(reported_date, ms_to_resolve)", "(reported_date, ms_to_resolve)"),),
            ),
            Derived(
                "events_by_region_month",
                "events",
                _by_level("date_trunc('month', reported_date)::date", "month", 9),
            ),
            Derived(
                "resolve_times_by_grid",
                "events",
                (Slice("(grid_code::bigint, reported_date)", "(grid_number, reported_date)"),),
            ),
            Derived("resolve_time_histogram", "resolve_times", (Slice("reported_date", "reported_date"),)),
        ),
        references=(("stg_regions", "select * from regions where level <> 'city'"),),
    ),
    "alarms": Continuous(
        ALARMS,
        stored="alarms",
        derived=(Derived("alarms_by_region_day", "alarms", _by_level("raised_date", "raised_date", 15)),),
        # an alarm names a device: the devices of the last build
        references=(("stg_devices", "select device_id from devices"),),
    ),
}


@dataclass
class IngestResult:
    db_path: Path
    rejects_path: Path
    audit: list[FileAudit]
    added: int
    replaced: int
    seconds: float

    @property
    def rows(self) -> int:
        """Rows that reached the database: new keys and replaced ones."""
        return self.added + self.replaced


def _quiet(message: str, fraction: float) -> None:
    return None


def increment_files(path: Path, warn: Warn = warn_on_stderr) -> list[tuple[str, Path]]:
    """(table, file) of every increment at `path`, a file or a folder (taken in name order).

    A lone file that names no continuous table is an error; in a folder it is named in a warning.
    """
    if path.is_file():
        table = table_of_file(path.name, increment=True)
        if table not in CONTINUOUS:
            raise readers.InputFileError(path.name, _not_an_increment(path, table))
        return [(table, path)]
    if not path.is_dir():
        raise readers.InputFileError(str(path), "文件或目录不存在 (input not found)")
    found = []
    for file in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
        table = table_of_file(file.name, increment=True)
        if table in CONTINUOUS:
            found.append((table, file))
        else:
            warn(f"{file.name}: 未导入：{_not_an_increment(file, table)}")
    return found


def _not_an_increment(path: Path, table: str | None) -> str:
    if table is not None:
        return f"表 {table} 不能增量导入（可增量导入：{'、'.join(CONTINUOUS)}），请用 build 重新构建"
    return (
        not_a_table(path, increment=True).split(": ", 1)[1]
        + "；增量文件名应以表名开头，如 events_20251221.csv"
    )


def ingest(
    path: Path,
    db_path: Path,
    *,
    allow_shrink: bool = False,
    today: dt.date | None = None,
    warn: Warn = warn_on_stderr,
    progress: Progress = _quiet,
    memory_limit: str | None = None,
) -> IngestResult:
    """Merge the increments at `path` (a file or a folder) into the published `db_path`."""
    started = time.perf_counter()
    path, db_path = Path(path), Path(db_path)
    today = today or dt.date.today()
    try:
        files = increment_files(path, warn)
    except readers.InputFileError as exc:
        raise BuildError(str(exc)) from None
    if not files:
        raise BuildError(f"{path}: 没有可导入的增量文件（文件名应以表名开头，如 events_20251221.csv）")
    if not db_path.is_file():
        raise BuildError(f"{db_path}: 数据库不存在，请先运行 build")
    with load_lock(db_path, warn):
        remove_stale_builds(db_path)
        building = building_path(db_path)
        rejects_building = rejects_building_path(building)
        try:
            _check_disk(db_path)
            progress("复制已发布的数据库", 0.0)
            shutil.copyfile(db_path, building)
            con = connect_building(building)
            try:
                configure(
                    con, building, memory_limit or os.environ.get("YIPING_INGEST_MEMORY", DEFAULT_MEMORY)
                )
                load = _next_load(con, db_path)
                before = table_rows(con)
                for name, sql in {ref for table, _ in files for ref in CONTINUOUS[table].references}:
                    con.execute(f"create temp view {name} as {sql}")
                audit: list[FileAudit] = []
                added = replaced = 0
                touched: set[str] = set()
                for number, (table, file) in enumerate(files):
                    progress(f"校验 {file.name}", 0.1 + 0.6 * number / len(files))
                    audit.append(load_table(con, CONTINUOUS[table].table, file, "", today))
                    new, old = _merge(con, CONTINUOUS[table])
                    added, replaced = added + new, replaced + old
                    touched.add(table)
                for table in touched:
                    progress(f"汇总 {table}", 0.7)
                    _recompute(con, CONTINUOUS[table])
                if not allow_shrink:
                    check_shrink(before, table_rows(con))
                progress("发布", 0.9)
                record_load(con, audit, load)
                con.execute(
                    "update build_info set published_at = ?, load_id = ?, load_number = ?, "
                    "latest_event_date = (select max(reported_date) from events)",
                    [load.at, load.id, load.number],
                )
                finish(con, rejects_building)
            finally:
                con.close()
            swap_in(building, rejects_building, db_path)
        except readers.InputFileError as exc:
            raise BuildError(str(exc)) from None
        except duckdb.Error as exc:
            raise BuildError(f"{path.name}: 数据库操作出错：{database_problem(exc)}") from exc
        except OSError as exc:
            raise BuildError(os_problem(exc, path)) from None
        finally:
            remove_building(building)
    progress("完成", 1.0)
    return IngestResult(
        db_path, rejects_path_for(db_path), audit, added, replaced, time.perf_counter() - started
    )


def _check_disk(db_path: Path) -> None:
    """Stop before copying when the copy cannot fit: a full disk found half-way costs the time of the copy."""
    needed = db_path.stat().st_size * DISK_MARGIN
    free = shutil.disk_usage(db_path.parent).free
    if free < needed:
        raise BuildError(
            f"{db_path.parent}: 磁盘空间不足（需要约 {needed / 2**20:.0f} MB，可用 {free / 2**20:.0f} MB），"
            "已发布的数据库保持不变"
        )


def _next_load(con: duckdb.DuckDBPyConnection, db_path: Path) -> Load:
    try:
        number = con.execute("select max(load_number) from load_log").fetchall()[0][0]
        con.execute("select load_id, rejects_sha256 from build_info").fetchall()
        con.execute("select count(*) from load_rejects").fetchall()
    except duckdb.Error:
        raise BuildError(
            f"{db_path}: 数据库由较早的版本构建，没有逐次导入的记录；请先运行 build 重新构建"
        ) from None
    return Load.next((number or 0) + 1, "ingest")


def _merge(con: duckdb.DuckDBPyConnection, table: Continuous) -> tuple[int, int]:
    """Replace stored rows by the increment's (`stg_<table>`), add the new ones; (added, replaced).

    The old and new versions of every changed row are kept in `touched_<table>`: the slices of
    the derived marts to recompute are those either falls in. The new rows are made by the
    stored mart's own SQL, which reads `stg_<table>`.
    """
    name, stored = table.table.name, table.stored
    key = ", ".join(table.table.key)
    con.execute(f"create temp table new_{name} as {mart_select(stored)}")
    con.execute(
        f"create temp table old_{name} as select * from {stored} where ({key}) in (select ({key}) from stg_{name})"
    )
    replaced = con.execute(f"select count(*) from old_{name}").fetchall()[0][0]
    total = con.execute(f"select count(*) from new_{name}").fetchall()[0][0]
    con.execute(f"delete from {stored} where ({key}) in (select ({key}) from stg_{name})")
    con.execute(f"insert into {stored} by name select * from new_{name}")
    con.execute(f"create temp table if not exists touched_{name} as select * from {stored} limit 0")
    con.execute(f"insert into touched_{name} by name select * from old_{name}")
    con.execute(f"insert into touched_{name} by name select * from new_{name}")
    for scratch in (f"new_{name}", f"old_{name}", f"stg_{name}"):
        con.execute(f"drop table {scratch}")
    return total - replaced, replaced


def _recompute(con: duckdb.DuckDBPyConnection, table: Continuous) -> None:
    """Delete and rebuild the slices of every derived mart that a changed row falls in."""
    touched = f"touched_{table.table.name}"
    for derived in sorted(table.derived, key=lambda d: MARTS.index(d.mart)):
        for part in derived.slices:
            con.execute(f"create temp table affected as select distinct {part.key} as slice from {touched}")
            blanked = ", ".join(f"null::varchar as {column}" for column in part.blank)
            # the mart's own SQL reads its source by name: a view of that name holding only the
            # affected slices is put first on the search path while it runs
            con.execute(
                f"create view memory.main.{derived.source} as "
                f"select * {f'replace ({blanked})' if blanked else ''} from yiping.main.{derived.source} "
                f"where {part.key} in (select slice from temp.main.affected)"
            )
            con.execute(
                f"delete from yiping.main.{derived.mart} "
                f"where {part.mart_key} in (select slice from affected) and ({part.rows})"
            )
            try:
                con.execute("set search_path = 'memory.main,yiping.main'")
                # blanked codes fold every grouping set into one level: the same row once per set
                con.execute(
                    f"insert into yiping.main.{derived.mart} by name "
                    f"select {'distinct' if part.blank else ''} * from (\n{mart_select(derived.mart)}\n) "
                    f"where {part.rows}"
                )
            finally:
                con.execute("use yiping")
            con.execute(f"drop view memory.main.{derived.source}")
            con.execute("drop table affected")
    con.execute(f"drop table {touched}")
