"""Small input folders for the data-path tests: rows in, files out (CSV, GB18030, xlsx, Parquet).

Rows are dicts keyed by contract column names; a helper per table fills the columns a test does not
care about with valid values, so a case spells out only what it breaks.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb

from pipelines.build import BuildResult, build, rejects_path_for

REPO_ROOT = Path(__file__).resolve().parent.parent
# Builds in these tests run as if on this day, so "this year" is fixed.
TODAY = dt.date(2024, 6, 30)

HEADERS: dict[str, list[str]] = {
    "regions": ["code", "name", "level", "parent_code", "kind", "lon", "lat"],
    "residents": [
        "resident_id", "grid_code", "household_id", "gender", "birth_year", "residence_type", "tags",
    ],
    "housing": ["house_id", "grid_code", "building_type", "usage", "area_m2", "built_year"],
    "events": [
        "event_id", "grid_code", "category", "source", "reported_at", "accepted_at", "resolved_at",
        "due_at", "status", "resolution_level", "satisfaction", "description",
    ],
    "collective_economy": [
        "village_code", "year", "operating_income", "total_income", "operating_profit",
        "dividends", "shareholders", "entity_type",
    ],
    "devices": ["device_id", "grid_code", "device_type", "status", "installed_at", "lon", "lat"],
    "alarms": ["alarm_id", "device_id", "raised_at", "status", "handled_at", "outcome", "event_id"],
}  # fmt: skip

# City 50 with two districts. 500101 has a street with a community (two grids) and a village, and a
# town with a village; 500102 is a county with one xiang, one community and one grid.
G1, G2, G3, G4, G5 = (
    "500101001001001",
    "500101001001002",
    "500101001002001",
    "500101002001001",
    "500102001001001",
)
REGIONS: list[dict] = [
    {
        "code": "500101",
        "name": "甲区",
        "level": "district",
        "kind": "district",
        "lon": "106.5",
        "lat": "29.5",
    },
    {"code": "500101001", "name": "甲街道", "level": "township", "parent_code": "500101", "kind": "street"},
    {
        "code": "500101001001",
        "name": "甲社区",
        "level": "community",
        "parent_code": "500101001",
        "kind": "community",
    },
    {"code": G1, "name": "甲网格1", "level": "grid", "parent_code": "500101001001", "kind": "grid"},
    {"code": G2, "name": "甲网格2", "level": "grid", "parent_code": "500101001001", "kind": "grid"},
    {
        "code": "500101001002",
        "name": "乙村",
        "level": "community",
        "parent_code": "500101001",
        "kind": "village",
    },
    {"code": G3, "name": "乙村网格", "level": "grid", "parent_code": "500101001002", "kind": "grid"},
    {"code": "500101002", "name": "丙镇", "level": "township", "parent_code": "500101", "kind": "town"},
    {
        "code": "500101002001",
        "name": "丙村",
        "level": "community",
        "parent_code": "500101002",
        "kind": "village",
    },
    {"code": G4, "name": "丙村网格", "level": "grid", "parent_code": "500101002001", "kind": "grid"},
    {"code": "500102", "name": "丁县", "level": "district", "kind": "county", "lon": "107.1", "lat": "30.1"},
    {"code": "500102001", "name": "丁乡", "level": "township", "parent_code": "500102", "kind": "xiang"},
    {
        "code": "500102001001",
        "name": "丁社区",
        "level": "community",
        "parent_code": "500102001",
        "kind": "community",
    },
    {"code": G5, "name": "丁网格", "level": "grid", "parent_code": "500102001001", "kind": "grid"},
]
REGION_CODES = [r["code"] for r in REGIONS]
GRIDS = [G1, G2, G3, G4, G5]
VILLAGES = ["500101001001", "500101001002", "500101002001", "500102001001"]


def resident(**values: object) -> dict:
    """A valid resident row, changed by `values`."""
    return {
        "resident_id": "R0", "grid_code": G1, "household_id": "H0", "gender": "M", "birth_year": "1980",
        "residence_type": "registered", "tags": "",
    } | values  # fmt: skip


def house(**values: object) -> dict:
    """A valid housing row, changed by `values`."""
    return {
        "house_id": "U0", "grid_code": G1, "building_type": "commercial", "usage": "owner_occupied",
        "area_m2": "80", "built_year": "2000",
    } | values  # fmt: skip


def event(**values: object) -> dict:
    """A valid pending event row, changed by `values`."""
    return {
        "event_id": "E0", "grid_code": G1, "category": "sanitation", "source": "hotline",
        "reported_at": "2023-06-01 08:00", "status": "pending",
    } | values  # fmt: skip


def economy(**values: object) -> dict:
    """A valid collective-economy row, changed by `values`."""
    return {
        "village_code": "500101001002", "year": "2023", "operating_income": "100000",
        "total_income": "120000", "operating_profit": "50000",
    } | values  # fmt: skip


def device(**values: object) -> dict:
    """A valid online smoke detector, changed by `values`."""
    return {"device_id": "D0", "grid_code": G1, "device_type": "smoke_detector", "status": "online"} | values


def alarm(**values: object) -> dict:
    """A valid open alarm of device D1, changed by `values`."""
    return {"alarm_id": "A0", "device_id": "D1", "raised_at": "2023-06-01 08:00", "status": "open"} | values


# ------------------------------------------------------------------------------------- writing


def _cells(header: Sequence[str], rows: Iterable[Mapping | Sequence]) -> list[list]:
    table = []
    for row in rows:
        if isinstance(row, Mapping):
            table.append([row.get(name) for name in header])
        else:
            table.append(list(row))
    return table


def write_csv(
    path: Path, header: Sequence[str], rows: Iterable[Mapping | Sequence], encoding: str = "utf-8"
) -> Path:
    """Write rows as CSV in `encoding` (utf-8-sig for a BOM, gb18030 as Chinese Excel saves it)."""
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in _cells(header, rows)])
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Mapping | Sequence]) -> Path:
    """Write rows as the first sheet of a workbook; datetimes and numbers become typed cells."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in _cells(header, rows):
        sheet.append([None if v == "" else v for v in row])
    workbook.save(path)
    return path


def write_parquet(path: Path, header: Sequence[str], rows: Iterable[Mapping | Sequence]) -> Path:
    """Write rows as Parquet; a column's type is what its Python values are (None is null)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = _cells(header, rows)
    columns = {name: [None if row[i] == "" else row[i] for row in table] for i, name in enumerate(header)}
    arrays = {name: pa.array(values) if any(v is not None for v in values) else pa.array(values, pa.string())
              for name, values in columns.items()}  # fmt: skip
    pq.write_table(pa.table(arrays), path)
    return path


def write_table(
    folder: Path,
    table: str,
    rows: Iterable[Mapping | Sequence],
    header: Sequence[str] | None = None,
    fmt: str = "csv",
    encoding: str = "utf-8",
) -> Path:
    """Write `<folder>/<table>.<fmt>` with the contract header (or `header`)."""
    folder.mkdir(parents=True, exist_ok=True)
    header = list(header or HEADERS[table])
    path = folder / f"{table}.{fmt}"
    if fmt == "csv":
        return write_csv(path, header, rows, encoding)
    if fmt == "xlsx":
        return write_xlsx(path, header, rows)
    if fmt == "parquet":
        return write_parquet(path, header, rows)
    raise ValueError(fmt)


def write_folder(
    folder: Path, tables: Mapping[str, Iterable[Mapping]], fmt: str = "csv", encoding: str = "utf-8"
) -> Path:
    """Write one file per table; regions default to REGIONS when not given."""
    tables = {"regions": REGIONS, **tables}
    for name, rows in tables.items():
        write_table(folder, name, rows, fmt=fmt, encoding=encoding)
    return folder


def build_folder(folder: Path, db: Path, today: dt.date = TODAY) -> BuildResult:
    """Build `folder` into `db` in this process, as on TODAY."""
    return build(folder, db, today=today)


# ------------------------------------------------------------------------------------- reading


def rejects(db: Path) -> list[dict]:
    """The rejects report beside `db` as dicts, `line` as int and `value` None when empty."""
    with rejects_path_for(db).open(encoding="utf-8-sig", newline="") as fh:
        return [
            {**row, "line": int(row["line"]), "value": row["value"] or None} for row in csv.DictReader(fh)
        ]


def rejects_by_line(db: Path, file: str) -> dict[int, list[tuple[str, str | None, str]]]:
    """line -> [(column, value, reason)] of one input file's rejects."""
    by_line: dict[int, list] = {}
    for row in rejects(db):
        if row["file"] == file:
            by_line.setdefault(row["line"], []).append((row["column"], row["value"], row["reason"]))
    return by_line


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of `sql` on the published database, read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def load_audit(db: Path) -> dict[str, tuple[int, int, int, int]]:
    """file -> (rows_read, rows_loaded, rows_rejected, rows_superseded) from table load_audit."""
    rows = query(db, "select file, rows_read, rows_loaded, rows_rejected, rows_superseded from load_audit")
    return {file: tuple(counts) for file, *counts in rows}


# ------------------------------------------------------------------------------- command line


def cli_env() -> dict[str, str]:
    """The environment for `python -m pipelines`: no salt from outside, unbuffered output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("YIPING_SALT", None)
    return env


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m pipelines ARGS` from the project root; text output."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def snapshot(path: Path) -> tuple[bytes, int, int]:
    """Bytes, mtime and inode of a file, to prove it was left alone."""
    stat = path.stat()
    return path.read_bytes(), stat.st_mtime_ns, stat.st_ino


# ------------------------------------------------------------------------ KPI data, by hand
# Every KPI expected in test_queries is counted from these rows; see the comments there.

KPI_TABLES: dict[str, list[dict]] = {
    "residents": [
        resident(resident_id="R1", grid_code=G1, household_id="H1", gender="M", birth_year="1950",
                 tags="elderly_alone;low_income"),
        resident(resident_id="R2", grid_code=G1, household_id="H1", gender="F", birth_year="1963",
                 residence_type="floating"),
        resident(resident_id="R3", grid_code=G1, household_id="H2", gender="M", birth_year="1964",
                 residence_type="floating"),
        resident(resident_id="R4", grid_code=G1, household_id="H2", gender="F", birth_year="2000",
                 tags="disabled,veteran"),
        resident(resident_id="R5", grid_code=G2, household_id="H3", gender="M", birth_year="1940",
                 tags="elderly_alone、extreme_poverty"),
        resident(resident_id="R6", grid_code=G2, household_id="H4", gender="F", birth_year="2015",
                 residence_type="overseas", tags="left_behind_child"),
        resident(resident_id="R7", grid_code=G3, household_id="H5", birth_year="1980",
                 residence_type="floating"),
        resident(resident_id="R8", grid_code=G4, household_id="H6", gender="F", birth_year="1955",
                 tags="低保对象"),
        resident(resident_id="R9", grid_code=G5, household_id="H7", birth_year="1990"),
    ],
    "housing": [
        house(house_id="U1", grid_code=G1, usage="rented"),
        house(house_id="U2", grid_code=G1, usage="vacant"),
        house(house_id="U3", grid_code=G1, usage="owner_occupied"),
        house(house_id="U4", grid_code=G2, usage="rented"),
        house(house_id="U5", grid_code=G3, usage="business"),
        house(house_id="U6", grid_code=G4, usage="vacant"),
    ],
    "events": [
        # 10 hours, within the dispute SLA of 72 hours
        event(event_id="E1", grid_code=G1, category="dispute", reported_at="2023-03-01 08:00",
              status="resolved", resolved_at="2023-03-01 18:00", resolution_level="grid",
              satisfaction="satisfied"),
        # 120 hours, late; resolved at district level
        event(event_id="E2", grid_code=G1, category="dispute", reported_at="2023-04-01 08:00",
              status="resolved", resolved_at="2023-04-06 08:00", resolution_level="district",
              satisfaction="dissatisfied"),
        # open; due by SLA at 2023-05-04 08:00
        event(event_id="E3", grid_code=G1, category="dispute", reported_at="2023-05-01 08:00",
              status="pending"),
        # 4 hours, after its own due_at
        event(event_id="E4", grid_code=G1, category="sanitation", reported_at="2023-06-01 08:00",
              due_at="2023-06-01 10:00", status="resolved", resolved_at="2023-06-01 12:00",
              resolution_level="community", satisfaction="basically_satisfied"),
        event(event_id="E5", grid_code=G1, category="traffic", reported_at="2023-06-02 08:00",
              status="cancelled", satisfaction="dissatisfied"),
        event(event_id="E6", grid_code=G2, category="safety_hazard", reported_at="2023-12-31 20:00",
              due_at="2024-01-01 08:00", status="in_progress"),
        # 24 hours, on time, at township level
        event(event_id="E7", grid_code=G2, category="dispute", reported_at="2023-07-01 08:00",
              status="resolved", resolved_at="2023-07-02 08:00", resolution_level="township"),
        # 2 hours, reported in 2022
        event(event_id="E8", grid_code=G3, category="infrastructure", reported_at="2022-12-31 23:00",
              status="resolved", resolved_at="2023-01-01 01:00", resolution_level="grid",
              satisfaction="satisfied"),
        event(event_id="E9", grid_code=G4, category="dispute", reported_at="2023-11-30 08:00",
              due_at="2023-12-30 00:00", status="pending"),
        # open; due by SLA (168 hours) at 2024-01-07 23:59
        event(event_id="E10", grid_code=G4, category="livelihood", reported_at="2023-12-31 23:59",
              status="pending"),
    ],
    "collective_economy": [
        economy(village_code="500101001002", year="2023", operating_income="120000", total_income="150000",
                operating_profit="100000"),
        economy(village_code="500101001002", year="2022", operating_income="40000", total_income="50000",
                operating_profit="5000"),
        economy(village_code="500101002001", year="2023", operating_income="60000", total_income="60000",
                operating_profit="-5"),
        economy(village_code="500101001001", year="2023", operating_income="30000", total_income="40000",
                operating_profit="0"),
    ],
}  # fmt: skip


def write_large_folder(folder: Path, rows: int) -> Path:
    """Regions plus `rows` residents and `rows` events: a build of a second or more."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    write_table(folder, "regions", REGIONS)
    grids = pa.array([GRIDS[i % len(GRIDS)] for i in range(rows)])
    pacsv.write_csv(
        pa.table({
            "resident_id": [f"R{i}" for i in range(rows)], "grid_code": grids,
            "household_id": [f"H{i // 3}" for i in range(rows)],
            "gender": [["M", "F"][i % 2] for i in range(rows)],
            "birth_year": [str(1930 + i % 90) for i in range(rows)], "residence_type": ["registered"] * rows,
            "tags": ["elderly_alone;low_income"] * rows,
        }),
        folder / "residents.csv",
    )  # fmt: skip
    pacsv.write_csv(
        pa.table({
            "event_id": [f"E{i}" for i in range(rows)], "grid_code": grids, "category": ["dispute"] * rows,
            "source": ["hotline"] * rows, "status": ["pending"] * rows,
            "reported_at": [f"2023-{1 + i % 12:02d}-{1 + i % 28:02d} 08:00" for i in range(rows)],
        }),
        folder / "events.csv",
    )  # fmt: skip
    return folder
