"""The demo generator writes a folder that follows the input contract and the published figures."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import demo
from pipelines.contract import (
    ALARMS,
    COLLECTIVE_ECONOMY,
    DEVICES,
    EVENTS,
    GRASSROOTS_LEVELS,
    HOUSING,
    KINDS_BY_LEVEL,
    LEVELS,
    PERSONAL_COLUMNS,
    REGIONS,
    RESIDENTS,
    TAGS,
    header_lookup,
)

SCALE = 0.002
SEED = 7
END = date(2024, 12, 31)
REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference"


def _generate(path: Path, scale: float = SCALE, seed: int = SEED) -> tuple[Path, dict]:
    counts = demo.generate(path, scale=scale, seed=seed, end=END)
    return path, counts


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A demo folder at a small scale, with the row counts generate returned."""
    return _generate(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def folder(generated: tuple[Path, dict]) -> Path:
    """The demo folder."""
    return generated[0]


@pytest.fixture(scope="module")
def regions(folder: Path) -> pd.DataFrame:
    """regions.csv as text columns, lon/lat as floats."""
    df = pd.read_csv(folder / "regions.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    for col in ("lon", "lat"):
        df[col] = pd.to_numeric(df[col])
    return df


@pytest.fixture(scope="module")
def economy(folder: Path) -> pd.DataFrame:
    """collective_economy.xlsx with contract column names."""
    df = pd.read_excel(folder / "collective_economy.xlsx", dtype={"村代码": str}, engine="calamine")
    lookup = header_lookup(COLLECTIVE_ECONOMY)
    return df.rename(columns=lambda h: lookup[h])


@pytest.fixture(scope="module")
def db(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with views over the parquet files."""
    con = duckdb.connect()
    for name in ("residents", "housing", "events", "devices", "alarms"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{folder / name}.parquet')")
    return con


def _reference(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]


# --------------------------------------------------------------------------- the folder


def test_folder_has_the_tables_and_the_demo_marker(generated: tuple[Path, dict]) -> None:
    folder, counts = generated
    assert sorted(p.name for p in folder.iterdir()) == sorted([*counts, demo.MARKER_FILE])
    marker = json.loads((folder / demo.MARKER_FILE).read_text(encoding="utf-8"))
    assert marker == {"demo": True, "seed": SEED, "scale": SCALE, "end": END.isoformat()}


def test_returned_counts_are_the_rows_written(generated: tuple[Path, dict], regions, economy, db) -> None:
    _, counts = generated
    assert counts["regions.csv"] == len(regions)
    assert counts["collective_economy.xlsx"] == len(economy)
    for name in ("residents", "housing", "events", "devices", "alarms"):
        assert counts[f"{name}.parquet"] == _scalar(db, f"SELECT count(*) FROM {name}") > 0


def test_headers_follow_the_contract(folder: Path, regions, db) -> None:
    assert list(regions.columns) == REGIONS.column_names
    for table in (RESIDENTS, HOUSING, EVENTS, DEVICES, ALARMS):
        cols = [r[0] for r in db.execute(f"DESCRIBE {table.name}").fetchall()]
        assert cols == [c.name for c in table.columns if not c.personal]
    header = pd.read_excel(folder / "collective_economy.xlsx", nrows=0, engine="calamine").columns
    assert list(header) == [c.alias for c in COLLECTIVE_ECONOMY.columns]


def test_no_personal_columns_anywhere(regions, economy, db) -> None:
    written = set(economy.columns)
    for name in ("residents", "housing", "events"):
        written |= {r[0] for r in db.execute(f"DESCRIBE {name}").fetchall()}
    assert not written & set(PERSONAL_COLUMNS)
    # A region has a name; nothing in the region file is about a person.
    assert not set(regions.columns) & (set(PERSONAL_COLUMNS) - {"name"})


# --------------------------------------------------------------------------- regions


def test_real_districts_and_townships(regions: pd.DataFrame) -> None:
    districts = regions[regions.level == "district"]
    ref = _reference("chongqing_districts.csv")
    assert len(districts) == 38
    assert dict(zip(districts.code, districts.name, strict=True)) == {r["code"]: r["name_zh"] for r in ref}
    assert dict(zip(districts.code, districts.kind, strict=True)) == {r["code"]: r["kind"] for r in ref}
    townships = regions[regions.level == "township"]
    ref = _reference("chongqing_townships.csv")
    assert len(townships) == 1031
    expected = {r["code"]: (r["name_zh"], r["district_code"], r["kind"]) for r in ref}
    got = {
        r.code: (r.name, r.parent_code, r.kind)
        for r in townships[["code", "name", "parent_code", "kind"]].itertuples()
    }
    assert got == expected


def test_every_code_nests_in_its_parent(regions: pd.DataFrame) -> None:
    assert regions.code.is_unique
    assert (regions.code.str.len() == regions.level.map(LEVELS)).all()
    assert regions.code.str.fullmatch(r"\d+").all()
    levels = list(LEVELS)
    by_code = dict(zip(regions.code, regions.level, strict=True))
    children = regions[regions.level != "district"]
    assert (children.parent_code == "").sum() == 0
    assert all(c.startswith(p) for c, p in zip(children.code, children.parent_code, strict=True))
    for level, parent in zip(children.level, children.parent_code, strict=True):
        assert by_code[parent] == levels[levels.index(level) - 1]
    assert (regions[regions.level == "district"].parent_code == "").all()


def test_levels_and_kinds_are_contract_codes(regions: pd.DataFrame) -> None:
    for level, kind in zip(regions.level, regions.kind, strict=True):
        assert kind in KINDS_BY_LEVEL[level]
    assert regions.lon.between(105, 111).all() and regions.lat.between(28, 33).all()


def test_communities_and_grids_are_numbered_and_named(regions: pd.DataFrame) -> None:
    comm = regions[regions.level == "community"].copy()
    seq = comm.code.str[-3:].astype(int)
    village = comm.kind == "village"
    assert seq[~village].between(1, 199).all() and seq[village].between(200, 399).all()
    assert comm[village].name.str.endswith("村").all()
    assert comm[~village].name.str.endswith("社区").all()
    assert not comm.duplicated(["parent_code", "name"]).any()
    assert 10_500 <= len(comm) <= 11_500
    grids = regions[regions.level == "grid"]
    per_comm = grids.groupby("parent_code").size()
    assert per_comm.index.equals(pd.Index(sorted(comm.code), name="parent_code"))
    assert per_comm.between(6, 16).all()
    names = dict(zip(comm.code, comm.name, strict=True))
    first = grids[grids.code.str.endswith("001")]
    assert all(g == f"{names[p]}第1网格" for g, p in zip(first.name, first.parent_code, strict=True))


def _under(df: pd.DataFrame, district: str) -> pd.DataFrame:
    return df[df.code.str.startswith(district)]


def test_published_structure(regions: pd.DataFrame) -> None:
    yuzhong = _under(regions, "500103")
    assert (yuzhong.level == "township").sum() == 11 and (yuzhong.kind == "street").sum() == 11
    assert (yuzhong.kind == "community").sum() == 79 and (yuzhong.kind == "village").sum() == 0
    rongchang = _under(regions, "500153")
    assert (rongchang.level == "township").sum() == 21
    assert (rongchang.level == "community").sum() == 156
    assert (rongchang.level == "grid").sum() == 1660
    assert (_under(regions, "500231").kind == "village").sum() == 291
    assert (_under(regions, "500107").kind == "village").sum() == 44


# --------------------------------------------------------------------------- residents and housing


def test_residents_per_district_follow_the_census(db) -> None:
    got = dict(db.execute("SELECT substr(grid_code, 1, 6), count(*) FROM residents GROUP BY 1").fetchall())
    for r in _reference("chongqing_districts.csv"):
        assert abs(got[r["code"]] - int(r["population_2020"]) * SCALE) <= 1, r["code"]


def test_residents_live_in_grids_and_households(db, regions: pd.DataFrame) -> None:
    grids = set(regions[regions.level == "grid"].code)
    for name in ("residents", "housing", "events"):
        used = {r[0] for r in db.execute(f"SELECT DISTINCT grid_code FROM {name}").fetchall()}
        assert used <= grids, name
    assert _scalar(db, "SELECT count(*) = count(DISTINCT resident_id) FROM residents")
    sizes = db.execute(
        "SELECT min(n), max(n), max(g) FROM (SELECT household_id, count(*) n, count(DISTINCT grid_code) g "
        "FROM residents GROUP BY 1)"
    ).fetchone()
    assert sizes == (1, 5, 1)
    lo, hi = db.execute("SELECT min(birth_year), max(birth_year) FROM residents").fetchone()
    assert 1900 <= lo and hi <= END.year


def test_enum_values_are_contract_codes(db) -> None:
    for table in (RESIDENTS, HOUSING, EVENTS):
        for column in table.columns:
            if column.enum is None or column.personal or column.type == "tags":
                continue
            values = {r[0] for r in db.execute(f"SELECT DISTINCT {column.name} FROM {table.name}").fetchall()}
            assert values - {None} <= set(column.enum), (table.name, column.name)
            assert values - {None}, (table.name, column.name)
    tags = {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT unnest(string_split(tags, ';')) FROM residents WHERE tags IS NOT NULL"
        ).fetchall()
    }
    assert tags == set(TAGS)


def test_population_profiles(db) -> None:
    rows = db.execute(
        f"""SELECT substr(grid_code, 1, 6) d,
                   avg(({END.year} - birth_year >= 60)::int) elderly,
                   avg((residence_type = 'floating')::int) floating
            FROM residents GROUP BY 1"""
    ).fetchall()
    profile = {d: (e, f) for d, e, f in rows}
    assert 0.14 <= profile["500103"][0] <= 0.22  # Yuzhong, the urban core
    assert profile["500243"][0] >= 0.25  # Pengshui, a rural county
    assert profile["500103"][1] >= 0.25 and profile["500243"][1] <= 0.12
    shares = dict(
        db.execute(
            "SELECT t, count(*) / (SELECT count(*) FROM residents) FROM "
            "(SELECT unnest(string_split(tags, ';')) t FROM residents WHERE tags IS NOT NULL) GROUP BY 1"
        ).fetchall()
    )
    assert 0.015 <= shares["low_income"] <= 0.04
    assert 0.035 <= shares["disabled"] <= 0.07
    assert 0.001 <= shares["extreme_poverty"] <= 0.006


def test_housing(db) -> None:
    units, residents = db.execute(
        "SELECT (SELECT count(*) FROM housing), (SELECT count(*) FROM residents)"
    ).fetchone()
    assert abs(units - residents / 2.6) <= 40
    assert _scalar(db, "SELECT count(*) = count(DISTINCT house_id) FROM housing")
    assert _scalar(db, "SELECT bool_and(area_m2 > 0 AND area_m2 <= 100000) FROM housing")
    assert _scalar(db, f"SELECT bool_and(built_year BETWEEN 1900 AND {END.year}) FROM housing")
    rented = dict(
        db.execute(
            "SELECT substr(grid_code, 1, 6), avg((usage = 'rented')::int) FROM housing GROUP BY 1"
        ).fetchall()
    )
    assert rented["500103"] > 0.2 > rented["500243"]


# --------------------------------------------------------------------------- events


def test_event_rules(db) -> None:
    assert _scalar(db, "SELECT count(*) = count(DISTINCT event_id) FROM events")
    first, last = db.execute("SELECT min(reported_at)::DATE, max(reported_at)::DATE FROM events").fetchone()
    assert first >= date(2022, 1, 1) and last <= END
    assert _scalar(db, "SELECT count(*) FROM events WHERE accepted_at < reported_at") == 0
    assert _scalar(db, "SELECT count(*) FROM events WHERE resolved_at < reported_at") == 0
    assert (
        _scalar(db, "SELECT count(*) FROM events WHERE (status = 'resolved') <> (resolved_at IS NOT NULL)")
        == 0
    )
    assert (
        _scalar(
            db, "SELECT count(*) FROM events WHERE (status = 'resolved') <> (resolution_level IS NOT NULL)"
        )
        == 0
    )
    assert (
        _scalar(db, "SELECT count(*) FROM events WHERE satisfaction IS NOT NULL AND status <> 'resolved'")
        == 0
    )
    statuses = {r[0] for r in db.execute("SELECT DISTINCT status FROM events").fetchall()}
    assert {"resolved", "cancelled", "in_progress"} <= statuses
    missing_due = _scalar(db, "SELECT avg((due_at IS NULL)::int) FROM events")
    assert 0.1 < missing_due < 0.5


def test_event_patterns(db) -> None:
    on_time = _scalar(
        db,
        "SELECT avg((resolved_at <= due_at)::int) FROM events "
        "WHERE status = 'resolved' AND due_at IS NOT NULL",
    )
    assert 0.9 <= on_time <= 0.98
    by_hour = dict(db.execute("SELECT hour(reported_at), count(*) FROM events GROUP BY 1").fetchall())
    assert by_hour[10] > 5 * by_hour.get(3, 0)
    summer, winter = db.execute(
        "SELECT count(*) FILTER (WHERE month(reported_at) IN (6, 7, 8)),"
        " count(*) FILTER (WHERE month(reported_at) IN (12, 1, 2)) FROM events WHERE category = 'sanitation'"
    ).fetchone()
    assert summer > winter
    grassroots = _scalar(
        db,
        "SELECT avg((resolution_level IN ('grid', 'community', 'township'))::int) FROM events "
        "WHERE category = 'dispute' AND status = 'resolved' AND substr(grid_code, 1, 6) <> '500153'",
    )
    assert grassroots > 0.85


def test_descriptions_include_text_to_escape(db) -> None:
    tricky = _scalar(
        db,
        "SELECT count(*) FROM events WHERE description LIKE '%<%' OR left(description, 1) IN ('=', '+', '@')",
    )
    total = _scalar(db, "SELECT count(*) FROM events")
    assert 2 <= tricky <= max(2, total // 1000)


def test_rongchang_grassroots_rate_and_satisfaction(db) -> None:
    levels = ", ".join(f"'{lv}'" for lv in GRASSROOTS_LEVELS)
    rows = db.execute(
        f"""SELECT year(reported_at), count(*),
                   count(*) FILTER (WHERE status = 'resolved' AND resolution_level IN ({levels}))
            FROM events
            WHERE substr(grid_code, 1, 6) = '500153' AND category = 'dispute' AND status <> 'cancelled'
            GROUP BY 1"""
    ).fetchall()
    rates = {year: (n, grassroots / n) for year, n, grassroots in rows}
    assert rates[2022][0] >= 60 and rates[2023][0] >= 60
    assert rates[2022][1] == pytest.approx(0.6432, abs=0.01)
    assert rates[2023][1] == pytest.approx(0.9315, abs=0.01)
    satisfaction = _scalar(
        db,
        "SELECT avg((satisfaction IN ('satisfied', 'basically_satisfied'))::int) FROM events "
        "WHERE substr(grid_code, 1, 6) = '500153' AND year(reported_at) = 2023 AND satisfaction IS NOT NULL",
    )
    assert satisfaction > 0.99


# --------------------------------------------------------------------------- collective economy


def test_collective_economy_rows(economy: pd.DataFrame, regions: pd.DataFrame) -> None:
    villages = set(regions[regions.kind == "village"].code)
    assert set(economy.village_code) <= villages
    assert not economy.duplicated(["village_code", "year"]).any()
    assert set(economy.year) == set(range(2022, END.year + 1))
    assert pd.api.types.is_integer_dtype(economy.year)
    assert (economy.total_income >= economy.operating_income).all()
    assert (economy.operating_income >= 0).all() and (economy.dividends.dropna() >= 0).all()
    assert set(economy.entity_type) == set(COLLECTIVE_ECONOMY.column("entity_type").enum)
    income = economy[economy.year == 2023].operating_income
    assert income.median() < 300_000 and income.max() > 3_000_000


def test_dianjiang_2023(economy: pd.DataFrame) -> None:
    dj = economy[economy.village_code.str.startswith("500231") & (economy.year == 2023)]
    assert len(dj) == 291
    assert dj.operating_income.sum() > 100_000_000
    assert (dj.operating_income >= 50_000).all()
    assert (dj.operating_income >= 100_000).mean() > 0.8
    assert (dj.operating_profit >= 100_000).mean() > 0.4


def test_jiulongpo_shareholders(economy: pd.DataFrame) -> None:
    jl = economy[economy.village_code.str.startswith("500107")]
    assert jl.groupby("year").village_code.nunique().eq(44).all()
    assert jl.groupby("year").shareholders.sum().gt(130_000).all()


# --------------------------------------------------------------------------- IoT pilot


def test_every_yuzhong_community_has_devices_and_few_districts_have_any(db, regions: pd.DataFrame) -> None:
    yuzhong = regions[(regions.level == "community") & regions.code.str.startswith(demo.YUZHONG)]
    assert len(yuzhong) == 79
    with_devices = {
        c for (c,) in db.execute("SELECT DISTINCT substr(grid_code, 1, 12) FROM devices").fetchall()
    }
    assert set(yuzhong.code) <= with_devices
    per_district = dict(
        db.execute("SELECT substr(grid_code, 1, 6), count(*) FROM devices GROUP BY 1").fetchall()
    )
    assert set(per_district) == {demo.YUZHONG, *demo.SCATTER_SHARE}
    assert per_district[demo.YUZHONG] > 2 * max(v for k, v in per_district.items() if k != demo.YUZHONG)
    types = dict(
        db.execute(
            "SELECT device_type, count(*) FROM devices WHERE grid_code LIKE '500103%' GROUP BY 1"
        ).fetchall()
    )
    assert set(types) == {
        "smoke_detector",
        "door_access",
        "bin_sensor",
        "parking_sensor",
        "high_throw_camera",
    }
    assert types["smoke_detector"] == max(types.values())


def test_alarm_rules(db) -> None:
    """Every alarm names a device and follows the contract's rules on handling; escalated ones name an event."""
    assert (
        _scalar(db, "SELECT count(*) FROM alarms WHERE device_id NOT IN (SELECT device_id FROM devices)") == 0
    )
    assert _scalar(db, "SELECT count(*) - count(DISTINCT alarm_id) FROM alarms") == 0
    assert (
        _scalar(db, "SELECT count(*) FROM alarms WHERE (status = 'handled') <> (handled_at IS NOT NULL)") == 0
    )
    assert _scalar(db, "SELECT count(*) FROM alarms WHERE handled_at < raised_at") == 0
    assert _scalar(db, "SELECT count(*) FROM alarms WHERE status = 'open' AND outcome IS NOT NULL") == 0
    assert _scalar(db, "SELECT count(*) FROM alarms WHERE raised_at < TIMESTAMP '2022-01-01'") == 0
    assert (
        _scalar(
            db,
            f"SELECT count(*) FROM alarms WHERE raised_at >= TIMESTAMP '{END.isoformat()}' + INTERVAL 1 DAY",
        )
        == 0
    )
    escalated = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE outcome = 'confirmed'), "
        "count(*) FILTER (WHERE event_id IN (SELECT event_id FROM events WHERE source = 'iot')) "
        "FROM alarms WHERE event_id IS NOT NULL"
    ).fetchall()[0]
    assert escalated[0] > 0 and escalated[0] == escalated[1] == escalated[2]


def test_alarm_patterns(db) -> None:
    """Most smoke alarms false, high-throw alarms few and mostly confirmed, bins in the evening,
    parking at rush hours, handling in minutes and slower at night."""
    by_type = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT d.device_type, count(*), avg((outcome = 'false_alarm')::int) FILTER (WHERE outcome IS NOT NULL), "
            "avg((hour(raised_at) BETWEEN 17 AND 22)::int), "
            "avg((hour(raised_at) BETWEEN 7 AND 9 OR hour(raised_at) BETWEEN 17 AND 19)::int) "
            "FROM alarms JOIN devices d USING (device_id) GROUP BY 1"
        ).fetchall()
    }
    assert by_type["smoke_detector"][1] > 0.8
    assert by_type["high_throw_camera"][1] < 0.35
    assert by_type["high_throw_camera"][0] < by_type["smoke_detector"][0]
    assert by_type["bin_sensor"][2] > 0.55
    assert by_type["parking_sensor"][3] > 0.45
    day, night = db.execute(
        "SELECT median(epoch(handled_at) - epoch(raised_at)) FILTER (WHERE hour(raised_at) BETWEEN 9 AND 17) / 60, "
        "median(epoch(handled_at) - epoch(raised_at)) FILTER (WHERE hour(raised_at) >= 22 OR hour(raised_at) < 7) / 60 "
        "FROM alarms WHERE status = 'handled'"
    ).fetchall()[0]
    assert 3 < day < 120 and night > day * 1.3


# --------------------------------------------------------------------------- reproducibility


def _xlsx_cells(path: Path) -> dict[str, bytes]:
    """The parts of a workbook that hold cells (not the timestamps in its document properties)."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/")}


def test_same_seed_writes_the_same_files(folder: Path, tmp_path: Path) -> None:
    again, _ = _generate(tmp_path / "again")
    for name in (
        "regions.csv", "residents.parquet", "housing.parquet", "events.parquet", "devices.parquet", "alarms.parquet"
    ):  # fmt: skip
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name
    assert _xlsx_cells(again / "collective_economy.xlsx") == _xlsx_cells(folder / "collective_economy.xlsx")


def test_structure_does_not_depend_on_scale(generated: tuple[Path, dict], tmp_path: Path) -> None:
    folder, counts = generated
    small, small_counts = _generate(tmp_path / "small", scale=SCALE / 4)
    assert (small / "regions.csv").read_bytes() == (folder / "regions.csv").read_bytes()
    assert _xlsx_cells(small / "collective_economy.xlsx") == _xlsx_cells(folder / "collective_economy.xlsx")
    for name in ("residents.parquet", "housing.parquet", "events.parquet"):
        assert small_counts[name] < counts[name] / 2, name
    # devices are fixed like the region tree; alarms follow the square root of the scale
    assert (small / "devices.parquet").read_bytes() == (folder / "devices.parquet").read_bytes()
    assert 0.4 < small_counts["alarms.parquet"] / counts["alarms.parquet"] < 0.6


def test_another_seed_draws_another_structure(folder: Path, tmp_path: Path) -> None:
    other, _ = _generate(tmp_path / "other", scale=SCALE / 10, seed=SEED + 1)
    assert (other / "regions.csv").read_bytes() != (folder / "regions.csv").read_bytes()
    mine = pd.read_csv(folder / "regions.csv", dtype=str, keep_default_na=False)
    theirs = pd.read_csv(other / "regions.csv", dtype=str, keep_default_na=False)
    for df in (mine, theirs):
        assert (df[df.code.str.startswith("500153")].level == "grid").sum() == 1660


def test_refuses_to_overwrite_other_input(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text("event_id\nX1\n", encoding="utf-8")
    with pytest.raises(FileExistsError):
        demo.generate(tmp_path, scale=SCALE / 10)
    assert (tmp_path / "events.csv").read_text(encoding="utf-8") == "event_id\nX1\n"
