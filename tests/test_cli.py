"""The command line: `python -m pipelines build|kpi`, its output streams and exit codes (SPEC section 4)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from inputs import (
    G1,
    KPI_TABLES,
    REGIONS,
    build_folder,
    event,
    run_cli,
    snapshot,
    write_folder,
    write_table,
)

from dashboard.queries import kpis
from pipelines.build import rejects_path_for


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A database built from KPI_TABLES, published before every command here."""
    root = tmp_path_factory.mktemp("cli")
    write_folder(root / "input", KPI_TABLES)
    return build_folder(root / "input", root / "data" / "yiping.duckdb").db_path


# ------------------------------------------------------------------------------------------ kpi


@pytest.mark.parametrize(
    ("region", "start", "end", "year"),
    [
        ("50", "2023-01-01", "2023-12-31", None),
        ("500101001", "2023-01-01", "2024-01-31", None),
        ("500102", "2023-01-01", "2023-12-31", None),
        (G1, "2022-01-01", "2022-12-31", 2023),
    ],
)
def test_kpi_prints_the_kpi_object(published, region, start, end, year):
    args = ["kpi", "--db", str(published), "--region", region, "--from", start, "--to", end]
    result = run_cli(*args, *(["--year", str(year)] if year else []))
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == kpis(published, region, start, end, year=year)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "500199", "--from", "2023-01-01", "--to", "2023-12-31"], "区划代码 500199 不存在"),
        (["--region", "5001", "--from", "2023-01-01", "--to", "2023-12-31"], "区划代码 5001 不存在"),
    ],
)
def test_kpi_unknown_region_exits_1(published, args, message):
    result = run_cli("kpi", "--db", str(published), *args)
    assert (result.returncode, result.stdout) == (1, "")
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["nowhere.duckdb", "not-a-database.duckdb"])
def test_kpi_without_a_database_exits_1(tmp_path, name):
    (tmp_path / "not-a-database.duckdb").write_text("just text")
    result = run_cli(
        "kpi", "--db", str(tmp_path / name), "--region", "50", "--from", "2023-01-01", "--to", "2023-12-31"
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert name in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kpi", "--region", "50", "--from", "2023-13-01", "--to", "2023-12-31"], "2023-13-01"),
        (["kpi", "--region", "50", "--from", "20230101", "--to", "2023-12-31"], "20230101"),
        (["kpi", "--region", "50", "--from", "2023/01/01", "--to", "2023-12-31"], "2023/01/01"),
        (["kpi", "--region", "50", "--from", "2023-01-01"], "--to"),
        (["kpi", "--from", "2023-01-01", "--to", "2023-12-31"], "--region"),
        (["kpi", "--region", "50", "--from", "2023-12-31", "--to", "2023-01-01"], "--from 晚于 --to"),
        (
            ["kpi", "--region", "50", "--from", "2023-01-01", "--to", "2023-12-31", "--year", "二〇二三"],
            "--year",
        ),
        (["build", "--input", "somewhere"], "--db"),
        (["publish"], "invalid choice"),
        ([], "required"),
    ],
)
def test_usage_errors_exit_2(published, args, message):
    if args and args[0] == "kpi":
        args = [*args[:1], "--db", str(published), *args[1:]]
    result = run_cli(*args)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------- build


def test_build_prints_the_audit_and_publishes(tmp_path):
    write_folder(tmp_path / "input", {"events": [event(event_id="E1"), event(event_id="E2", status="done")]})
    db = tmp_path / "data" / "yiping.duckdb"
    result = run_cli("build", "--input", str(tmp_path / "input"), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert [line.split() for line in result.stdout.splitlines()] == [
        ["file", "rows_read", "rows_loaded", "rows_rejected", "rows_superseded"],
        ["regions.csv", "14", "14", "0", "0"],
        ["events.csv", "2", "1", "1", "0"],
    ]
    assert f"已发布 {db}" in result.stderr and str(rejects_path_for(db)) in result.stderr
    assert db.exists() and rejects_path_for(db).exists()


def no_header(folder: Path) -> None:
    (folder / "housing.csv").write_text(f"H1,{G1},commercial,rented,80\n", encoding="utf-8")


def utf16(folder: Path) -> None:
    (folder / "regions.csv").write_bytes(
        (folder / "regions.csv").read_text(encoding="utf-8").encode("utf-16")
    )


def random_bytes(folder: Path) -> None:
    (folder / "events.csv").write_bytes(random.Random(3).randbytes(5000))


def empty(folder: Path) -> None:
    (folder / "residents.csv").write_bytes(b"")


def missing_column(folder: Path) -> None:
    write_table(
        folder, "events", [event()], header=["event_id", "grid_code", "category", "source", "reported_at"]
    )


def not_a_workbook(folder: Path) -> None:
    (folder / "regions.csv").rename(folder / "regions.xlsx")


def two_files(folder: Path) -> None:
    write_table(folder, "events", [event()], fmt="parquet")


def no_regions(folder: Path) -> None:
    (folder / "regions.csv").unlink()


def no_folder(folder: Path) -> None:
    shutil.rmtree(folder)


SPOILED = [
    (utf16, "regions.csv: 文件编码为 UTF-16"),
    (random_bytes, "events.csv: 不是文本文件"),
    (empty, "residents.csv: 文件是空的（没有表头）"),
    (no_header, "housing.csv: 没有可识别的表头"),
    (missing_column, "events.csv: 缺少必需的列：status（状态）"),
    (not_a_workbook, "regions.xlsx: 无法作为 Excel 工作簿读取"),
    (two_files, "events.parquet: 表 events 有两个输入文件（events.csv 和 events.parquet），只能保留一个"),
    (no_regions, "缺少 regions 文件（regions.csv、regions.xlsx 或 regions.parquet）"),
    (no_folder, "输入目录不存在"),
]


@pytest.mark.parametrize(("spoil", "message"), [pytest.param(*case, id=case[0].__name__) for case in SPOILED])
def test_unreadable_input_fails_the_build_and_keeps_the_published_database(
    tmp_path, published, spoil, message
):
    folder = write_folder(tmp_path / "input", {"events": [event()], "residents": [], "housing": []})
    spoil(folder)
    before = snapshot(published), snapshot(rejects_path_for(published))
    result = run_cli("build", "--input", str(folder), "--db", str(published))
    assert (result.returncode, result.stdout) == (1, "")
    assert "Traceback" not in result.stderr
    assert result.stderr.count("构建失败") == 1
    assert message in result.stderr.strip().splitlines()[-1]
    assert (snapshot(published), snapshot(rejects_path_for(published))) == before
    assert sorted(p.name for p in published.parent.iterdir()) == [
        ".yiping-salt",
        "yiping.duckdb",
        "yiping.rejects.csv",
    ]


def test_failed_build_message_shows_no_personal_data(tmp_path):
    """A failed build's message names files and columns, never a value of a row."""
    header = ["code", "name", "level", "parent_code", "kind", "lon", "lat", "联系电话"]
    rows = [[r.get(c, "") for c in header[:-1]] + ["13912345678"] for r in REGIONS]
    write_table(tmp_path / "input", "regions", rows, header=header)
    write_table(
        tmp_path / "input", "residents", [["R1", "110101195001011234"]], header=["resident_id", "身份证号"]
    )
    result = run_cli("build", "--input", str(tmp_path / "input"), "--db", str(tmp_path / "yiping.duckdb"))
    assert result.returncode == 1
    assert "residents.csv: 缺少必需的列" in result.stderr
    assert "13912345678" not in result.stderr + result.stdout
    assert "110101195001011234" not in result.stderr + result.stdout
