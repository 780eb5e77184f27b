"""A load tried first: the same build or ingest, written into a throwaway folder, never published.

The import page shows a steward what a set of files would do (rows read, loaded, rejected and
superseded, every reject, the shrink guard's verdict) before anything reaches the published
database. Nothing here checks a rule of its own: the files go through `build` or `ingest` as they
would when published, only against a copy in a private temporary folder that is removed afterwards.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.build import (
    BuildError,
    FileAudit,
    Progress,
    Warn,
    _quiet,
    build,
    check_shrink,
    published_rows,
    table_of_file,
    warn_on_stderr,
)
from pipelines.ingest import ingest

# The tables a build cannot do without in a complete input folder; the others may be left out.
BASE_TABLES = ("regions", "residents", "housing", "collective_economy")
# A load whose every file name starts with one of these is an ingest of increments.
INCREMENT_PREFIXES = ("events", "alarms")


@dataclass
class DryRun:
    kind: str  # "ingest" or "build"
    audit: list[FileAudit]
    rejects: pd.DataFrame  # file, line, column, value, reason of this load alone
    rows_after: dict[str, int]
    shrink_problem: str | None  # what the shrink guard would say, or None


def kind_of(names: list[str]) -> str:
    """`ingest` when every file is an increment (its name starts with `events` or `alarms`), else `build`."""
    if names and all(Path(n).name.lower().startswith(INCREMENT_PREFIXES) for n in names):
        return "ingest"
    return "build"


def missing_base_tables(names: list[str]) -> list[str]:
    """The base tables a build's set of files lacks (a build replaces the whole database); none for increments."""
    if kind_of(names) == "ingest":
        return []
    present = {table_of_file(Path(n).name) for n in names}
    return [table for table in BASE_TABLES if table not in present]


def unknown_files(names: list[str], kind: str) -> list[str]:
    """Files that name no contract table for this kind of load."""
    increment = kind == "ingest"
    return [n for n in names if table_of_file(Path(n).name, increment=increment) is None]


def dry_run(
    folder: Path,
    db_path: Path,
    *,
    today: dt.date | None = None,
    warn: Warn = warn_on_stderr,
    progress: Progress = _quiet,
) -> DryRun:
    """Load the files in `folder` as a publish would, into a copy in a temporary folder; publish nothing.

    Raises BuildError with the publish's own message when the files cannot be loaded.
    """
    folder, db_path = Path(folder), Path(db_path)
    kind = kind_of([p.name for p in folder.iterdir()])
    scratch = Path(tempfile.mkdtemp(prefix="yiping-dryrun-"))
    try:
        trial = scratch / "trial.duckdb"
        if kind == "ingest":
            if not db_path.is_file():
                raise BuildError(f"{db_path.name}: 数据库不存在，请先运行 build")
            shutil.copyfile(db_path, trial)
            result = ingest(folder, trial, allow_shrink=True, today=today, warn=warn, progress=progress)
        else:
            result = build(folder, trial, today=today, allow_shrink=True, warn=warn, progress=progress)
        rows_after = published_rows(trial)
        rejects = _rejects_of_last_load(trial)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    try:
        check_shrink(published_rows(db_path), rows_after)
        shrink_problem = None
    except BuildError as exc:
        shrink_problem = str(exc)
    return DryRun(kind, result.audit, rejects, rows_after, shrink_problem)


def publish(
    folder: Path,
    db_path: Path,
    *,
    allow_shrink: bool = False,
    today: dt.date | None = None,
    warn: Warn = warn_on_stderr,
    progress: Progress = _quiet,
) -> list[FileAudit]:
    """Publish the files in `folder`: through `ingest` when all are increments, else `build`."""
    folder = Path(folder)
    if kind_of([p.name for p in folder.iterdir()]) == "ingest":
        result = ingest(folder, db_path, allow_shrink=allow_shrink, today=today, warn=warn, progress=progress)
    else:
        result = build(folder, db_path, progress, today, allow_shrink=allow_shrink, warn=warn)
    return result.audit


def _rejects_of_last_load(db_path: Path) -> pd.DataFrame:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(
            """
            select file, line, "column", value, reason
            from load_rejects
            where load_number = (select load_number from build_info)
            order by file, line, "column"
            """
        ).df()
    finally:
        con.close()
