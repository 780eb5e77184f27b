"""Staging: every rule of the input contract (SPEC section 3), as the rejects report and the marts show it.

One input folder holds, for every table, valid rows followed by one bad row per case; it is built
once, and each case looks up its own line in the rejects report.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import pytest
from inputs import (
    G1,
    G2,
    G3,
    HEADERS,
    REGIONS,
    TODAY,
    alarm,
    build_folder,
    device,
    economy,
    event,
    house,
    load_audit,
    query,
    rejects_by_line,
    resident,
    write_table,
)

from pipelines import readers, staging
from pipelines.contract import RESIDENTS, TABLES_BY_NAME

NEXT_YEAR = str(TODAY.year + 1)
ENUM = "取值不在允许范围内"
REQUIRED = "必填项为空"
NOT_A_GRID = "不是已导入的网格"


def region(code: str, level: str, parent: str | None, kind: str | None = None, **values: str) -> dict:
    """A region row."""
    return {"code": code, "name": "某地", "level": level, "parent_code": parent, "kind": kind} | values


# ------------------------------------------------------------------------------------ regions

REGIONS_VALID = [
    # Chinese labels for level and kind
    region("500101010", "街镇", "500101", "镇", name="戊镇"),
    # repeats 丙镇: the last valid row stands
    region("500101002", "township", "500101", "town", name="丙镇（新名）"),
]
# (id, row, column, value, reason)
REGIONS_BAD = [
    ("township code of 8 digits", region("50010100", "township", "500101", "street"),
     "code", "50010100", "代码长度应为 9 位（层级 township）"),
    ("grid code of 16 digits", region("5001010010010011", "grid", "500101001001", "grid"),
     "code", "5001010010010011", "代码长度应为 15 位（层级 grid）"),
    ("district under something but the city", region("500199", "district", "5001", "district"),
     "parent_code", "5001", "区县的上级代码应为空或 50"),
    ("district code of 9 digits", region("500103001", "district", None, "district"),
     "code", "500103001", "代码长度应为 6 位（层级 district）"),
    ("code with a letter", region("50010A", "district", None),
     "code", "50010A", "代码应只含数字"),
    ("code missing", region("", "district", None),
     "code", None, REQUIRED),
    ("code not starting with parent", region("500102003", "township", "500101", "street"),
     "parent_code", "500101", "区划代码 500102003 应以上级代码 500101 开头"),
    ("parent missing", region("500101009001", "community", "500101009", "community"),
     "parent_code", "500101009", "上级代码 500101009 不是已导入的街镇"),
    ("parent empty", region("500101003", "township", None, "street"),
     "parent_code", None, "街镇、村社区和网格必须填写上级代码"),
    ("parent two levels up", region("500101001001009", "grid", "500101001", "grid"),
     "parent_code", "500101001", "上级代码应为上一层级的区划代码"),
    # the township is rejected, so its community and that community's grid are too
    ("kind not fitting level", region("500101008", "township", "500101", "village"),
     "kind", "village", "类型 village 不属于层级 township"),
    ("cascade: community of a rejected township", region("500101008001", "community", "500101008", "village"),
     "parent_code", "500101008", "上级代码 500101008 不是已导入的街镇（或该行已被拒绝）"),
    ("cascade: grid of a rejected community", region("500101008001001", "grid", "500101008001", "grid"),
     "parent_code", "500101008001", "上级代码 500101008001 不是已导入的村社区（或该行已被拒绝）"),
    ("unknown level", region("500101004", "province", "500101"),
     "level", "province", ENUM + "（允许：district 区县、township 街镇、community 村社区、grid 网格）"),
    ("level missing", region("500101004", "", "500101"),
     "level", None, REQUIRED),
    ("unknown kind", region("500101005", "township", "500101", "市"),
     "kind", "市", ENUM),
    ("name missing", region("500101006", "township", "500101", "street", name=""),
     "name", None, REQUIRED),
    ("lon out of range", region("500101007", "township", "500101", "street", lon="200", lat="29"),
     "lon", "200", "应不大于 136"),
    ("lat not a number", region("500101011", "township", "500101", "street", lon="106", lat="北纬29度"),
     "lat", "北纬29度", "应为数字"),
    # a rejected row never supersedes the valid 甲街道 above it
    ("rejected repeat of a valid code", region("500101001", "township", "500101", "street", name=""),
     "name", None, REQUIRED),
]  # fmt: skip

# ---------------------------------------------------------------------------------- residents

RESIDENTS_HEADER = ["resident_id", "id_number", "name", "phone", *HEADERS["residents"][1:]]
RESIDENTS_VALID = [
    resident(resident_id="R1", gender="女", residence_type="流动人口", tags="独居老人、低保对象"),
    resident(resident_id="R2", tags="elderly_alone;low_income"),
    resident(resident_id="R3", tags="disabled,veteran"),
    resident(resident_id="R4", tags="left_behind_child、extreme_poverty"),
    resident(resident_id="R5", tags="veteran，disabled"),
    resident(resident_id="R6", tags="低保对象；残疾人"),
    resident(resident_id="R7", birth_year="1990-05-01"),
    resident(resident_id="R8", birth_year="1990/5/1"),
    resident(resident_id="R9", birth_year="1990年5月1日"),
    resident(resident_id="R10", birth_year=str(TODAY.year)),
    resident(resident_id="R11", birth_year="1900"),
    resident(resident_id="", id_number="110101195001011234", name="张三", phone="13800000000", grid_code=G2),
    resident(resident_id="R13", household_id="H13a", gender="M"),
    resident(resident_id="R14", household_id="H14", gender="M"),
    resident(resident_id="R13", household_id="H13b", gender="F"),
]
RESIDENTS_BAD = [
    ("unknown gender", resident(gender="X"), "gender", "X", ENUM + "（允许：M 男、F 女）"),
    ("gender missing", resident(gender=""), "gender", None, REQUIRED),
    ("born next year", resident(birth_year=NEXT_YEAR), "birth_year", NEXT_YEAR, f"应不大于 {TODAY.year}"),
    ("born on a date next year", resident(birth_year=f"{NEXT_YEAR}-01-01"),
     "birth_year", f"{NEXT_YEAR}-01-01", f"应不大于 {TODAY.year}"),
    ("born before 1900", resident(birth_year="1899"), "birth_year", "1899", "应不小于 1900"),
    ("birth year not a year", resident(birth_year="八十年代"), "birth_year", "八十年代", "应为年份"),
    ("birth year missing", resident(birth_year=""), "birth_year", None, REQUIRED),
    ("unknown residence type", resident(residence_type="常住人口"), "residence_type", "常住人口", ENUM),
    ("unknown tag", resident(tags="elderly_alone;ghost"),
     "tags", "elderly_alone;ghost", "含有无法识别的标签"),
    ("only unknown tags", resident(tags="甲、乙"), "tags", "甲、乙", "含有无法识别的标签"),
    ("grid not existing", resident(grid_code="500101001001999"),
     "grid_code", "500101001001999", "网格代码 500101001001999 " + NOT_A_GRID),
    ("grid code of a community", resident(grid_code="500101001001"),
     "grid_code", "500101001001", "网格代码 500101001001 " + NOT_A_GRID),
    ("grid code with letters", resident(grid_code="G-1"), "grid_code", "G-1", "代码应只含数字"),
    ("household missing", resident(household_id=""), "household_id", None, REQUIRED),
    ("no resident_id and no id_number", resident(resident_id="", name="李四", phone="13900000000"),
     "resident_id", None, "人员编号和身份证号都为空，无法识别此人"),
    ("rejected repeat of a valid id", resident(resident_id="R14", household_id="H14b", gender="X"),
     "gender", "X", ENUM),
]  # fmt: skip

# ------------------------------------------------------------------------------------ housing

HOUSING_VALID = [
    house(house_id="U1", area_m2="100000"),
    house(house_id="U2", area_m2="0.5", built_year=""),
    house(house_id="U3", area_m2="1,234.5", built_year=str(TODAY.year)),
    house(house_id="U4", usage="出租", building_type="自建房", built_year="1900"),
    house(house_id="U5", usage="vacant"),
    house(house_id="U5", usage="rented"),
]
HOUSING_BAD = [
    ("area zero", house(area_m2="0"), "area_m2", "0", "应大于 0"),
    ("area negative", house(area_m2="-5"), "area_m2", "-5", "应大于 0"),
    ("area too large", house(area_m2="100001"), "area_m2", "100001", "应不大于 100000"),
    ("area not a number", house(area_m2="约80"), "area_m2", "约80", "应为数字"),
    ("area missing", house(area_m2=""), "area_m2", None, REQUIRED),
    ("built before 1900", house(built_year="1899"), "built_year", "1899", "应不小于 1900"),
    ("built next year", house(built_year=NEXT_YEAR), "built_year", NEXT_YEAR, f"应不大于 {TODAY.year}"),
    ("unknown building type", house(building_type="城堡"), "building_type", "城堡", ENUM),
    ("unknown usage", house(usage="借住"), "usage", "借住", ENUM),
    ("usage missing", house(usage=""), "usage", None, REQUIRED),
    ("house_id missing", house(house_id=""), "house_id", None, REQUIRED),
    ("grid not existing", house(grid_code="500101001001998"),
     "grid_code", "500101001001998", "网格代码 500101001001998 " + NOT_A_GRID),
]  # fmt: skip

# ------------------------------------------------------------------------------------- events

EVENTS_VALID = [
    event(event_id="E-iso", reported_at="2024-01-05 08:30:00"),
    event(event_id="E-minutes", reported_at="2024-01-05 08:30"),
    event(event_id="E-slashed", reported_at="2024/1/5 8:30"),
    event(event_id="E-chinese", reported_at="2024年1月5日 08:30"),
    event(event_id="E-t", reported_at="2024-01-05T08:30:00"),
    event(event_id="E-date", reported_at="2024-01-05"),
    event(
        event_id="E-labels", category="矛盾纠纷", source="12345热线", status="已办结",
        resolution_level="村社区", satisfaction="基本满意", reported_at="2023-06-01 08:00",
        accepted_at="2023-06-01 08:00", resolved_at="2023/6/2 8:00", description='=HYPERLINK("http://x")',
    ),
    # a status update: the later row stands
    event(event_id="E-update", status="pending"),
    event(event_id="E-update", status="resolved", resolved_at="2023-06-03 08:00", resolution_level="grid"),
    # a later row that is rejected does not replace this one
    event(event_id="E-keep", status="in_progress"),
]  # fmt: skip
EVENTS_BAD = [
    ("accepted before reported", event(accepted_at="2023-06-01 07:59"),
     "accepted_at", "2023-06-01 07:59", "受理时间早于上报时间"),
    ("resolved without resolved_at", event(status="resolved", resolution_level="grid"),
     "resolved_at", None, "状态为已办结时必须填写办结时间"),
    ("resolved_at on a pending event", event(resolved_at="2023-06-02 08:00"),
     "resolved_at", "2023-06-02 08:00", "未办结的事件不应有办结时间"),
    ("resolved_at on a cancelled event", event(status="已作废", resolved_at="2023-06-02 08:00"),
     "resolved_at", "2023-06-02 08:00", "未办结的事件不应有办结时间"),
    ("resolved before reported",
     event(status="resolved", resolution_level="grid", resolved_at="2023年5月31日 08:00"),
     "resolved_at", "2023年5月31日 08:00", "办结时间早于上报时间"),
    ("resolved without resolution_level", event(status="resolved", resolved_at="2023-06-02 08:00"),
     "resolution_level", None, "状态为已办结时必须填写化解层级"),
    ("grid not existing", event(grid_code="500101001001997"),
     "grid_code", "500101001001997", "网格代码 500101001001997 " + NOT_A_GRID),
    ("unknown category", event(category="噪音"), "category", "噪音", ENUM),
    ("unknown source", event(source="微信"), "source", "微信", ENUM),
    ("unknown status", event(status="done"), "status", "done", ENUM),
    ("unknown satisfaction", event(satisfaction="一般"), "satisfaction", "一般", ENUM),
    ("unknown resolution level",
     event(status="resolved", resolved_at="2023-06-02 08:00", resolution_level="市级"),
     "resolution_level", "市级", ENUM),
    ("reported_at not a time", event(reported_at="昨天"), "reported_at", "昨天", "无法识别的日期时间"),
    ("reported_at on 30 February", event(reported_at="2023-02-30 08:00"),
     "reported_at", "2023-02-30 08:00", "无法识别的日期时间"),
    ("reported_at missing", event(reported_at=""), "reported_at", None, REQUIRED),
    ("due_at not a time", event(due_at="尽快"), "due_at", "尽快", "无法识别的日期时间"),
    ("event_id missing", event(event_id=""), "event_id", None, REQUIRED),
    ("lon out of range", event(lon="999", lat="29"), "lon", "999", "应不大于 136"),
    ("rejected repeat of a valid id", event(event_id="E-keep", status="done"), "status", "done", ENUM),
]  # fmt: skip

# ------------------------------------------------------------------------------ collective economy

ECONOMY_VALID = [
    economy(village_code="500101001002", year="2022", operating_income="60,000", total_income="60000",
            operating_profit="-5", entity_type="强村公司"),
    economy(village_code="500101002001", year="2023", operating_income="1", total_income="1"),
    economy(village_code="500101002001", year="2023", operating_income="2", total_income="2", dividends="0",
            shareholders="0"),
]  # fmt: skip
ECONOMY_BAD = [
    ("total below operating", economy(operating_income="100000", total_income="99999.5"),
     "total_income", "99999.5", "总收入小于经营性收入"),
    ("village is a grid", economy(village_code=G1), "village_code", G1, f"村代码 {G1} 不是已导入的村社区"),
    ("village is a township", economy(village_code="500101001"),
     "village_code", "500101001", "村代码 500101001 不是已导入的村社区"),
    ("village not existing", economy(village_code="500101001099"),
     "village_code", "500101001099", "村代码 500101001099 不是已导入的村社区"),
    ("operating income negative", economy(operating_income="-1"), "operating_income", "-1", "应不小于 0"),
    ("operating profit missing", economy(operating_profit=""), "operating_profit", None, REQUIRED),
    ("year missing", economy(year=""), "year", None, REQUIRED),
    ("year not a number", economy(year="二〇二三"), "year", "二〇二三", "应为整数"),
    ("year before 1949", economy(year="1900"), "year", "1900", "应不小于 1949"),
    ("dividends negative", economy(dividends="-1"), "dividends", "-1", "应不小于 0"),
    ("shareholders not whole", economy(shareholders="1.5"), "shareholders", "1.5", "应为整数"),
    ("unknown entity type", economy(entity_type="公司"), "entity_type", "公司", ENUM),
]  # fmt: skip

# -------------------------------------------------------------------------------- IoT devices

DEVICES_VALID = [
    device(device_id="D1"),
    device(device_id="D2", grid_code=G3, device_type="智能门禁", status="离线", installed_at="2023/1/5 8:30",
           lon="106.5", lat="29.5"),
    device(device_id="D3", device_type="bin_sensor", status="online"),
    # a later row of a device supersedes: D3 was taken down
    device(device_id="D3", device_type="bin_sensor", status="已拆除"),
]  # fmt: skip
DEVICES_BAD = [
    ("unknown device type", device(device_type="摄像头"), "device_type", "摄像头", ENUM),
    ("device type missing", device(device_type=""), "device_type", None, REQUIRED),
    ("unknown status", device(status="broken"), "status", "broken",
     ENUM + "（允许：online 在线、offline 离线、retired 已拆除）"),
    ("grid not existing", device(grid_code="500101001001996"),
     "grid_code", "500101001001996", "网格代码 500101001001996 " + NOT_A_GRID),
    ("installed_at not a time", device(installed_at="去年"), "installed_at", "去年", "无法识别的日期时间"),
    ("device_id missing", device(device_id=""), "device_id", None, REQUIRED),
    ("lat out of range", device(lon="106", lat="99"), "lat", "99", "应不大于 54"),
    ("rejected repeat of a valid id", device(device_id="D1", status="?"), "status", "?", ENUM),
]  # fmt: skip

# ------------------------------------------------------------------------------------- alarms

ALARMS_VALID = [
    alarm(alarm_id="A-iso", raised_at="2024-01-05 08:30:00"),
    alarm(alarm_id="A-labels", device_id="D2", status="已处置", raised_at="2024/1/5 8:30",
          handled_at="2024年1月5日 09:00", outcome="误报", event_id="E1"),
    # an alarm of a retired device stays an alarm
    alarm(alarm_id="A-retired", device_id="D3"),
    # a status update: the later row stands
    alarm(alarm_id="A-update", status="open"),
    alarm(alarm_id="A-update", status="handled", handled_at="2023-06-01 08:10", outcome="confirmed"),
    # a later row that is rejected does not replace this one
    alarm(alarm_id="A-keep"),
]  # fmt: skip
ALARMS_BAD = [
    ("unknown device", alarm(device_id="D9"), "device_id", "D9", "设备编号 D9 不是已导入的设备"),
    # every bad device row above is D0: an alarm of a rejected device is rejected too
    ("device of a rejected row", alarm(device_id="D0"), "device_id", "D0", "设备编号 D0 不是已导入的设备"),
    ("handled without handled_at", alarm(status="handled"),
     "handled_at", None, "处置状态为已处置时必须填写处置时间"),
    ("handled_at on an open alarm", alarm(handled_at="2023-06-01 09:00"),
     "handled_at", "2023-06-01 09:00", "待处置的告警不应有处置时间"),
    ("handled before raised", alarm(status="handled", handled_at="2023-06-01 07:59"),
     "handled_at", "2023-06-01 07:59", "处置时间早于告警时间"),
    ("outcome on an open alarm", alarm(outcome="confirmed"),
     "outcome", "confirmed", "待处置的告警不应有核实结果"),
    ("unknown status", alarm(status="closed"), "status", "closed",
     ENUM + "（允许：open 待处置、handled 已处置）"),
    ("unknown outcome", alarm(status="handled", handled_at="2023-06-01 09:00", outcome="maybe"),
     "outcome", "maybe", ENUM + "（允许：confirmed 属实、false_alarm 误报）"),
    ("raised_at on 30 February", alarm(raised_at="2023-02-30 08:00"),
     "raised_at", "2023-02-30 08:00", "无法识别的日期时间"),
    ("raised_at missing", alarm(raised_at=""), "raised_at", None, REQUIRED),
    ("handled_at not a time", alarm(status="handled", handled_at="不久"), "handled_at", "不久", "无法识别的日期时间"),
    ("alarm_id missing", alarm(alarm_id=""), "alarm_id", None, REQUIRED),
    ("device_id missing", alarm(device_id=""), "device_id", None, REQUIRED),
    ("rejected repeat of a valid id", alarm(alarm_id="A-keep", status="closed"), "status", "closed", ENUM),
]  # fmt: skip

INPUTS = {
    "regions": (REGIONS + REGIONS_VALID, REGIONS_BAD, HEADERS["regions"]),
    "residents": (RESIDENTS_VALID, RESIDENTS_BAD, RESIDENTS_HEADER),
    "housing": (HOUSING_VALID, HOUSING_BAD, HEADERS["housing"]),
    "events": (EVENTS_VALID, EVENTS_BAD, HEADERS["events"] + ["lon", "lat"]),
    "collective_economy": (ECONOMY_VALID, ECONOMY_BAD, HEADERS["collective_economy"]),
    "devices": (DEVICES_VALID, DEVICES_BAD, HEADERS["devices"]),
    "alarms": (ALARMS_VALID, ALARMS_BAD, HEADERS["alarms"]),
}


def bad_cases(table: str) -> list:
    """(table, line, column, value, reason) for every bad row of a table, named by its id."""
    valid, bad, _ = INPUTS[table]
    return [
        pytest.param(table, 2 + len(valid) + i, column, value, reason, id=f"{table}: {name}")
        for i, (name, _, column, value, reason) in enumerate(bad)
    ]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """The database built from every table's valid rows followed by its bad rows."""
    root = tmp_path_factory.mktemp("staging")
    for table, (valid, bad, header) in INPUTS.items():
        write_table(root / "input", table, valid + [row for _, row, *_ in bad], header=header)
    build_folder(root / "input", root / "db" / "yiping.duckdb")
    return root / "db" / "yiping.duckdb"


@pytest.mark.parametrize(
    ("table", "line", "column", "value", "reason"),
    [case for table in INPUTS for case in bad_cases(table)],
)
def test_bad_row_is_rejected_with_line_column_value_and_reason(loaded, table, line, column, value, reason):
    problems = rejects_by_line(loaded, f"{table}.csv").get(line)
    assert problems is not None, f"line {line} of {table}.csv was not rejected"
    assert [(c, v) for c, v, _ in problems] == [(column, value)]
    assert reason in problems[0][2]


@pytest.mark.parametrize("table", list(INPUTS))
def test_only_bad_rows_are_rejected(loaded, table):
    valid, bad, _ = INPUTS[table]
    assert sorted(rejects_by_line(loaded, f"{table}.csv")) == list(
        range(2 + len(valid), 2 + len(valid) + len(bad))
    )


@pytest.mark.parametrize(
    ("file", "counts"),
    [
        # rows_read, rows_loaded, rows_rejected, rows_superseded
        ("regions.csv", (36, 15, 20, 1)),
        ("residents.csv", (31, 14, 16, 1)),
        ("housing.csv", (18, 5, 12, 1)),
        ("events.csv", (29, 9, 19, 1)),
        ("collective_economy.csv", (15, 2, 12, 1)),
        ("devices.csv", (12, 3, 8, 1)),
        ("alarms.csv", (20, 5, 14, 1)),
    ],
)
def test_load_audit_counts_every_row_once(loaded, file, counts):
    read, rows_loaded, rejected, superseded = load_audit(loaded)[file]
    assert (read, rows_loaded, rejected, superseded) == counts
    assert read == rows_loaded + rejected + superseded


def test_regions_take_codes_for_labels_and_the_last_valid_row(loaded):
    rows = dict(
        (code, (name, level, kind))
        for code, name, level, kind in query(loaded, "select code, name, level, kind from regions")
    )
    assert rows["500101010"] == ("戊镇", "township", "town")
    assert rows["500101002"] == ("丙镇（新名）", "township", "town")
    assert rows["500101001"] == ("甲街道", "township", "street")
    rejected = {
        "500101008",
        "500101008001",
        "500101008001001",
        "500102003",
        "500101009001",
        "5001010010010011",
    }
    assert not rejected & set(rows)
    assert len(rows) == 1 + len(REGIONS) + 1


def test_residents_take_codes_for_labels_and_tags(loaded):
    (row,) = query(
        loaded,
        "select residents, households, male, female, floating, elderly_alone, low_income, disabled, veteran, "
        "left_behind_child, extreme_poverty from population_by_region where region_code = '50'",
    )
    # R1 is the only woman (R13's last row is F too); R1..R6 carry the tags
    assert row == (14, 3, 12, 2, 1, 2, 3, 3, 2, 1, 1)


def test_birth_dates_are_reduced_to_years(loaded):
    rows = query(
        loaded,
        "select birth_year, sum(residents) from residents_by_region_age where region_code = '50' "
        "group by birth_year order by birth_year",
    )
    assert rows == [(1900, 1), (1980, 9), (1990, 3), (TODAY.year, 1)]


def test_housing_measures(loaded):
    (row,) = query(
        loaded, "select units, rented, vacant, area_m2 from housing_by_region where region_code = '50'"
    )
    assert row == (5, 2, 0, 100000 + 0.5 + 1234.5 + 80 + 80)


def test_events_take_every_date_format_and_labels(loaded):
    columns = "event_id, reported_at, category, source, status, resolution_level, satisfaction, description"
    rows = {event_id: values for event_id, *values in query(loaded, f"select {columns} from events")}
    rows = {event_id: tuple(values) for event_id, values in rows.items()}
    at = dt.datetime(2024, 1, 5, 8, 30)
    for event_id in ("E-iso", "E-minutes", "E-slashed", "E-chinese", "E-t"):
        assert rows[event_id][0] == at, event_id
    assert rows["E-date"][0] == dt.datetime(2024, 1, 5)
    assert rows["E-labels"][1:] == (
        "dispute", "hotline", "resolved", "community", "basically_satisfied", '=HYPERLINK("http://x")'
    )  # fmt: skip
    assert rows["E-update"][3:5] == ("resolved", "grid")
    assert rows["E-keep"][3] == "in_progress"
    assert len(rows) == 9


def test_collective_economy_keeps_the_last_row_of_a_village_year(loaded):
    rows = query(
        loaded,
        "select village_code, year, operating_income, operating_profit, entity_type, shareholders "
        "from collective_economy order by village_code, year",
    )
    assert rows == [
        ("500101001002", 2022, 60000.0, -5.0, "strong_village_company", None),
        ("500101002001", 2023, 2.0, 50000.0, None, 0),
    ]


def test_devices_take_codes_for_labels_and_the_last_valid_row(loaded):
    rows = query(loaded, "select device_id, grid_code, device_type, status, installed_at from devices")
    assert sorted(rows) == [
        ("D1", G1, "smoke_detector", "online", None),
        ("D2", G3, "door_access", "offline", dt.datetime(2023, 1, 5, 8, 30)),
        ("D3", G1, "bin_sensor", "retired", None),
    ]


def test_alarms_take_labels_their_device_and_the_last_valid_row(loaded):
    columns = (
        "alarm_id, grid_code, device_type, status, raised_at, handled_at, outcome, event_id, ms_to_handle"
    )
    rows = {alarm_id: tuple(values) for alarm_id, *values in query(loaded, f"select {columns} from alarms")}
    at = dt.datetime(2024, 1, 5, 8, 30)
    assert rows["A-iso"] == (G1, "smoke_detector", "open", at, None, None, None, None)
    assert rows["A-labels"] == (
        G3, "door_access", "handled", at, dt.datetime(2024, 1, 5, 9), "false_alarm", "E1", 30 * 60_000
    )  # fmt: skip
    assert rows["A-retired"][:2] == (G1, "bin_sensor")
    assert rows["A-update"][2:] == (
        "handled", dt.datetime(2023, 6, 1, 8), dt.datetime(2023, 6, 1, 8, 10), "confirmed", None, 10 * 60_000
    )  # fmt: skip
    assert rows["A-keep"][2] == "open"
    assert len(rows) == 5


# ------------------------------------------------------------------------- typed values, unit


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the staging macros."""
    connection = duckdb.connect()
    connection.execute(staging.MACROS)
    return connection


@pytest.mark.parametrize(
    ("table", "column", "raw", "expected"),
    [
        ("regions", "level", "街镇", "township"),
        ("regions", "level", "GRID", "grid"),
        ("regions", "kind", "乡", "xiang"),
        ("regions", "code", "500101", "500101"),
        ("regions", "code", "5001 01", None),
        ("regions", "code", "500101.0", "500101"),  # a code a spreadsheet stored as a number
        ("regions", "code", "500101.5", None),
        ("residents", "gender", "男", "M"),
        ("residents", "gender", "f", "F"),
        ("residents", "residence_type", "境外人员", "overseas"),
        ("residents", "tags", "elderly_alone;low_income", ["elderly_alone", "low_income"]),
        ("residents", "tags", "disabled,veteran", ["disabled", "veteran"]),
        ("residents", "tags", "left_behind_child、extreme_poverty", ["extreme_poverty", "left_behind_child"]),
        ("residents", "tags", "veteran，disabled", ["disabled", "veteran"]),
        ("residents", "tags", "低保对象；残疾人", ["disabled", "low_income"]),
        ("residents", "tags", "独居老人, veteran", ["elderly_alone", "veteran"]),
        ("residents", "tags", "veteran;退役军人", ["veteran"]),
        ("residents", "tags", "disabled;", ["disabled"]),
        ("residents", "birth_year", "1985", 1985),
        ("residents", "birth_year", "1985年", 1985),
        ("residents", "birth_year", "1985.0", 1985),
        ("residents", "birth_year", "1990-05-01", 1990),
        ("residents", "birth_year", "1990/5/1", 1990),
        ("residents", "birth_year", "1990年5月1日", 1990),
        ("residents", "birth_year", "1990-05-01 00:00:00", 1990),
        ("residents", "birth_year", "85", None),
        ("housing", "usage", "空置", "vacant"),
        ("housing", "building_type", "安置房", "resettlement"),
        ("housing", "area_m2", "1,234.5", 1234.5),
        ("housing", "area_m2", "80", 80.0),
        ("events", "category", "矛盾纠纷", "dispute"),
        ("events", "source", "12345热线", "hotline"),
        ("events", "status", "已作废", "cancelled"),
        ("events", "resolution_level", "街镇", "township"),
        ("events", "satisfaction", "基本满意", "basically_satisfied"),
        ("events", "reported_at", "2024-01-05 08:30:00", dt.datetime(2024, 1, 5, 8, 30)),
        ("events", "reported_at", "2024-01-05 08:30", dt.datetime(2024, 1, 5, 8, 30)),
        ("events", "reported_at", "2024/1/5 8:30", dt.datetime(2024, 1, 5, 8, 30)),
        ("events", "reported_at", "2024/01/05 08:30:15", dt.datetime(2024, 1, 5, 8, 30, 15)),
        ("events", "reported_at", "2024年1月5日 08:30", dt.datetime(2024, 1, 5, 8, 30)),
        ("events", "reported_at", "2024年1月5日8时30分", dt.datetime(2024, 1, 5, 8, 30)),
        ("events", "reported_at", "2024-01-05T08:30:00", dt.datetime(2024, 1, 5, 8, 30)),
        ("events", "reported_at", "2024-01-05", dt.datetime(2024, 1, 5)),
        ("events", "reported_at", "2024年1月5日", dt.datetime(2024, 1, 5)),
        ("events", "reported_at", "45296.5", dt.datetime(2024, 1, 5, 12)),  # an Excel serial day
        ("events", "reported_at", "2023-02-30", None),
        ("events", "reported_at", "下午三点", None),
        ("collective_economy", "entity_type", "联合社", "joint_cooperative"),
        ("collective_economy", "year", "2023", 2023),
        ("collective_economy", "year", "2023.5", None),
        ("collective_economy", "shareholders", "1,200", 1200),
        ("devices", "device_type", "高空抛物监测", "high_throw_camera"),
        ("devices", "status", "在线", "online"),
        ("alarms", "status", "已处置", "handled"),
        ("alarms", "outcome", "属实", "confirmed"),
        ("alarms", "outcome", "FALSE_ALARM", "false_alarm"),
    ],
)
def test_typed_value(con, table, column, raw, expected):
    contract_column = TABLES_BY_NAME[table].column(column)
    sql = f"select {staging.typed_expression(contract_column, '$raw')}"
    assert con.execute(sql, {"raw": raw}).fetchone()[0] == expected


# ------------------------------------------------------------------------- hashed resident ids


def checked_residents(folder, salt: str) -> list[dict]:
    """checked_residents of a residents.csv in `folder`, with G1 as the only grid."""
    connection = duckdb.connect()
    connection.execute(staging.MACROS)
    connection.execute(f"create temp table stg_regions as select '{G1}' as code, 'grid' as level")
    raw = readers.register(connection, folder / "residents.csv", RESIDENTS)
    result = connection.execute(staging.checked_sql(RESIDENTS, raw.view, TODAY.year), {"salt": salt})
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_resident_id_is_a_salted_hash_of_the_id_number(tmp_path):
    id_number = "11010119500101123X"
    write_table(
        tmp_path,
        "residents",
        [
            resident(resident_id="", id_number=id_number, name="王五", phone="13700000000"),
            resident(resident_id="R2"),
        ],
        header=RESIDENTS_HEADER,
    )
    first, second = checked_residents(tmp_path, "salt-one")
    expected = "h" + hashlib.sha256(("salt-one" + id_number).encode()).hexdigest()[:24]
    assert (first["resident_id"], first["problems"]) == (expected, [])
    assert second["resident_id"] == "R2"
    assert checked_residents(tmp_path, "salt-one")[0]["resident_id"] == expected
    assert checked_residents(tmp_path, "salt-two")[0]["resident_id"] != expected
    # the id number, the name and the phone are gone after staging
    assert {"id_number", "name", "phone"}.isdisjoint(first)
    assert id_number not in repr(first)


def test_two_rows_with_one_id_number_are_one_resident(tmp_path):
    write_table(
        tmp_path / "input",
        "residents",
        [
            resident(resident_id="", id_number="510101199001011111", household_id="H1", grid_code=G1),
            resident(resident_id="", id_number="510101199001011111", household_id="H2", grid_code=G3),
        ],
        header=RESIDENTS_HEADER,
    )
    write_table(tmp_path / "input", "regions", REGIONS)
    db = tmp_path / "yiping.duckdb"
    build_folder(tmp_path / "input", db)
    assert load_audit(db)["residents.csv"] == (2, 1, 0, 1)
    assert query(
        db, "select region_code from population_by_region where level = 'grid' and residents > 0"
    ) == [(G3,)]
