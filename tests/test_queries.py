"""The query layer: every KPI of SPEC section 6 on hand-counted data, its errors, and its sums."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inputs import G1, G2, G5, GRIDS, KPI_TABLES, REGIONS, VILLAGES, build_folder, write_folder

from dashboard import queries
from dashboard.access import Principal
from dashboard.queries import Gate, Period, QueryError, kpis, kpis_with_previous
from pipelines.contract import EVENTS, HOUSING, RESIDENTS, SLA_HOURS, TAGS

NO_CARE = dict.fromkeys(TAGS, 0)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """The database built from KPI_TABLES (tests/inputs.py)."""
    root = tmp_path_factory.mktemp("kpis")
    write_folder(root / "input", KPI_TABLES)
    return build_folder(root / "input", root / "yiping.duckdb").db_path


# Counted by hand from KPI_TABLES. Events reported in 2023 and not cancelled: E1 E2 E3 E4 E6 E7 E9 E10;
# resolved E1 (10 h, on time) E2 (120 h, late) E4 (4 h, late) E7 (24 h, on time); disputes E1 E2 E3 E7 E9,
# at grassroots E1 E7; rated E1 (yes) E2 (no) E4 (yes); E5 is cancelled, E8 was reported in 2022.
CITY_EVENTS_2023 = {
    "total": 8, "resolved": 4, "resolution_rate": 4 / 8, "on_time_rate": 2 / 4,
    "median_hours_to_resolve": (10 + 24) / 2, "grassroots_rate": 2 / 5, "satisfaction_rate": 2 / 3,
    "overdue_open": 2,  # E3 (SLA due 2023-05-04 08:00) and E9; E6 is due 2024-01-01 08:00, E10 by SLA in 2024
}  # fmt: skip
NO_EVENTS = {
    "total": 0, "resolved": 0, "resolution_rate": None, "on_time_rate": None, "median_hours_to_resolve": None,
    "grassroots_rate": None, "satisfaction_rate": None, "overdue_open": 0,
}  # fmt: skip
NO_ECONOMY = {"villages": 0, "operating_income": 0.0, "share_ge_50k": None, "share_ge_100k": None,
              "share_profit_ge_100k": None}  # fmt: skip

KPI_CASES = [
    # ---- the city, 2023
    ("50", "2023-01-01", "2023-12-31", None, "population", {
        "residents": 9, "households": 7,
        "elderly_share": 4 / 9,  # born 1963 or before: R1 R2 R5 R8
        "floating_share": 3 / 9,
        "special_care": {"elderly_alone": 2, "low_income": 2, "disabled": 1, "veteran": 1,
                         "left_behind_child": 1, "extreme_poverty": 1}}),
    ("50", "2023-01-01", "2023-12-31", None, "housing",
     {"units": 6, "rented": 2, "rental_share": 2 / 6, "vacancy_rate": 2 / 6}),
    ("50", "2023-01-01", "2023-12-31", None, "events", CITY_EVENTS_2023),
    ("50", "2023-01-01", "2023-12-31", None, "collective_economy", {
        "villages": 3, "operating_income": 210000.0, "share_ge_50k": 2 / 3, "share_ge_100k": 1 / 3,
        "share_profit_ge_100k": 1 / 3}),
    # ---- the city, other periods and years
    ("50", "2023-01-01", "2024-01-31", None, "events",
     CITY_EVENTS_2023 | {"overdue_open": 4}),  # E6 and E10 fall due before 2024-02-01
    ("50", "2023-01-01", "2024-01-31", None, "collective_economy", NO_ECONOMY),  # year 2024
    ("50", "2023-01-01", "2024-01-31", 2022, "collective_economy", {
        "villages": 1, "operating_income": 40000.0, "share_ge_50k": 0.0, "share_ge_100k": 0.0,
        "share_profit_ge_100k": 0.0}),
    ("50", "2022-01-01", "2022-12-31", None, "events", {
        "total": 1, "resolved": 1, "resolution_rate": 1.0, "on_time_rate": 1.0,
        "median_hours_to_resolve": 2.0, "grassroots_rate": None,
        "satisfaction_rate": 1.0, "overdue_open": 0}),
    ("50", "2022-01-01", "2022-12-31", None, "collective_economy", {
        "villages": 1, "operating_income": 40000.0, "share_ge_50k": 0.0, "share_ge_100k": 0.0,
        "share_profit_ge_100k": 0.0}),
    ("50", "2022-01-01", "2022-12-31", 2023, "collective_economy", {
        "villages": 3, "operating_income": 210000.0, "share_ge_50k": 2 / 3, "share_ge_100k": 1 / 3,
        "share_profit_ge_100k": 1 / 3}),
    # elderly by year(to): born 1962 or before in 2022, 1964 or before in 2024
    ("50", "2022-01-01", "2022-12-31", None, "population.elderly_share", 3 / 9),
    ("50", "2023-01-01", "2024-01-31", None, "population.elderly_share", 5 / 9),
    # ... and before the first birth year or after the last: nobody, then everybody
    ("50", "1970-01-01", "1970-12-31", None, "population.elderly_share", 0.0),
    ("50", "2100-01-01", "2100-12-31", None, "population.elderly_share", 1.0),
    (G1, "2100-01-01", "2100-12-31", None, "population.elderly_share", 1.0),
    # one day, the last of 2023: E6 and E10 (reported at 23:59), nothing resolved, neither overdue yet;
    # the backlog at its end holds E3 and E9, reported before it
    ("50", "2023-12-31", "2023-12-31", None, "events", {
        "total": 2, "resolved": 0, "resolution_rate": 0.0, "on_time_rate": None,
        "median_hours_to_resolve": None, "grassroots_rate": None,
        "satisfaction_rate": None, "overdue_open": 2}),
    # E3 is due by SLA at 2023-05-04 08:00: not overdue by the end of 3 May, overdue by the end of 4 May
    ("50", "2023-05-01", "2023-05-03", None, "events.overdue_open", 0),
    ("50", "2023-05-01", "2023-05-04", None, "events.overdue_open", 1),
    # overdue_open is the backlog at the end of the period, whenever its events were reported: E3 (reported
    # 1 May) is still in it at the end of June; E2 (due 4 April 08:00 by SLA) is in it at the end of 4 and
    # 5 April, reported before the period or in it, since it was resolved only on 6 April
    ("50", "2023-06-01", "2023-06-30", None, "events.overdue_open", 1),
    ("50", "2023-04-05", "2023-04-05", None, "events.overdue_open", 1),
    ("50", "2023-04-01", "2023-04-04", None, "events.overdue_open", 1),
    ("50", "2023-04-01", "2023-04-06", None, "events.overdue_open", 0),
    ("500101001", "2023-04-05", "2023-04-05", None, "events.overdue_open", 1),
    ("500101002", "2023-04-05", "2023-04-05", None, "events.overdue_open", 0),
    # E4 fell due at 10:00 and was resolved at 12:00 the same day: never in the backlog at the end of a day
    ("50", "2023-06-01", "2023-06-01", None, "events.overdue_open", 1),  # E3 only
    # ... and E9 (due 30 December) and E3 at the end of 2024, with E6 and E10 fallen due since
    ("50", "2024-06-01", "2024-06-30", None, "events.overdue_open", 4),
    # ---- district 500101: everything but R9
    ("500101", "2023-01-01", "2023-12-31", None, "population", {
        "residents": 8, "households": 6, "elderly_share": 4 / 8, "floating_share": 3 / 8,
        "special_care": {"elderly_alone": 2, "low_income": 2, "disabled": 1, "veteran": 1,
                         "left_behind_child": 1, "extreme_poverty": 1}}),
    ("500101", "2023-01-01", "2023-12-31", None, "housing",
     {"units": 6, "rented": 2, "rental_share": 2 / 6, "vacancy_rate": 2 / 6}),
    ("500101", "2023-01-01", "2023-12-31", None, "events", CITY_EVENTS_2023),
    # ---- township 500101001: grids G1 G2 G3
    ("500101001", "2023-01-01", "2023-12-31", None, "population", {
        "residents": 7, "households": 5, "elderly_share": 3 / 7, "floating_share": 3 / 7,
        "special_care": {"elderly_alone": 2, "low_income": 1, "disabled": 1, "veteran": 1,
                         "left_behind_child": 1, "extreme_poverty": 1}}),
    ("500101001", "2023-01-01", "2023-12-31", None, "housing",
     {"units": 5, "rented": 2, "rental_share": 2 / 5, "vacancy_rate": 1 / 5}),
    ("500101001", "2023-01-01", "2023-12-31", None, "events", {
        "total": 6, "resolved": 4, "resolution_rate": 4 / 6, "on_time_rate": 2 / 4,
        "median_hours_to_resolve": 17.0, "grassroots_rate": 2 / 4, "satisfaction_rate": 2 / 3,
        "overdue_open": 1}),
    ("500101001", "2023-01-01", "2023-12-31", None, "collective_economy", {
        "villages": 2, "operating_income": 150000.0, "share_ge_50k": 1 / 2, "share_ge_100k": 1 / 2,
        "share_profit_ge_100k": 1 / 2}),
    # ---- township 500101002: one unresolved dispute still counts in the grassroots rate
    ("500101002", "2023-01-01", "2023-12-31", None, "events", {
        "total": 2, "resolved": 0, "resolution_rate": 0.0, "on_time_rate": None,
        "median_hours_to_resolve": None, "grassroots_rate": 0.0,
        "satisfaction_rate": None, "overdue_open": 1}),
    ("500101002", "2023-01-01", "2023-12-31", None, "collective_economy", {
        "villages": 1, "operating_income": 60000.0, "share_ge_50k": 1.0, "share_ge_100k": 0.0,
        "share_profit_ge_100k": 0.0}),
    # ---- community 500101001001: grids G1 G2; it reports collective economy itself
    ("500101001001", "2023-01-01", "2023-12-31", None, "population", {
        "residents": 6, "households": 4, "elderly_share": 3 / 6, "floating_share": 2 / 6,
        "special_care": {"elderly_alone": 2, "low_income": 1, "disabled": 1, "veteran": 1,
                         "left_behind_child": 1, "extreme_poverty": 1}}),
    ("500101001001", "2023-01-01", "2023-12-31", None, "housing",
     {"units": 4, "rented": 2, "rental_share": 2 / 4, "vacancy_rate": 1 / 4}),
    ("500101001001", "2023-01-01", "2023-12-31", None, "events.total", 6),
    ("500101001001", "2023-01-01", "2023-12-31", None, "collective_economy", {
        "villages": 1, "operating_income": 30000.0, "share_ge_50k": 0.0, "share_ge_100k": 0.0,
        "share_profit_ge_100k": 0.0}),
    # ---- grid G1: an odd number of resolved events
    (G1, "2023-01-01", "2023-12-31", None, "population", {
        "residents": 4, "households": 2, "elderly_share": 2 / 4, "floating_share": 2 / 4,
        "special_care": NO_CARE | {"elderly_alone": 1, "low_income": 1, "disabled": 1, "veteran": 1}}),
    (G1, "2023-01-01", "2023-12-31", None, "housing",
     {"units": 3, "rented": 1, "rental_share": 1 / 3, "vacancy_rate": 1 / 3}),
    (G1, "2023-01-01", "2023-12-31", None, "events", {
        "total": 4, "resolved": 3, "resolution_rate": 3 / 4, "on_time_rate": 1 / 3,
        "median_hours_to_resolve": 10.0, "grassroots_rate": 1 / 3, "satisfaction_rate": 2 / 3,
        "overdue_open": 1}),
    (G1, "2023-01-01", "2023-12-31", None, "collective_economy", NO_ECONOMY),
    (G1, "2023-03-01", "2023-03-01", None, "events", {
        "total": 1, "resolved": 1, "resolution_rate": 1.0, "on_time_rate": 1.0,
        "median_hours_to_resolve": 10.0, "grassroots_rate": 1.0,
        "satisfaction_rate": 1.0, "overdue_open": 0}),
    (G2, "2023-01-01", "2023-12-31", None, "events.median_hours_to_resolve", 24.0),
    # ---- district 500102: residents only, so every other denominator is empty
    ("500102", "2023-01-01", "2023-12-31", None, "population", {
        "residents": 1, "households": 1, "elderly_share": 0.0, "floating_share": 0.0,
        "special_care": NO_CARE}),
    ("500102", "2023-01-01", "2023-12-31", None, "housing",
     {"units": 0, "rented": 0, "rental_share": None, "vacancy_rate": None}),
    ("500102", "2023-01-01", "2023-12-31", None, "events", NO_EVENTS),
    ("500102", "2023-01-01", "2023-12-31", None, "collective_economy", NO_ECONOMY),
    (G5, "2023-01-01", "2023-12-31", None, "events", NO_EVENTS),
]  # fmt: skip


def pick(result: dict, path: str) -> object:
    """result['a']['b'] for path 'a.b'."""
    for key in path.split("."):
        result = result[key]
    return result


@pytest.mark.parametrize(("region", "start", "end", "year", "path", "expected"), KPI_CASES)
def test_kpi(db, region, start, end, year, path, expected):
    assert pick(kpis(db, region, start, end, year=year), path) == expected


def test_kpi_object_has_the_keys_of_the_contract(db):
    result = kpis(db, "500101", "2023-01-01", "2023-12-31")
    assert list(result) == [
        "region",
        "from",
        "to",
        "year",
        "population",
        "housing",
        "events",
        "collective_economy",
        "iot",
    ]
    assert (result["region"], result["from"], result["to"], result["year"]) == (
        "500101", "2023-01-01", "2023-12-31", 2023
    )  # fmt: skip
    assert set(result["population"]) == {
        "residents",
        "households",
        "elderly_share",
        "floating_share",
        "special_care",
    }
    assert set(result["population"]["special_care"]) == set(TAGS)
    assert set(result["housing"]) == {"units", "rented", "rental_share", "vacancy_rate"}
    assert set(result["events"]) == set(CITY_EVENTS_2023)
    assert set(result["collective_economy"]) == set(NO_ECONOMY)
    assert set(result["iot"]) == {
        "devices", "online_share", "alarms", "handled", "handled_rate", "median_minutes_to_handle",
        "false_alarm_share", "open_alarms", "escalated",
    }  # fmt: skip


def test_kpis_take_dates_or_iso_strings(db):
    as_strings = kpis(db, "500101001", "2023-01-01", "2023-12-31")
    as_dates = kpis(db, "500101001", dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert as_strings == as_dates


@pytest.mark.parametrize(
    ("region", "start", "end", "scope", "message"),
    [
        ("500199", "2023-01-01", "2023-12-31", None, "区划代码 500199 不存在"),
        ("5001", "2023-01-01", "2023-12-31", None, "区划代码 5001 不存在"),
        ("abc", "2023-01-01", "2023-12-31", None, "区划代码 abc 不存在"),
        (G1 + "1", "2023-01-01", "2023-12-31", None, f"区划代码 {G1}1 不存在"),
        # a digit to isdigit(), not to int()
        ("50010²", "2023-01-01", "2023-12-31", None, "区划代码 50010² 不存在"),
        ("500102", "2023-01-01", "2023-12-31", "500101", "无权查看 500102"),
        ("50", "2023-01-01", "2023-12-31", "500101", "无权查看 50"),
        ("500101", "2023-12-31", "2023-01-01", None, "晚于"),
        ("500101", "2023-13-01", "2023-12-31", None, "不是 YYYY-MM-DD 格式的日期"),
    ],
)
def test_kpi_errors(db, region, start, end, scope, message):
    """Asked directly (the `kpi` command) or through the gate for a principal: the same refusals, and
    a region outside the principal's scope is refused as such."""
    with pytest.raises(QueryError, match=message):
        if scope is None:
            kpis(db, region, start, end)
        else:
            Gate(Principal("someone", "analyst", scope, "password")).ask("kpis", db, region, start, end)


def test_kpis_within_scope(db):
    within = Gate(Principal("someone", "analyst", "500101", "password")).ask(
        "kpis", db, "500101", "2023-01-01", "2023-12-31"
    )
    assert within == kpis(db, "500101", "2023-01-01", "2023-12-31")


def test_missing_database_is_a_query_error(tmp_path):
    with pytest.raises(QueryError, match="数据库不存在"):
        kpis(tmp_path / "nowhere.duckdb", "50", "2023-01-01", "2023-12-31")


@pytest.mark.parametrize(
    ("start", "end", "mode", "compared"),
    [
        # 同比: the same dates a year earlier, whatever the length
        ("2025-01-01", "2025-12-31", "yoy", ("2024-01-01", "2024-12-31")),
        ("2024-01-01", "2024-12-31", "yoy", ("2023-01-01", "2023-12-31")),
        ("2024-02-29", "2024-03-31", "yoy", ("2023-02-28", "2023-03-31")),  # 29 February → 28 February
        ("2025-03-01", "2025-03-31", "yoy", ("2024-03-01", "2024-03-31")),
        ("2023-07-01", "2023-12-31", "yoy", ("2022-07-01", "2022-12-31")),
        # 环比: the same length, ending the day before
        ("2025-01-01", "2025-12-31", "prev", ("2024-01-02", "2024-12-31")),  # 2024 has 366 days
        ("2023-07-01", "2023-12-31", "prev", ("2022-12-29", "2023-06-30")),  # 184 days
        ("2024-03-01", "2024-03-31", "prev", ("2024-01-30", "2024-02-29")),
        ("2024-03-05", "2024-03-05", "prev", ("2024-03-04", "2024-03-04")),
    ],
)
def test_compared_period(start, end, mode, compared):
    assert Period.of(start, end).compared(mode) == Period.of(*compared)


def test_compared_period_default_is_year_on_year():
    assert Period.of("2025-01-01", "2025-12-31").compared() == Period.of("2024-01-01", "2024-12-31")


def test_unknown_compare_mode_is_a_query_error():
    with pytest.raises(QueryError, match="yoy 或 prev"):
        Period.of("2025-01-01", "2025-12-31").compared("mom")


@pytest.mark.parametrize(
    ("start", "end", "year", "compare", "previous"),
    [
        ("2023-07-01", "2023-12-31", None, None, ("2022-07-01", "2022-12-31", 2022)),  # the default: 同比
        ("2023-07-01", "2023-12-31", None, "yoy", ("2022-07-01", "2022-12-31", 2022)),
        ("2023-07-01", "2023-12-31", None, "prev", ("2022-12-29", "2023-06-30", 2022)),  # 184 days
        ("2023-01-01", "2023-12-31", None, None, ("2022-01-01", "2022-12-31", 2022)),
        ("2024-03-01", "2024-03-31", None, "yoy", ("2023-03-01", "2023-03-31", 2023)),
        ("2024-03-01", "2024-03-31", None, "prev", ("2024-01-30", "2024-02-29", 2023)),
        ("2023-01-01", "2023-12-31", 2020, "prev", ("2022-01-01", "2022-12-31", 2019)),
    ],
)
def test_kpis_with_previous_period(db, start, end, year, compare, previous):
    more = {} if compare is None else {"compare": compare}
    current, before = kpis_with_previous(db, "50", start, end, year=year, **more)
    assert current == kpis(db, "50", start, end, year=year)
    assert (before["from"], before["to"], before["year"]) == previous
    assert before == kpis(db, "50", previous[0], previous[1], year=previous[2])


def test_year_on_year_and_previous_period_differ(db):
    """Events of 2023-06: 同比 reads June 2022, 环比 May 2023."""
    _, year_before = kpis_with_previous(db, "50", "2023-06-01", "2023-06-30")
    _, month_before = kpis_with_previous(db, "50", "2023-06-01", "2023-06-30", compare="prev")
    assert (year_before["from"], year_before["to"]) == ("2022-06-01", "2022-06-30")
    assert (month_before["from"], month_before["to"]) == ("2023-05-02", "2023-05-31")


def test_unknown_compare_mode_is_refused(db):
    with pytest.raises(QueryError):
        kpis_with_previous(db, "50", "2023-01-01", "2023-12-31", compare="mom")


def test_previous_year_figures(db):
    current, before = kpis_with_previous(db, "50", "2023-01-01", "2023-12-31")
    assert (current["events"]["total"], before["events"]["total"]) == (8, 1)
    assert (current["collective_economy"]["villages"], before["collective_economy"]["villages"]) == (3, 1)


# -------------------------------------------------------------------------------- the sums

ADDITIVE = [
    "population.residents",
    *(f"population.special_care.{tag}" for tag in TAGS),
    "housing.units",
    "housing.rented",
    "events.total",
    "events.resolved",
    "events.overdue_open",
    "collective_economy.villages",
    "collective_economy.operating_income",
]
CHILDREN = {r["code"]: [c["code"] for c in REGIONS if c.get("parent_code") == r["code"]] for r in REGIONS}
CHILDREN["50"] = [r["code"] for r in REGIONS if r["level"] == "district"]
START = dt.date(2023, 1, 1)


def timestamp(day: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(START, dt.time()) + dt.timedelta(days=day, hours=hour)


@st.composite
def input_folders(draw) -> dict[str, list[dict]]:
    """A small valid input: residents, housing, events and collective economy on the fixed regions."""
    grid = st.sampled_from(GRIDS)
    residents = draw(st.lists(st.fixed_dictionaries({
        "grid_code": grid, "household_id": st.sampled_from(["H1", "H2", "H3"]),
        "gender": st.sampled_from(["M", "F"]), "birth_year": st.integers(1920, 2023).map(str),
        "residence_type": st.sampled_from(list(RESIDENTS.column("residence_type").enum)),
        "tags": st.lists(st.sampled_from(list(TAGS)), unique=True, max_size=3).map(";".join),
    }), max_size=20))  # fmt: skip
    housing = draw(st.lists(st.fixed_dictionaries({
        "grid_code": grid, "building_type": st.just("commercial"), "area_m2": st.just("50"),
        "usage": st.sampled_from(list(HOUSING.column("usage").enum)),
    }), max_size=15))  # fmt: skip
    events = []
    for _ in range(draw(st.integers(0, 25))):
        status = draw(st.sampled_from(list(EVENTS.column("status").enum)))
        day, hour = draw(st.integers(0, 400)), draw(st.integers(0, 23))
        row = {
            "grid_code": draw(grid), "source": "hotline", "status": status,
            "category": draw(st.sampled_from(list(EVENTS.column("category").enum))),
            "reported_at": f"{timestamp(day, hour):%Y-%m-%d %H:%M}",
        }  # fmt: skip
        if draw(st.booleans()):
            row["due_at"] = f"{timestamp(day, hour + draw(st.integers(0, 300))):%Y-%m-%d %H:%M}"
        if status == "resolved":
            row["resolved_at"] = f"{timestamp(day, hour + draw(st.integers(0, 300))):%Y-%m-%d %H:%M}"
            row["resolution_level"] = draw(st.sampled_from(list(EVENTS.column("resolution_level").enum)))
        events.append(row)
    economy = draw(st.lists(st.fixed_dictionaries({
        "village_code": st.sampled_from(VILLAGES), "year": st.sampled_from(["2023", "2024"]),
        "operating_income": st.integers(0, 300000).map(str), "total_income": st.just("300000"),
        "operating_profit": st.integers(-50000, 200000).map(str),
    }), unique_by=lambda r: (r["village_code"], r["year"]), max_size=8))  # fmt: skip
    return {
        "residents": [{"resident_id": f"R{i}", **r} for i, r in enumerate(residents)],
        "housing": [{"house_id": f"U{i}", **r} for i, r in enumerate(housing)],
        "events": [{"event_id": f"E{i}", **r} for i, r in enumerate(events)],
        "collective_economy": economy,
    }


@settings(
    max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tables=input_folders(), first_day=st.integers(0, 400), days=st.integers(1, 400))
def test_additive_measures_of_a_region_are_the_sums_over_its_children(tmp_path, tables, first_day, days):
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    write_folder(root / "input", tables)
    db = build_folder(root / "input", root / "yiping.duckdb").db_path
    start = START + dt.timedelta(days=first_day)
    end = start + dt.timedelta(days=days - 1)
    figures = {code: kpis(db, code, start, end) for code in ["50", *CHILDREN]}
    for parent, children in CHILDREN.items():
        if not children:
            continue
        for path in ADDITIVE:
            if path.startswith("collective_economy") and len(children[0]) == 15:
                continue  # villages are communities: a grid never has collective economy
            total = sum(pick(figures[child], path) for child in children)
            assert pick(figures[parent], path) == total, (parent, path)


# ---------------------------------------------------------------- the city's median by buckets


@pytest.fixture(scope="module")
def demo_db_for_median(tmp_path_factory):
    """A generated database, where the city has thousands of resolved events."""
    from pipelines.build import build
    from pipelines.demo import generate

    folder = tmp_path_factory.mktemp("median")
    generate(folder / "input", scale=0.001, seed=3)
    build(folder / "input", folder / "yiping.duckdb")
    return folder / "yiping.duckdb"


def direct_median(db, start, end):
    """The median over the events themselves, as SPEC section 6 defines it."""
    cur = queries.cursor(db)
    try:
        return cur.execute(
            "select median(epoch_ms(resolved_at) - epoch_ms(reported_at)) / 3600000.0 from events "
            "where status = 'resolved' and reported_date between ? and ?",
            [start, end],
        ).fetchall()[0][0]
    finally:
        cur.close()


def resolved_days(db):
    """Days with exactly one resolved event, and a pair of consecutive days with two in all."""
    cur = queries.cursor(db)
    try:
        rows = cur.execute(
            "select reported_date, count(*) from events where status = 'resolved' group by 1 order by 1"
        ).fetchall()
    finally:
        cur.close()
    return rows


def test_city_median_equals_the_direct_median(demo_db_for_median):
    import random

    db = demo_db_for_median
    days = resolved_days(db)
    first, last = days[0][0], days[-1][0]
    rng = random.Random(11)
    periods = [(first, last), (dt.date(2000, 1, 1), dt.date(2000, 12, 31))]
    for _ in range(30):
        start = first + dt.timedelta(days=rng.randint(0, (last - first).days))
        periods.append((start, start + dt.timedelta(days=rng.randint(0, 400))))
    single = next((day for day, n in days if n == 1), None)
    if single:
        periods.append((single, single))
    pair = next(((a[0], b[0]) for a, b in zip(days, days[1:], strict=False) if a[1] == b[1] == 1), None)
    if pair:
        periods.append(pair)
    for start, end in periods:
        expected = direct_median(db, start, end)
        got = queries.kpis(db, "50", start, end)["events"]["median_hours_to_resolve"]
        assert (got is None and expected is None) or got == pytest.approx(expected, rel=1e-12), (start, end)


def test_every_level_median_and_overdue_equal_the_events_themselves(demo_db_for_median):
    """Regions below the city read resolve_times_by_grid and overdue_changes_by_region_day; check both on
    events."""
    import random

    db = demo_db_for_median
    cur = queries.cursor(db)
    try:
        regions = cur.execute(
            "select level, code from regions where level <> 'city' order by code"
        ).fetchall()
        first, last = cur.execute("select min(reported_date), max(reported_date) from events").fetchall()[0]
    finally:
        cur.close()
    rng = random.Random(5)
    by_level: dict[str, list[str]] = {}
    for level, code in regions:
        by_level.setdefault(level, []).append(code)
    checked = 0
    for level, codes in by_level.items():
        for code in rng.sample(codes, min(8, len(codes))):
            start = first + dt.timedelta(days=rng.randint(0, (last - first).days))
            end = start + dt.timedelta(days=rng.randint(0, 400))
            cur = queries.cursor(db)
            try:
                median, overdue = cur.execute(
                    """
                    select
                        median(epoch_ms(resolved_at) - epoch_ms(reported_at)) filter (
                            where status = 'resolved' and reported_date between $start and $end
                        ) / 3600000.0,
                        -- the backlog at the end of the period, whenever its events were reported
                        count(*) filter (
                            where status <> 'cancelled' and reported_at < $after and due_at < $after
                              and (resolved_at is null or resolved_at >= $after)
                        )
                    from events
                    where starts_with(grid_code, $code)
                    """,
                    {
                        "after": dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
                        "code": code,
                        "start": start,
                        "end": end,
                    },
                ).fetchall()[0]
            finally:
                cur.close()
            got = queries.kpis(db, code, start, end)["events"]
            assert got["overdue_open"] == overdue, (level, code, start, end)
            if median is None:
                assert got["median_hours_to_resolve"] is None, (level, code, start, end)
            else:
                assert got["median_hours_to_resolve"] == pytest.approx(median, rel=1e-12), (level, code)
            checked += median is not None
    assert checked >= 10  # the sample is not all empty


# ------------------------------------------------------------------ the overdue backlog, by hand


def _backlog_by_hand(events: pd.DataFrame, code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """SPEC section 6, overdue_open, read off the input rows: events under the region reported on or before
    `end`, not cancelled, not resolved by the end of `end`, with their deadline (due_at, else reported_at
    plus the category's SLA) before it."""
    end_of_period = pd.Timestamp(end) + pd.Timedelta(days=1)
    due = events["due_at"].fillna(
        events["reported_at"] + pd.to_timedelta(events["category"].map(SLA_HOURS), "h")
    )
    return events[
        events["grid_code"].str.startswith(code)
        & (events["reported_at"] < end_of_period)
        & (events["status"] != "cancelled")
        & (events["resolved_at"].isna() | (events["resolved_at"] >= end_of_period))
        & (due < end_of_period)
    ]


def test_overdue_open_is_the_backlog_at_the_end_of_the_period(demo_db):
    """On the demo, for regions at every level and periods ending on different days, overdue_open counts
    what a reading of the input finds, among them events reported before the period and events resolved
    after it."""
    events = pd.read_parquet(demo_db.parent.parent / "input" / "events.parquet")
    for column in ("reported_at", "resolved_at", "due_at"):
        events[column] = pd.to_datetime(events[column])
    latest = events["reported_at"].max().date()
    grid = events["grid_code"].iloc[len(events) // 2]
    regions = ["50", grid[:6], grid[:9], grid[:12], grid]
    periods = [
        (latest - dt.timedelta(days=29), latest),  # 近30天
        (dt.date(latest.year, 1, 1), latest),
        (dt.date(2023, 3, 1), dt.date(2023, 5, 31)),
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        (dt.date(2023, 7, 15), dt.date(2023, 7, 15)),
    ]
    from_before = resolved_after = 0
    for code in regions:
        for start, end in periods:
            backlog = _backlog_by_hand(events, code, start, end)
            case = (code, start, end)
            assert kpis(demo_db, code, start, end)["events"]["overdue_open"] == len(backlog), case
            # the events page lists the same events, and its map counts them
            listed = queries.overdue_events(demo_db, code, start, end, limit=100_000)
            assert sorted(listed["event_id"]) == sorted(backlog["event_id"]), case
            assert queries.map_cells(demo_db, code, start, end)["overdue"].sum() == len(backlog), case
            from_before += int((backlog["reported_at"] < pd.Timestamp(start)).sum())
            resolved_after += int(backlog["resolved_at"].notna().sum())
    # the cases the definition is about are there to be counted
    assert from_before > 0 and resolved_after > 0, (from_before, resolved_after)


# ------------------------------------------------------------------------------ one publish per run


def _published_with_events(folder: Path, db: Path, count: int) -> None:
    """Build `count` events into a file beside `db`, then publish it over `db` by a rename, as builds do."""
    from inputs import event

    write_folder(folder, {"events": [event(event_id=f"E{i}") for i in range(count)]})
    fresh = db.with_name(f"next-{count}.duckdb")
    build_folder(folder, fresh)
    fresh.replace(db)


def test_a_pinned_thread_reads_one_publish_until_it_pins_again(tmp_path):
    """A page pins the database when its run starts: a publish landing while it draws shows in the next
    run, never in half of this one; a thread that did not pin reads every publish at once."""
    import threading

    from dashboard.queries import pin, publication, read_publication

    db = tmp_path / "yiping.duckdb"
    _published_with_events(tmp_path / "one", db, 1)
    answers: dict[str, object] = {}

    def page_run() -> None:
        pinned = pin(db)
        answers["before"] = kpis(db, "50", "2023-01-01", "2023-12-31")["events"]["total"]
        _published_with_events(tmp_path / "two", db, 2)  # a publish lands while the page is drawn
        answers["during"] = kpis(db, "50", "2023-01-01", "2023-12-31")["events"]["total"]
        answers["read"] = read_publication(db) == pinned != publication(db)
        pin(db)  # the next run
        answers["next"] = kpis(db, "50", "2023-01-01", "2023-12-31")["events"]["total"]
        answers["read_next"] = read_publication(db) == publication(db)

    runner = threading.Thread(target=page_run)
    runner.start()
    runner.join()
    assert answers == {"before": 1, "during": 1, "read": True, "next": 2, "read_next": True}
    # this thread pinned nothing: it reads the file as published now
    assert kpis(db, "50", "2023-01-01", "2023-12-31")["events"]["total"] == 2
