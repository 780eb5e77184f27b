"""Synthetic demo input folder: regions, residents, housing, events, village collective economy and
the IoT devices and alarms of the 渝中区 pilot.

Everything is drawn from numpy Generators seeded from ``seed``. The region tree and the collective
economy and the IoT devices do not depend on ``scale``; the row counts of residents, housing and
events do, and alarms follow its square root. The
figures that the Chongqing sources publish (SPEC section 5) are set exactly, not left to chance.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from openpyxl import Workbook

from pipelines import outlines
from pipelines.contract import (
    ALARMS,
    COLLECTIVE_ECONOMY,
    DEVICES,
    EVENT_CATEGORIES,
    EVENTS,
    FILE_SUFFIXES,
    GRASSROOTS_LEVELS,
    HOUSING,
    KINDS_BY_LEVEL,
    LEVELS,
    REGIONS,
    RESIDENTS,
    SLA_HOURS,
    TABLES_BY_NAME,
    TAGS,
    Table,
)

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
MARKER_FILE = "DEMO.json"
FIRST_EVENT_DAY = date(2022, 1, 1)

Progress = Callable[[str, float], None]


# --------------------------------------------------------------------------- contract helpers


def _enum(table: Table, column: str) -> tuple[str, ...]:
    enum = table.column(column).enum
    assert enum is not None, f"{table.name}.{column} is not an enumeration"
    return tuple(enum)


def _code(table: Table, column: str, code: str) -> str:
    """A code of an enumerated column, checked against the contract."""
    if code not in _enum(table, column):
        raise KeyError(f"{code!r} is not a code of {table.name}.{column}")
    return code


def _order(table: Table, column: str, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The order in which a parameter tuple lists the codes of a column: all of them, checked."""
    if sorted(codes) != sorted(_enum(table, column)):
        raise KeyError(f"{codes} are not the codes of {table.name}.{column}")
    return codes


def _keyed(table: Table, column: str, mapping: dict[str, object]) -> dict[str, object]:
    """A parameter table keyed by every code of an enumerated column, checked against the contract."""
    if set(mapping) != set(_enum(table, column)):
        raise KeyError(f"parameters for {table.name}.{column} do not match the contract's codes")
    return mapping


def _stored_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if not c.personal]


def _record(table: Table, data: dict[str, object]) -> dict[str, object]:
    """Order a table's columns as the contract does; unknown or personal names are an error."""
    allowed = _stored_columns(table)
    unknown = set(data) - set(allowed)
    if unknown:
        raise KeyError(f"{table.name}: not contract columns: {sorted(unknown)}")
    return {name: data[name] for name in allowed if name in data}


LEVEL_DISTRICT, LEVEL_TOWNSHIP, LEVEL_COMMUNITY, LEVEL_GRID = LEVELS
KIND_STREET, KIND_TOWN, KIND_XIANG = KINDS_BY_LEVEL[LEVEL_TOWNSHIP]
KIND_COMMUNITY, KIND_VILLAGE = KINDS_BY_LEVEL[LEVEL_COMMUNITY]
(KIND_GRID,) = KINDS_BY_LEVEL[LEVEL_GRID]
KIND_LABELS: dict[str, str] = REGIONS.column("kind").enum or {}

GENDERS = _order(RESIDENTS, "gender", ("M", "F"))
RESIDENCE_TYPES = _order(RESIDENTS, "residence_type", ("registered", "floating", "overseas"))
I_REGISTERED, I_FLOATING, I_OVERSEAS = range(3)
TAG_CODES = tuple(TAGS)

BUILDING_TYPES = _order(
    HOUSING, "building_type", ("commercial", "self_built", "public_rental", "resettlement", "other")
)
USAGES = _order(HOUSING, "usage", ("owner_occupied", "rented", "vacant", "business"))
I_SELF_BUILT, I_RESETTLEMENT = BUILDING_TYPES.index("self_built"), BUILDING_TYPES.index("resettlement")

CATEGORIES = tuple(EVENT_CATEGORIES)
SOURCES = _order(EVENTS, "source", ("grid_worker", "hotline", "iot", "resident_app", "other"))
STATUSES = _order(EVENTS, "status", ("pending", "in_progress", "resolved", "cancelled"))
I_PENDING, I_IN_PROGRESS, I_RESOLVED, I_CANCELLED = range(4)
RESOLUTION_LEVELS = _order(EVENTS, "resolution_level", ("grid", "community", "township", "district"))
LEVEL_TOP = next(lv for lv in RESOLUTION_LEVELS if lv not in GRASSROOTS_LEVELS)
SATISFACTION = _order(EVENTS, "satisfaction", ("satisfied", "basically_satisfied", "dissatisfied"))
I_SATISFIED, I_BASIC, I_DISSATISFIED = range(3)
CAT_DISPUTE = _code(EVENTS, "category", "dispute")
SRC_IOT = _code(EVENTS, "source", "iot")
SRC_HOTLINE = _code(EVENTS, "source", "hotline")
ENTITY_TYPES = _order(
    COLLECTIVE_ECONOMY, "entity_type", ("strong_village_company", "cooperative", "joint_cooperative", "other")
)
ENTITY_STRONG = _code(COLLECTIVE_ECONOMY, "entity_type", "strong_village_company")

# --------------------------------------------------------------------------- calibration (SPEC section 5)

YUZHONG, JIANGBEI, SHAPINGBA, JIULONGPO, NANAN, YUBEI = (
    "500103",
    "500105",
    "500106",
    "500107",
    "500108",
    "500112",
)
RONGCHANG, DIANJIANG = "500153", "500231"

TOTAL_COMMUNITIES = 3085  # 社区 across Chongqing
TOTAL_VILLAGES = 8043  # 村
YUZHONG_COMMUNITIES = 79
RONGCHANG_UNITS = 156
RONGCHANG_STREET_COMMUNITIES = 24
RONGCHANG_GRIDS = 1660
FIXED_VILLAGES = {YUZHONG: 0, DIANJIANG: 291, JIULONGPO: 44}
RONGCHANG_GRASSROOTS = {2022: 0.6432, 2023: 0.9315}
RONGCHANG_GRASSROOTS_LATER = 0.94  # later years keep the 2023 level
RONGCHANG_SATISFACTION_YEAR = 2023
RONGCHANG_MIN_DISPUTES = 80  # per full year, whatever the scale
DIANJIANG_YEAR = 2023
DIANJIANG_MIN_INCOME = 108_000_000.0
DIANJIANG_SHARE_GE_100K = 0.84
DIANJIANG_SHARE_PROFIT_GE_100K = 0.45
JIULONGPO_MIN_SHAREHOLDERS = 132_000

# Floating population shares of the urban core; elsewhere they follow the density.
FLOATING_SHARE = {YUZHONG: 0.34, JIANGBEI: 0.30, YUBEI: 0.32, JIULONGPO: 0.28, NANAN: 0.27, SHAPINGBA: 0.28}
# Centre year of 社区 housing: the old core, the new districts; the rest by density.
BUILT_CENTRE = {YUZHONG: 1994, YUBEI: 2011}

# --------------------------------------------------------------------------- demographic and event parameters

# Relative size of each birth cohort (Chongqing, 2020 census shape), linearly interpolated.
# fmt: off
_COHORT_KNOTS = (
    (1915, 0.0), (1925, 0.08), (1935, 0.35), (1945, 0.72), (1950, 0.95), (1955, 1.05), (1958, 1.05),
    (1960, 0.72), (1961, 0.62), (1962, 1.30), (1963, 1.70), (1965, 1.78), (1968, 1.78), (1971, 1.66),
    (1975, 1.36), (1977, 1.06), (1980, 1.04), (1984, 1.12), (1986, 1.36), (1988, 1.46), (1990, 1.46),
    (1992, 1.26), (1994, 0.96), (1997, 0.90), (2000, 0.80), (2003, 0.76), (2006, 0.86), (2010, 0.95),
    (2014, 1.00), (2016, 1.05), (2017, 0.95), (2018, 0.80), (2019, 0.72), (2020, 0.62), (2021, 0.52),
    (2022, 0.45), (2023, 0.43), (2024, 0.40), (2100, 0.38),
)
# fmt: on
HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5])
HOUSEHOLD_P = np.array([0.25, 0.31, 0.21, 0.13, 0.10])
PEOPLE_PER_UNIT = 2.6
EVENTS_PER_RESIDENT_YEAR = 0.05
EVENT_YEAR_FACTOR = {2022: 0.9, 2023: 1.0}  # later years 1.08: the platform grows

CATEGORY_MIX = _keyed(
    EVENTS,
    "category",
    {
        "dispute": 0.17,
        "sanitation": 0.20,
        "infrastructure": 0.15,
        "safety_hazard": 0.12,
        "livelihood": 0.15,
        "public_order": 0.07,
        "traffic": 0.06,
        "illegal_construction": 0.04,
        "other": 0.03,
    },
)
# Extra weight in rural districts (urbanity 0): more disputes and illegal building, less traffic.
CATEGORY_RURAL = _keyed(
    EVENTS,
    "category",
    {
        "dispute": 1.15,
        "sanitation": 1.0,
        "infrastructure": 0.9,
        "safety_hazard": 1.0,
        "livelihood": 1.05,
        "public_order": 0.8,
        "traffic": 0.6,
        "illegal_construction": 1.5,
        "other": 1.0,
    },
)
_FLAT = (1.0,) * 12
CATEGORY_MONTHS = _keyed(
    EVENTS,
    "category",
    {
        "dispute": (1.15, 1.1, 1.0, 0.95, 0.95, 1.0, 1.05, 1.05, 0.95, 0.95, 0.95, 1.05),
        "sanitation": (0.8, 0.8, 0.9, 1.0, 1.1, 1.3, 1.4, 1.4, 1.1, 0.95, 0.85, 0.8),
        "infrastructure": (0.9, 0.9, 0.95, 1.0, 1.15, 1.2, 1.2, 1.15, 1.05, 0.95, 0.9, 0.9),
        "safety_hazard": (1.05, 1.0, 0.95, 0.95, 1.1, 1.3, 1.35, 1.35, 1.1, 0.95, 0.95, 1.05),
        "livelihood": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 1.0, 1.1, 1.0, 1.0, 1.0),
        "public_order": (0.95, 1.0, 0.95, 0.95, 1.0, 1.1, 1.2, 1.2, 1.0, 1.0, 0.9, 0.9),
        "traffic": (1.15, 1.05, 0.95, 0.95, 0.95, 0.95, 1.0, 1.0, 1.0, 1.0, 1.05, 1.15),
        "illegal_construction": (0.8, 0.85, 1.2, 1.25, 1.2, 0.9, 0.85, 0.85, 1.15, 1.2, 1.15, 0.85),
        "other": _FLAT,
    },
)
WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 0.96, 0.68, 0.6])
# Share of reports by hour of day: working hours, a lunch dip, quiet nights.
# fmt: off
HOUR_WEIGHTS = np.array([
    0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.9, 2.0, 4.5, 6.5, 7.0, 6.5,
    4.0, 3.5, 5.5, 6.5, 6.5, 5.5, 3.5, 2.5, 2.0, 1.6, 1.0, 0.6,
])
# fmt: on
SPRING_FESTIVAL = {
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
}
# Source mix per category, in the order of SOURCES.
_SOURCE_DEFAULT = (0.46, 0.25, 0.05, 0.19, 0.05)
SOURCE_MIX = _keyed(
    EVENTS,
    "category",
    {
        "dispute": (0.50, 0.28, 0.0, 0.18, 0.04),
        "sanitation": (0.48, 0.20, 0.10, 0.18, 0.04),
        "infrastructure": (0.40, 0.28, 0.10, 0.18, 0.04),
        "safety_hazard": (0.45, 0.15, 0.22, 0.14, 0.04),
        "livelihood": (0.38, 0.34, 0.0, 0.24, 0.04),
        "public_order": (0.45, 0.30, 0.08, 0.13, 0.04),
        "traffic": (0.35, 0.25, 0.22, 0.14, 0.04),
        "illegal_construction": (0.62, 0.18, 0.05, 0.11, 0.04),
        "other": _SOURCE_DEFAULT,
    },
)
# Spread of the lognormal handling time; the median follows from the SLA and the overdue share.
HANDLING_SIGMA = _keyed(
    EVENTS,
    "category",
    {
        "dispute": 0.95,
        "sanitation": 0.85,
        "infrastructure": 0.9,
        "safety_hazard": 0.85,
        "livelihood": 0.9,
        "public_order": 0.9,
        "traffic": 0.85,
        "illegal_construction": 0.5,
        "other": 0.9,
    },
)
# Resolution level mix of resolved events, in the order of RESOLUTION_LEVELS.
LEVEL_MIX = _keyed(
    EVENTS,
    "category",
    {
        "dispute": (0.46, 0.32, 0.14, 0.08),
        "sanitation": (0.62, 0.24, 0.10, 0.04),
        "infrastructure": (0.34, 0.30, 0.25, 0.11),
        "safety_hazard": (0.50, 0.27, 0.16, 0.07),
        "livelihood": (0.42, 0.38, 0.15, 0.05),
        "public_order": (0.48, 0.28, 0.16, 0.08),
        "traffic": (0.40, 0.25, 0.22, 0.13),
        "illegal_construction": (0.18, 0.30, 0.36, 0.16),
        "other": (0.55, 0.30, 0.11, 0.04),
    },
)
GRASSROOTS_MIX = np.array([0.5, 0.33, 0.17])  # grid, community, township when calibrating

DESCRIPTIONS = _keyed(
    EVENTS,
    "category",
    {
        "dispute": (
            "邻里因楼上漏水引发纠纷",
            "相邻宅基地边界存在争议",
            "家庭赡养问题引发矛盾",
            "物业费收缴引发业主与物业纠纷",
            "装修噪音扰民引发邻里矛盾",
            "农民工工资拖欠纠纷",
            "土地承包经营权流转纠纷",
            "停车位占用引发争执",
            "婚姻家庭矛盾需调解",
            "租赁合同押金退还纠纷",
        ),
        "sanitation": (
            "楼道堆放杂物，存在消防隐患",
            "垃圾桶满溢未及时清运",
            "路边有建筑垃圾乱倒",
            "小区化粪池堵塞外溢",
            "河沟漂浮垃圾需清理",
            "餐饮店油烟扰民",
            "公厕卫生较差",
            "绿化带内有积存垃圾",
            "流浪犬聚集影响环境卫生",
        ),
        "infrastructure": (
            "路灯损坏不亮",
            "井盖破损存在安全隐患",
            "人行道地砖松动",
            "雨水管网堵塞积水",
            "小区供水管道破裂",
            "公共座椅损坏",
            "道路出现坑洼",
            "健身器材损坏需维修",
            "桥梁护栏锈蚀",
        ),
        "safety_hazard": (
            "楼道内电动车充电存在火灾隐患",
            "老旧房屋墙体开裂",
            "边坡有落石风险",
            "燃气管道老化有异味",
            "广告牌松动有坠落风险",
            "私拉乱接电线",
            "危岩滑坡隐患点需巡查",
            "消防通道被占用",
            "河道水位上涨需预警",
        ),
        "livelihood": (
            "独居老人需上门探访",
            "咨询养老保险办理流程",
            "申请临时救助",
            "残疾人证办理咨询",
            "就业帮扶需求登记",
            "低保资格复核申请",
            "适龄儿童入学咨询",
            "高龄津贴领取咨询",
            "医保参保缴费咨询",
        ),
        "public_order": (
            "夜间烧烤摊喧哗扰民",
            "疑似电信诈骗线索",
            "小区出现可疑人员",
            "酒后滋事需处置",
            "广场舞音响声音过大",
            "非法张贴小广告",
            "流动摊贩占道经营",
        ),
        "traffic": (
            "路口信号灯故障",
            "车辆乱停乱放堵塞通道",
            "公交站台损坏",
            "学校门口交通拥堵",
            "道路标线模糊",
            "共享单车乱停放",
        ),
        "illegal_construction": (
            "屋顶违规搭建彩钢棚",
            "占用公共绿地违规建房",
            "农房未批先建",
            "阳台违规外扩",
            "擅自改变房屋结构",
        ),
        "other": ("群众意见建议", "政策咨询", "其他需协调事项", "设施使用咨询"),
    },
)
DESCRIPTION_PLACES = (
    "",
    "",
    "",
    "",
    "",
    "1栋",
    "2栋",
    "3栋2单元",
    "5栋",
    "小区门口",
    "菜市场旁",
    "学校附近",
    "村委会旁",
    "老街",
    "滨江路",
    "院坝内",
    "公交站旁",
)
# Very rare texts that a page or an export must escape or neutralise.
TRICKY_DESCRIPTIONS = (
    "<b>井盖缺失</b>，请尽快处理",
    "=1+1 楼道灯不亮",
    "<script>alert(1)</script>占道经营",
    "+86 热线转办：夜间施工噪音",
    "@SUM(A1) 垃圾未清运",
    "-2 号楼化粪池外溢 & 异味",
)
TRICKY_EVERY = 5000

# Common place-name characters for community and village names.
_NAME_FIRST = (
    "龙凤石桥河湾坪坝林竹桂花新红青白黄金马鹤鹿狮松柏梨桃杨柳高大小双三五七九太平安和兴福寿永长胜利民乐丰"
    "顺清泉田塘堰溪岩峰云月星阳春东南西北中上下前后天文宝玉团光明荷茶桑古观楼城关垭岗湖滩院望胡张李王陈刘"
)
_NAME_SECOND = "湾坪坝沟桥山林河岩垭塘堡庙田园台门口坡岭溪寨场井院峰冲嘴阳丰兴安和华光明新村坊苑"
_NAME_CLASSIC = (
    "黄桷",
    "双河",
    "新华",
    "红星",
    "向阳",
    "胜利",
    "民主",
    "团结",
    "和平",
    "解放",
    "建设",
    "幸福",
    "光明",
    "友谊",
    "东风",
    "前进",
    "复兴",
    "永丰",
    "长寿",
    "万寿",
    "同心",
    "石门",
    "龙井",
    "白沙",
    "青龙",
    "金竹",
    "三合",
    "四合",
    "五一",
    "七一",
    "八一",
    "朝阳",
    "太和",
    "清平",
    "大石",
    "回龙",
    "龙凤",
    "双凤",
    "玉峰",
)


# --------------------------------------------------------------------------- reference data


@dataclass(frozen=True)
class District:
    index: int
    code: str
    name: str
    kind: str
    lon: float
    lat: float
    population: int
    area_km2: float

    @property
    def urbanity(self) -> float:
        """0 for a rural county, 1 for the dense urban core, from population density."""
        density = self.population / max(self.area_km2, 1.0)
        return float(np.clip((math.log10(density) - 2.2) / 1.4, 0.0, 1.0))


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(REFERENCE_DIR / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_reference() -> tuple[list[District], list[dict[str, str]]]:
    """The 38 districts and the 1031 township units, from data/reference."""
    districts = [
        District(
            index=i,
            code=r["code"],
            name=r["name_zh"],
            kind=r["kind"],
            lon=float(r["lon"]),
            lat=float(r["lat"]),
            population=int(r["population_2020"]),
            area_km2=float(r["area_km2"]),
        )
        for i, r in enumerate(_read_csv("chongqing_districts.csv"))
    ]
    townships = _read_csv("chongqing_townships.csv")
    for d in districts:
        if d.kind not in KINDS_BY_LEVEL[LEVEL_DISTRICT]:
            raise ValueError(f"district {d.code}: unknown kind {d.kind!r}")
    for t in townships:
        if t["kind"] not in KINDS_BY_LEVEL[LEVEL_TOWNSHIP]:
            raise ValueError(f"township {t['code']}: unknown kind {t['kind']!r}")
    return districts, townships


# --------------------------------------------------------------------------- the region tree


@dataclass
class Grids:
    """The grids of one district, in code order."""

    codes: np.ndarray  # str
    village: np.ndarray  # bool: the grid belongs to a 村
    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray  # expected share of the district's residents (sums to 1)


@dataclass
class Structure:
    districts: list[District]
    rows: list[tuple]  # regions.csv rows in the contract's column order
    grids: dict[str, Grids]  # district code -> its grids
    villages: list[tuple[str, str]]  # (village code, district code)


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def _allocate(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Integers >= minimum summing to total, proportional to weights (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    rest = total - minimum * len(w)
    if rest < 0:
        raise ValueError(f"cannot allocate {total} over {len(w)} with minimum {minimum}")
    share = w / w.sum() * rest if w.sum() > 0 else np.full(len(w), rest / len(w))
    out = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - out), kind="stable")
    out[order[: rest - int(out.sum())]] += 1
    return out + minimum


def _offset(lon: float, lat: float, r_km: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlat = r_km * np.sin(angle) / 111.0
    dlon = r_km * np.cos(angle) / (111.0 * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def _name_pool() -> list[str]:
    pool = list(_NAME_CLASSIC)
    seen = set(pool)
    for a in _NAME_FIRST:
        for b in _NAME_SECOND:
            name = a + b
            if a != b and name not in seen:
                seen.add(name)
                pool.append(name)
    return pool


def build_structure(seed: int) -> Structure:
    """The region tree: real districts and township units, synthetic communities and grids."""
    districts, townships = read_reference()
    rng = _rng(seed, 1)
    by_code = {d.code: d for d in districts}
    tw_district = np.array([t["district_code"] for t in townships])
    tw_kind = np.array([t["kind"] for t in townships])
    n_tw = len(townships)
    u = np.array([by_code[c].urbanity for c in tw_district])
    street, town, xiang = tw_kind == KIND_STREET, tw_kind == KIND_TOWN, tw_kind == KIND_XIANG

    # 社区 per township: towns 1-3, streets by allocation, xiang none.
    comm = np.zeros(n_tw, dtype=np.int64)
    comm[town] = rng.integers(1, 4, int(town.sum()))
    noise = rng.gamma(4.0, 0.25, n_tw)
    yz = street & (tw_district == YUZHONG)
    rc = street & (tw_district == RONGCHANG)
    pool = street & ~yz & ~rc
    comm[yz] = _allocate(YUZHONG_COMMUNITIES, noise[yz], minimum=4)
    comm[rc] = _allocate(RONGCHANG_STREET_COMMUNITIES, noise[rc], minimum=2)
    rest = TOTAL_COMMUNITIES - YUZHONG_COMMUNITIES - RONGCHANG_STREET_COMMUNITIES - int(comm[town].sum())
    comm[pool] = _allocate(rest, noise[pool] * (0.6 + 0.8 * u[pool]), minimum=2)

    # 村 per township: towns and xiang, and streets outside the urban core.
    n_per_district = {c: int((tw_district == c).sum()) for c in by_code}
    size = np.array([math.sqrt(by_code[c].area_km2 / n_per_district[c]) for c in tw_district])
    vnoise = rng.gamma(4.0, 0.25, n_tw)
    vweight = (
        vnoise * (0.5 + size / 6.0) * np.select([town, xiang, street & (u < 0.9)], [1.0, 0.75, 0.25], 0.0)
    )
    vmin = np.where(town | xiang, 3, 0)
    fixed = dict(FIXED_VILLAGES)
    fixed[RONGCHANG] = RONGCHANG_UNITS - int(comm[tw_district == RONGCHANG].sum())
    vill = np.zeros(n_tw, dtype=np.int64)
    in_fixed = np.isin(tw_district, list(fixed))
    for code, total in fixed.items():
        m = tw_district == code
        minimum = vmin[m]
        vill[m] = _allocate(total - int(minimum.sum()), vweight[m]) + minimum
    m = ~in_fixed
    vill[m] = _allocate(TOTAL_VILLAGES - sum(fixed.values()) - int(vmin[m].sum()), vweight[m]) + vmin[m]

    names = _name_pool()
    rows: list[tuple] = []
    for d in districts:
        rows.append((d.code, d.name, LEVEL_DISTRICT, "", d.kind, round(d.lon, 6), round(d.lat, 6)))

    # Township seats around the district seat: streets near it, towns and xiang farther out.
    tw_lon = np.zeros(n_tw)
    tw_lat = np.zeros(n_tw)
    radius = np.array([math.sqrt(by_code[c].area_km2 / math.pi) for c in tw_district])
    frac = np.select(
        [street, town],
        [rng.uniform(0.0, 0.35, n_tw), rng.uniform(0.3, 0.95, n_tw)],
        rng.uniform(0.6, 1.0, n_tw),
    )
    angle = rng.uniform(0, 2 * math.pi, n_tw)
    for i, t in enumerate(townships):
        d = by_code[t["district_code"]]
        lo, la = _offset(d.lon, d.lat, np.array([frac[i] * radius[i]]), np.array([angle[i]]))
        tw_lon[i], tw_lat[i] = lo[0], la[0]
        rows.append(
            (t["code"], t["name_zh"], LEVEL_TOWNSHIP, d.code, t["kind"], round(lo[0], 6), round(la[0], 6))
        )

    # Communities: 社区 numbered 001-199, 村 200-399.
    c_code: list[str] = []
    c_name: list[str] = []
    c_village: list[bool] = []
    c_district: list[str] = []
    c_lon: list[float] = []
    c_lat: list[float] = []
    for i, t in enumerate(townships):
        n_c, n_v = int(comm[i]), int(vill[i])
        picks = rng.choice(len(names), n_c + n_v, replace=False)
        reach = size[i] / math.sqrt(math.pi) * (0.5 if street[i] else 0.85)
        r = reach * np.sqrt(rng.uniform(0, 1, n_c + n_v))
        lo, la = _offset(tw_lon[i], tw_lat[i], r, rng.uniform(0, 2 * math.pi, n_c + n_v))
        for k in range(n_c + n_v):
            is_v = k >= n_c
            seq = 200 + k - n_c if is_v else 1 + k
            c_code.append(f"{t['code']}{seq:03d}")
            c_name.append(names[picks[k]] + KIND_LABELS[KIND_VILLAGE if is_v else KIND_COMMUNITY])
            c_village.append(is_v)
            c_district.append(t["district_code"])
            c_lon.append(float(lo[k]))
            c_lat.append(float(la[k]))
    n_comm = len(c_code)
    cv = np.array(c_village)
    cd = np.array(c_district)
    cu = np.array([by_code[c].urbanity for c in cd])
    for k in range(n_comm):
        kind = KIND_VILLAGE if cv[k] else KIND_COMMUNITY
        rows.append(
            (
                c_code[k],
                c_name[k],
                LEVEL_COMMUNITY,
                c_code[k][:9],
                kind,
                round(c_lon[k], 6),
                round(c_lat[k], 6),
            )
        )

    # Grids per community: 6-14, more in urban 社区; Rongchang exactly as published.
    n_grid = np.where(
        cv, rng.integers(6, 11, n_comm), np.clip(np.round(7 + 5 * cu + rng.integers(-1, 3, n_comm)), 6, 14)
    ).astype(np.int64)
    m = cd == RONGCHANG
    n_grid[m] = _allocate(RONGCHANG_GRIDS, n_grid[m].astype(float), minimum=6)
    density = np.where(cv, 1.0, 2.2 + 1.5 * cu)  # residents per grid, relative

    g_code, g_village, g_district, g_lon, g_lat, g_weight = [], [], [], [], [], []
    total_grids = int(n_grid.sum())
    r = 0.08 + 0.3 * rng.uniform(0, 1, total_grids)
    ang = rng.uniform(0, 2 * math.pi, total_grids)
    gw = rng.gamma(3.0, 1 / 3.0, total_grids)
    pos = 0
    for k in range(n_comm):
        n = int(n_grid[k])
        lo, la = _offset(c_lon[k], c_lat[k], r[pos : pos + n], ang[pos : pos + n])
        for j in range(n):
            code = f"{c_code[k]}{j + 1:03d}"
            rows.append(
                (
                    code,
                    f"{c_name[k]}第{j + 1}{KIND_LABELS[KIND_GRID]}",
                    LEVEL_GRID,
                    c_code[k],
                    KIND_GRID,
                    round(float(lo[j]), 6),
                    round(float(la[j]), 6),
                )
            )
            g_code.append(code)
        g_village.extend([bool(cv[k])] * n)
        g_district.extend([c_district[k]] * n)
        g_lon.extend(lo.tolist())
        g_lat.extend(la.tolist())
        g_weight.extend((gw[pos : pos + n] * density[k]).tolist())
        pos += n
    rows, moved = place_inside_outlines(rows, seed)
    g_lon = [moved[c][0] for c in g_code]
    g_lat = [moved[c][1] for c in g_code]
    gd = np.array(g_district)
    grids: dict[str, Grids] = {}
    arrays = (np.array(g_code), np.array(g_village), np.array(g_lon), np.array(g_lat), np.array(g_weight))
    for d in districts:
        m = gd == d.code
        w = arrays[4][m]
        grids[d.code] = Grids(arrays[0][m], arrays[1][m], arrays[2][m], arrays[3][m], w / w.sum())
    villages = [(c_code[k], c_district[k]) for k in range(n_comm) if cv[k]]
    return Structure(districts, rows, grids, villages)


def _points_inside(shape, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` random points of `shape` (WGS84 lon, lat), drawn uniformly over it."""
    lon_min, lat_min, lon_max, lat_max = shape.bounds
    found = np.empty((0, 2))
    for _ in range(50):
        if len(found) >= n:
            break
        batch = max(64, 4 * (n - len(found)))
        xy = np.column_stack([rng.uniform(lon_min, lon_max, batch), rng.uniform(lat_min, lat_max, batch)])
        found = np.vstack([found, xy[shapely.contains_xy(shape, xy[:, 0], xy[:, 1])]])
    while len(found) < n:  # a sliver the draws keep missing: its own inside point
        point = shapely.point_on_surface(shape)
        found = np.vstack([found, [[point.x, point.y]]])
    return found[:n]


# Steps of Lloyd's relaxation by the code length of the places spread: townships over their district
# (a few dozen sets, cheap), communities over their township (a thousand, one step).
LLOYD_STEPS = {9: 6, 12: 1}


def place_inside_outlines(rows: list[tuple], seed: int) -> tuple[list[tuple], dict[str, tuple[float, float]]]:
    """The region rows with every township, community and grid moved inside its district's real outline.

    From the top down, each place keeps the position drawn for it when that lies inside the outline
    its parent gets (the district's shipped one, below it the one `build` derives the same way), and
    is otherwise put at a random point of it; so every grid lies inside its community's, township's
    and district's outline. Townships and communities are then spread out a little (Lloyd's
    relaxation), as real ones are. A Generator of its own keeps every other figure of the demo as it was.
    """
    rng = _rng(seed, 11)
    reference = outlines.shipped()
    at = {r[0]: (float(r[5]), float(r[6])) for r in rows}
    children: dict[str, list[str]] = {}
    for r in rows:
        if r[3]:
            children.setdefault(r[3], []).append(r[0])
    shape = {code: reference[code] for code in children if code in reference}
    parents = list(shape)
    while parents:
        below: list[str] = []
        for parent in parents:
            codes = children.get(parent, [])
            shapely.prepare(shape[parent])
            drawn = np.array([at[c] for c in codes]).reshape(-1, 2)
            outside = np.flatnonzero(~shapely.contains_xy(shape[parent], drawn[:, 0], drawn[:, 1]))
            for k, (lon, lat) in zip(outside, _points_inside(shape[parent], len(outside), rng), strict=True):
                at[codes[k]] = (round(float(lon), 6), round(float(lat), 6))
            if codes and len(codes[0]) < 15:
                cells = outlines.derive_children(shape[parent], {c: at[c] for c in codes})
                for _ in range(LLOYD_STEPS[len(codes[0])]):
                    # each seat moves to the middle of its cell: places of comparable size
                    middles = shapely.centroid(np.array(list(cells.values())))
                    for code, cell, middle in zip(cells, cells.values(), middles, strict=True):
                        if cell.contains(middle):
                            at[code] = (round(middle.x, 6), round(middle.y, 6))
                    cells = outlines.derive_children(shape[parent], {c: at[c] for c in codes})
                shape.update(zip(cells, outlines.rounded(np.array(list(cells.values()))), strict=True))
                below.extend(c for c in codes if c in shape)
        parents = below
    return [(*r[:5], *at[r[0]]) if r[3] else r for r in rows], at


# --------------------------------------------------------------------------- residents and housing


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers: a prefix and a zero-padded number."""
    text = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(text, width, "0"), "")


def _birth_year_p(end: date, elderly_share: float) -> tuple[np.ndarray, np.ndarray]:
    years = np.arange(1915, end.year + 1)
    xs, ys = zip(*_COHORT_KNOTS, strict=True)
    w = np.interp(years, xs, ys)
    w[-1] *= end.timetuple().tm_yday / 366
    old = end.year - years >= 60
    s0 = w[old].sum() / w.sum()
    w[old] *= elderly_share * (1 - s0) / (s0 * (1 - elderly_share))
    return years, w / w.sum()


def _floating_share(d: District) -> float:
    return FLOATING_SHARE.get(d.code, 0.05 + 0.12 * d.urbanity)


def _tag_strings() -> pa.Array:
    out = []
    for mask in range(1 << len(TAG_CODES)):
        tags = [t for i, t in enumerate(TAG_CODES) if mask >> i & 1]
        out.append(";".join(tags) if tags else None)
    return pa.array(out, pa.string())


_TAG_STRINGS = _tag_strings()


def _residents(d: District, g: Grids, n: int, seq0: int, hh0: int, end: date, rng: np.random.Generator):
    """One district's residents and its number of households."""
    # Households of 1-5 people, each placed in a grid as a whole.
    sizes = rng.choice(HOUSEHOLD_SIZES, n // 2 + 16, p=HOUSEHOLD_P)
    n_households = int(np.searchsorted(np.cumsum(sizes), n)) + 1 if n else 0
    sizes = sizes[:n_households]
    if n:
        sizes[-1] -= int(sizes.sum()) - n
    hh_grid = np.sort(rng.choice(len(g.codes), n_households, p=g.weight))
    gi = np.repeat(hh_grid, sizes)
    hh = np.repeat(np.arange(n_households), sizes)
    hh_size = np.repeat(sizes, sizes)
    village = g.village[gi]
    u = d.urbanity

    birth = np.empty(n, dtype=np.int32)
    for is_v, share in ((False, 0.26 - 0.08 * u), (True, 0.30 - 0.06 * u)):
        m = village == is_v
        years, p = _birth_year_p(end, share)
        birth[m] = rng.choice(years, int(m.sum()), p=p)
    # Nobody under 18 lives alone: swap ages with adults of larger households.
    alone_minor = np.flatnonzero((hh_size == 1) & (end.year - birth < 18))
    adults = np.flatnonzero((hh_size > 1) & (end.year - birth >= 18))
    if len(alone_minor) and len(adults) >= len(alone_minor):
        swap = rng.choice(adults, len(alone_minor), replace=False)
        birth[alone_minor], birth[swap] = birth[swap], birth[alone_minor].copy()
    age = end.year - birth

    female = rng.random(n) < np.where(age >= 60, 0.53, 0.49)
    gender = pc.take(pa.array(GENDERS, pa.string()), pa.array(female.astype(np.int8)))

    # Residence type: floating people are mostly of working age.
    age_factor = np.select([age < 15, age < 18, age < 45, age < 60], [0.6, 0.8, 1.7, 0.9], 0.3)
    p_float = np.clip(_floating_share(d) * age_factor / (age_factor.mean() if n else 1.0), 0, 0.95)
    p_overseas = 0.0008 if d.code in FLOATING_SHARE else 0.0002
    draw = rng.random(n)
    rtype = np.where(
        draw < p_overseas, I_OVERSEAS, np.where(draw < p_overseas + p_float, I_FLOATING, I_REGISTERED)
    ).astype(np.int8)
    residence = pc.take(pa.array(RESIDENCE_TYPES), pa.array(rtype))
    local = rtype == I_REGISTERED

    adult, child = age >= 18, age < 16
    p = {
        "elderly_alone": np.where((age >= 65) & (hh_size == 1), 0.9, 0.0),
        "low_income": (0.012 + 0.02 * (1 - u)) * np.where(village, 1.3, 1.0) * np.where(local, 1.0, 0.2),
        "disabled": np.select([age < 18, age < 60], [0.012, 0.04], 0.105),
        "veteran": np.where(adult, np.where(female, 0.003, 0.033), 0.0) * np.where(local, 1.0, 0.3),
        "left_behind_child": np.where(child & village & local, 0.2 * (1 - u), 0.0),
        "extreme_poverty": 0.0015 * np.where(age >= 60, 3.0, 1.0) * np.where(village, 1.6, 1.0) * local,
    }
    mask = np.zeros(n, dtype=np.int64)
    for bit, tag in enumerate(TAG_CODES):
        mask |= (rng.random(n) < p[tag]).astype(np.int64) << bit
    tags = pc.take(_TAG_STRINGS, pa.array(mask))

    table = pa.table(
        _record(
            RESIDENTS,
            {
                "resident_id": _ids(f"R{d.code}", seq0 + np.arange(n), 9),
                "grid_code": pc.take(pa.array(g.codes, pa.string()), pa.array(gi)),
                "household_id": _ids(f"H{d.code}", hh0 + hh, 8),
                "gender": gender,
                "birth_year": pa.array(birth, pa.int32()),
                "residence_type": residence,
                "tags": tags,
            },
        )
    )
    return table, n_households


def _housing(d: District, g: Grids, n_res: int, seq0: int, end: date, rng: np.random.Generator) -> pa.Table:
    n = round(n_res / PEOPLE_PER_UNIT)
    counts = rng.multinomial(n, g.weight)
    gi = np.repeat(np.arange(len(g.codes)), counts)
    village = g.village[gi]
    u = d.urbanity
    # In the order of BUILDING_TYPES and USAGES.
    p_comm = np.array([0.45 + 0.3 * u, 0.25 - 0.2 * u, 0.04 + 0.03 * u, 0.12, 0.14 - 0.13 * u])
    p_vill = np.array([0.05, 0.78, 0.01, 0.08, 0.08])
    u_comm = np.array([0.0, 0.14 + 0.16 * u, 0.12 - 0.05 * u, 0.05 + 0.03 * u])
    u_vill = np.array([0.0, 0.04, 0.15 + 0.05 * (1 - u), 0.04])
    u_comm[0], u_vill[0] = 1 - u_comm.sum(), 1 - u_vill.sum()
    btype = np.empty(n, dtype=np.int8)
    usage = np.empty(n, dtype=np.int8)
    for is_v, pb, pu in ((False, p_comm, u_comm), (True, p_vill, u_vill)):
        m = village == is_v
        btype[m] = rng.choice(len(BUILDING_TYPES), int(m.sum()), p=pb / pb.sum())
        usage[m] = rng.choice(len(USAGES), int(m.sum()), p=pu)
    # Floor area by building type (median m2, spread).
    median = np.array([92.0, 150.0, 52.0, 86.0, 120.0])[btype]
    area = np.clip(np.round(median * np.exp(0.3 * rng.standard_normal(n)), 1), 12.0, 5000.0)
    centre = BUILT_CENTRE.get(d.code, 2003.0 if u >= 0.9 else 2008.0)
    built = np.where(
        btype == I_SELF_BUILT,
        1998 + 12 * rng.standard_normal(n),
        np.where(
            btype == I_RESETTLEMENT, 2014 + 4 * rng.standard_normal(n), centre + 9 * rng.standard_normal(n)
        ),
    )
    built = np.clip(np.round(built), 1950, end.year).astype(np.int32)
    built_missing = rng.random(n) < 0.03
    return pa.table(
        _record(
            HOUSING,
            {
                "house_id": _ids(f"F{d.code}", seq0 + np.arange(n), 9),
                "grid_code": pc.take(pa.array(g.codes, pa.string()), pa.array(gi)),
                "building_type": pc.take(pa.array(BUILDING_TYPES), pa.array(btype)),
                "usage": pc.take(pa.array(USAGES), pa.array(usage)),
                "area_m2": pa.array(area, pa.float64()),
                "built_year": pa.array(built, pa.int32(), mask=built_missing),
            },
        )
    )


# --------------------------------------------------------------------------- events


def _day_weights(days: np.ndarray, category: str) -> np.ndarray:
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days.astype(np.int64) + 3) % 7
    w = np.asarray(CATEGORY_MONTHS[category])[month] * WEEKDAY_FACTOR[weekday]
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    for y in np.unique(years):
        sf = np.datetime64(SPRING_FESTIVAL.get(int(y), f"{int(y)}-02-01"), "D")
        delta = (days - sf).astype(np.int64)
        w = np.where(
            (delta >= -3) & (delta <= 7), w * 0.45, np.where((delta >= -7) & (delta < -3), w * 0.8, w)
        )
    return w / w.sum()


def _year_spans(end: date) -> list[tuple[int, np.datetime64, np.datetime64]]:
    spans = []
    for y in range(FIRST_EVENT_DAY.year, end.year + 1):
        first = np.datetime64(f"{y}-01-01", "D")
        last = min(np.datetime64(f"{y}-12-31", "D"), np.datetime64(end.isoformat(), "D"))
        spans.append((y, first, last))
    return spans


def _events(d: District, g: Grids, n_res: int, seq_base: int, end: date, rng: np.random.Generator):
    """One district's events, in order of report time."""
    u = d.urbanity
    mix = np.array([CATEGORY_MIX[c] * (1 + (CATEGORY_RURAL[c] - 1) * (1 - u)) for c in CATEGORY_MIX])
    cat_order = list(CATEGORY_MIX)
    dispute_i = cat_order.index(CAT_DISPUTE)
    reported_parts: list[np.ndarray] = []
    cat_parts: list[np.ndarray] = []
    for y, first, last in _year_spans(end):
        days = np.arange(first, last + 1)
        n_days = len(days)
        n = round(n_res * EVENTS_PER_RESIDENT_YEAR * EVENT_YEAR_FACTOR.get(y, 1.08) * n_days / 365)
        per_cat = rng.multinomial(n, mix / mix.sum())
        if d.code == RONGCHANG:
            per_cat[dispute_i] = max(per_cat[dispute_i], math.ceil(RONGCHANG_MIN_DISPUTES * n_days / 365))
        for ci, k in enumerate(per_cat):
            if k == 0:
                continue
            day = rng.choice(days, int(k), p=_day_weights(days, cat_order[ci]))
            reported_parts.append(day.astype("datetime64[s]").astype(np.int64))
            cat_parts.append(np.full(int(k), ci, dtype=np.int8))
    if not reported_parts:
        return None
    day_s = np.concatenate(reported_parts)
    cat = np.concatenate(cat_parts)
    n = len(cat)

    src = np.empty(n, dtype=np.int8)
    for ci, c in enumerate(cat_order):
        m = cat == ci
        if m.any():
            p = np.asarray(SOURCE_MIX[c])
            src[m] = rng.choice(len(SOURCES), int(m.sum()), p=p / p.sum())
    iot = src == SOURCES.index(SRC_IOT)
    hour = np.where(iot, rng.integers(0, 24, n), rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()))
    reported = day_s + hour * 3600 + rng.integers(0, 3600, n)
    order = np.argsort(reported, kind="stable")
    reported, cat, src, iot = reported[order], cat[order], src[order], iot[order]
    year = reported.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    now = int(np.datetime64(end.isoformat(), "D").astype("datetime64[s]").astype(np.int64)) + 86400

    # Handling time: lognormal; the median is set so that a district's share of late events is p_late.
    p_late = 0.03 if d.code == RONGCHANG else rng.uniform(0.03, 0.075)
    z = np.array([NormalDist().inv_cdf(1 - p_late * f) for f in (1.25, 1.0, 0.85)])
    zy = np.where(year == 2022, z[0], np.where(year == 2023, z[1], z[2]))
    sla = np.array([SLA_HOURS[c] for c in cat_order], dtype=float)[cat]
    sigma = np.array([HANDLING_SIGMA[c] for c in cat_order])[cat]
    hours = np.maximum(sla * np.exp(sigma * (rng.standard_normal(n) - zy)), 0.1)
    resolved_at = reported + np.round(hours * 3600).astype(np.int64)
    delay = np.minimum(
        np.exp(np.log(0.3) + rng.standard_normal(n)) + np.where(src == SOURCES.index(SRC_HOTLINE), 0.5, 0.0),
        hours * 0.5,
    )
    accepted_at = reported + np.round(delay * 3600).astype(np.int64)

    age_days = (now - reported) / 86400
    # Each district has its own backlog of events that stall, so the league table has a spread.
    backlog = 0.0008 if d.code == RONGCHANG else rng.uniform(0.0005, 0.02)
    stuck = rng.random(n) < np.where(age_days > 90, backlog, max(0.01, backlog * 2))
    cancelled = rng.random(n) < 0.012
    status = np.full(n, I_RESOLVED, dtype=np.int8)
    status[(resolved_at >= now) | stuck] = I_IN_PROGRESS
    # Of the events still open, the most recent ones wait to be accepted.
    waiting = (status == I_IN_PROGRESS) & ~stuck & (rng.random(n) < np.where(age_days < 2, 0.4, 0.05))
    status[((status == I_IN_PROGRESS) & (accepted_at >= now)) | waiting] = I_PENDING
    status[cancelled] = I_CANCELLED
    resolved = status == I_RESOLVED

    level = np.full(n, -1, dtype=np.int8)
    for ci, c in enumerate(cat_order):
        m = resolved & (cat == ci)
        if m.any():
            level[m] = rng.choice(len(RESOLUTION_LEVELS), int(m.sum()), p=np.asarray(LEVEL_MIX[c]))
    has_sat = resolved & (rng.random(n) < np.where(iot, 0.4, 0.88))
    p_dis = rng.uniform(0.02, 0.06)
    sat = np.where(
        rng.random(n) < p_dis, I_DISSATISFIED, np.where(rng.random(n) < 0.22, I_BASIC, I_SATISFIED)
    ).astype(np.int8)
    sat[~has_sat] = -1

    if d.code == RONGCHANG:
        grassroots = np.array([RESOLUTION_LEVELS.index(lv) for lv in GRASSROOTS_LEVELS])
        top = RESOLUTION_LEVELS.index(LEVEL_TOP)
        for y in np.unique(year):
            rate = RONGCHANG_GRASSROOTS.get(int(y), RONGCHANG_GRASSROOTS_LATER)
            counted = (cat == dispute_i) & (year == y) & (status != I_CANCELLED)
            idx = rng.permutation(np.flatnonzero(counted & resolved))
            k = min(round(rate * int(counted.sum())), len(idx))
            level[idx[:k]] = rng.choice(grassroots, k, p=GRASSROOTS_MIX)
            level[idx[k:]] = top
        rated = np.flatnonzero((year == RONGCHANG_SATISFACTION_YEAR) & (sat >= 0))
        rated = rng.permutation(rated)
        k = math.floor(0.004 * len(rated))
        sat[rated[:k]] = I_DISSATISFIED
        sat[rated[k:]] = np.where(rng.random(len(rated) - k) < 0.12, I_BASIC, I_SATISFIED)

    due = reported + (sla * 3600).astype(np.int64)
    due_missing = rng.random(n) < 0.3
    gi = rng.choice(len(g.codes), n, p=g.weight)
    no_pos = rng.random(n) < 0.04
    lon = g.lon[gi] + rng.normal(0, 0.0015, n)
    lat = g.lat[gi] + rng.normal(0, 0.0013, n)

    # Descriptions: a place and a text of the category; a very rare tricky one.
    text = np.empty(n, dtype=object)
    for ci, c in enumerate(cat_order):
        m = cat == ci
        texts = DESCRIPTIONS[c]
        text[m] = np.asarray(texts, dtype=object)[rng.integers(0, len(texts), int(m.sum()))]
    place = np.asarray(DESCRIPTION_PLACES, dtype=object)[rng.integers(0, len(DESCRIPTION_PLACES), n)]
    description = pc.binary_join_element_wise(pa.array(place, pa.string()), pa.array(text, pa.string()), "")
    position = seq_base + np.arange(n)
    tricky = (position % TRICKY_EVERY == 17) | (position == 2)
    if tricky.any():
        picks = np.asarray(TRICKY_DESCRIPTIONS, dtype=object)[
            (position[tricky] // TRICKY_EVERY) % len(TRICKY_DESCRIPTIONS)
        ]
        description = pc.replace_with_mask(description, pa.array(tricky), pa.array(picks, pa.string()))

    # Event ids: district, year and a sequence in report order within that year.
    first_of_year = np.searchsorted(year, year)
    seq = np.arange(n) - first_of_year + 1
    ids = pc.binary_join_element_wise(
        pa.array(np.char.add(f"E{d.code}", year.astype(str)), pa.string()),
        pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), 7, "0"),
        "",
    )

    ts = pa.timestamp("s")
    table = pa.table(
        _record(
            EVENTS,
            {
                "event_id": ids,
                "grid_code": pc.take(pa.array(g.codes, pa.string()), pa.array(gi)),
                "category": pc.take(pa.array(cat_order), pa.array(cat)),
                "source": pc.take(pa.array(SOURCES), pa.array(src)),
                "reported_at": pa.array(reported, ts),
                "accepted_at": pa.array(accepted_at, ts, mask=(status == I_PENDING) | (accepted_at >= now)),
                "resolved_at": pa.array(resolved_at, ts, mask=~resolved),
                "due_at": pa.array(due, ts, mask=due_missing),
                "status": pc.take(pa.array(STATUSES), pa.array(status)),
                "resolution_level": pc.take(pa.array(RESOLUTION_LEVELS), pa.array(level, mask=level < 0)),
                "satisfaction": pc.take(pa.array(SATISFACTION), pa.array(sat, mask=sat < 0)),
                "lon": pa.array(np.round(lon, 6), pa.float64(), mask=no_pos),
                "lat": pa.array(np.round(lat, 6), pa.float64(), mask=no_pos),
                "description": description,
            },
        )
    )
    return table


# --------------------------------------------------------------------------- IoT devices and alarms (物联感知)

DEVICE_TYPES = _order(
    DEVICES,
    "device_type",
    (
        "smoke_detector",
        "door_access",
        "bin_sensor",
        "parking_sensor",
        "high_throw_camera",
        "gas_detector",
        "water_sensor",
    ),
)
DEVICE_STATUSES = _order(DEVICES, "status", ("online", "offline", "retired"))
I_ONLINE, I_OFFLINE, I_RETIRED = range(3)
ALARM_STATUSES = _order(ALARMS, "status", ("open", "handled"))
I_OPEN, I_HANDLED = range(2)
OUTCOMES = _order(ALARMS, "outcome", ("confirmed", "false_alarm"))
I_CONFIRMED, I_FALSE = range(2)

# Devices per 社区, drawn uniformly from (low, high). 渝中区 is the pilot of the "1+4+N" platform:
# every one of its communities has smoke detectors in the stairwells of its old residential
# buildings (the most numerous by far), access control at the compound gates, sensors on the
# rubbish collection points, parking-space sensors and cameras aimed at the facades (高空抛物).
PILOT_DEVICES = _keyed(
    DEVICES,
    "device_type",
    {
        "smoke_detector": (60, 140),
        "door_access": (4, 12),
        "bin_sensor": (4, 10),
        "parking_sensor": (20, 60),
        "high_throw_camera": (6, 16),
        "gas_detector": (0, 0),
        "water_sensor": (0, 0),
    },
)
# A lighter scatter in a few central districts: this share of their 社区 has devices, fewer of them;
# a few low-lying ones also watch for standing water. Every other district and county has none.
SCATTER_SHARE = {JIANGBEI: 0.15, NANAN: 0.12, JIULONGPO: 0.12, SHAPINGBA: 0.10, YUBEI: 0.15}
SCATTER_DEVICES = _keyed(
    DEVICES,
    "device_type",
    {
        "smoke_detector": (20, 60),
        "door_access": (2, 6),
        "bin_sensor": (2, 5),
        "parking_sensor": (0, 20),
        "high_throw_camera": (2, 8),
        "gas_detector": (0, 3),
        "water_sensor": (0, 2),
    },
)
PILOT_INSTALLED = ("2020-06-01", "2022-12-31")  # the pilot's first wave; a fifth came later
LATER_INSTALLED = ("2022-01-01", "2024-06-30")
DEVICE_STATUS_P = np.array([0.93, 0.05, 0.02])  # online, offline, retired

# Alarms per device per day at --scale 1. These are plausible figures, not published ones, in line
# with what smart-community pilots describe: a stairwell smoke detector goes off a few times a year
# (cooking fumes, steam, dust, a flat battery); a gate alarms when it is held or forced open; a bin
# sensor reports "full" every week or so; a parking sensor flags overstays and blocked spaces; a
# high-throw camera alarms rarely. Together about 300,000 alarms over three years for the city.
# Alarms follow the square root of --scale: the devices are fixed like the region tree, and a small
# demo still shows alarms of every type in every community.
ALARM_RATE = _keyed(
    DEVICES,
    "device_type",
    {
        "smoke_detector": 0.004,
        "door_access": 0.02,
        "bin_sensor": 0.12,
        "parking_sensor": 0.015,
        "high_throw_camera": 0.003,
        "gas_detector": 0.002,
        "water_sensor": 0.01,
    },
)
# Share of reports by hour of day, per type: smoke and gas at cooking times, bins fill in the evening
# when households take the rubbish out, parking around the rush hours, gates as people come and go.
# fmt: off
_HOURS_FLAT = (1.0,) * 24
ALARM_HOURS = _keyed(
    DEVICES,
    "device_type",
    {
        "smoke_detector": (0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.8, 1.2, 0.8, 0.6, 1.0, 2.6,
                           2.4, 1.0, 0.6, 0.6, 1.0, 2.4, 2.8, 2.0, 1.0, 0.6, 0.4, 0.3),
        "door_access": (0.4, 0.3, 0.2, 0.2, 0.2, 0.4, 1.0, 2.2, 2.4, 1.2, 0.8, 0.8,
                        1.0, 0.8, 0.8, 0.8, 1.0, 1.6, 2.2, 2.2, 1.8, 1.4, 1.0, 0.6),
        "bin_sensor": (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 1.0, 1.0, 0.8, 0.6, 0.8,
                       1.2, 1.0, 0.6, 0.6, 0.8, 1.6, 3.0, 4.0, 3.6, 2.4, 1.0, 0.4),
        "parking_sensor": (0.3, 0.2, 0.2, 0.2, 0.3, 0.6, 1.6, 3.4, 3.6, 1.6, 0.8, 0.8,
                           0.8, 0.8, 0.8, 1.0, 1.6, 3.2, 3.6, 2.0, 1.2, 0.8, 0.6, 0.4),
        "high_throw_camera": (0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.0, 1.2, 1.4, 1.6,
                              1.4, 1.4, 1.4, 1.4, 1.6, 1.8, 1.8, 1.6, 1.2, 0.8, 0.4, 0.2),
        "gas_detector": (0.3, 0.2, 0.2, 0.2, 0.2, 0.4, 1.0, 1.4, 0.8, 0.6, 1.2, 2.6,
                         2.2, 0.8, 0.6, 0.6, 1.0, 2.4, 2.6, 1.6, 0.8, 0.6, 0.4, 0.3),
        "water_sensor": _HOURS_FLAT,
    },
)
# fmt: on
# Median minutes from alarm to handling (a call to the household or a look at the camera by the
# grid worker for smoke and gas, a sanitation crew for bins, a patrol for parking); slower at night.
HANDLE_MINUTES = _keyed(
    DEVICES,
    "device_type",
    {
        "smoke_detector": 6,
        "door_access": 12,
        "bin_sensor": 75,
        "parking_sensor": 25,
        "high_throw_camera": 20,
        "gas_detector": 5,
        "water_sensor": 40,
    },
)
HANDLE_SIGMA = 0.8
NIGHT_HOURS = (22, 7)  # from 22:00 to 06:59, handling takes NIGHT_FACTOR times as long
NIGHT_FACTOR = 1.8
STUCK_OPEN = 0.003  # alarms left open for good (a device that went offline, a ticket lost)
OUTCOME_RECORDED = 0.95
# Of the handled alarms with an outcome, the share found false: most smoke alarms are cooking fumes,
# a full bin is a full bin, high-throw alarms are few and mostly confirmed.
FALSE_ALARM = _keyed(
    DEVICES,
    "device_type",
    {
        "smoke_detector": 0.88,
        "door_access": 0.55,
        "bin_sensor": 0.08,
        "parking_sensor": 0.35,
        "high_throw_camera": 0.2,
        "gas_detector": 0.7,
        "water_sensor": 0.3,
    },
)
# Of the confirmed alarms, the share raised as an event (source iot) for the grid to handle.
ESCALATED = _keyed(
    DEVICES,
    "device_type",
    {
        "smoke_detector": 0.3,
        "door_access": 0.05,
        "bin_sensor": 0.02,
        "parking_sensor": 0.1,
        "high_throw_camera": 0.6,
        "gas_detector": 0.5,
        "water_sensor": 0.4,
    },
)


def _day_number(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def _devices(d: District, g: Grids, rng: np.random.Generator, end: date) -> pa.Table | None:
    """One district's devices: every 社区 of the pilot, a share of the 社区 of a few central districts."""
    if d.code == YUZHONG:
        per_type, share, installed = PILOT_DEVICES, 1.0, PILOT_INSTALLED
    elif d.code in SCATTER_SHARE:
        per_type, share, installed = SCATTER_DEVICES, SCATTER_SHARE[d.code], LATER_INSTALLED
    else:
        return None
    community = np.array([code[:12] for code in g.codes])
    communities = np.unique(community[~g.village])
    chosen = communities[rng.random(len(communities)) < share] if share < 1 else communities
    grid_parts: list[np.ndarray] = []
    type_parts: list[np.ndarray] = []
    for code in chosen:
        grids = np.flatnonzero(community == code)
        weight = g.weight[grids] / g.weight[grids].sum()
        for ti, t in enumerate(DEVICE_TYPES):
            low, high = per_type[t]
            k = int(rng.integers(low, high + 1))
            if k:
                grid_parts.append(np.sort(rng.choice(grids, k, p=weight)))
                type_parts.append(np.full(k, ti, dtype=np.int8))
    if not grid_parts:
        return None
    gi = np.concatenate(grid_parts)
    kind = np.concatenate(type_parts)
    order = np.lexsort((kind, gi))
    gi, kind = gi[order], kind[order]
    n = len(gi)
    first, last = (_day_number(day) for day in installed)
    if d.code == YUZHONG:  # a fifth of the pilot's devices came later
        later = rng.random(n) < 0.2
        days = np.where(
            later,
            rng.integers(_day_number(LATER_INSTALLED[0]), _day_number(LATER_INSTALLED[1]) + 1, n),
            rng.integers(first, last + 1, n),
        )
    else:
        days = rng.integers(first, last + 1, n)
    days = np.minimum(days, _day_number(end.isoformat()))
    installed_at = days * 86400 + rng.integers(9 * 3600, 18 * 3600, n)
    status = rng.choice(len(DEVICE_STATUSES), n, p=DEVICE_STATUS_P).astype(np.int8)
    no_pos = rng.random(n) < 0.1
    return pa.table(
        _record(
            DEVICES,
            {
                "device_id": _ids(f"D{d.code}", np.arange(n), 6),
                "grid_code": pc.take(pa.array(g.codes, pa.string()), pa.array(gi)),
                "device_type": pc.take(pa.array(DEVICE_TYPES), pa.array(kind)),
                "status": pc.take(pa.array(DEVICE_STATUSES), pa.array(status)),
                "installed_at": pa.array(installed_at, pa.timestamp("s")),
                "lon": pa.array(np.round(g.lon[gi] + rng.normal(0, 0.0008, n), 6), mask=no_pos),
                "lat": pa.array(np.round(g.lat[gi] + rng.normal(0, 0.0007, n), 6), mask=no_pos),
            },
        )
    )


def _alarms(
    d: District, devices: pa.Table, events: pa.Table | None, scale: float, end: date, rng: np.random.Generator
) -> pa.Table | None:
    """The alarms of one district's devices, from FIRST_EVENT_DAY (or installation) to `end`."""
    kind = pc.index_in(devices["device_type"], pa.array(DEVICE_TYPES)).to_numpy()
    status = pc.index_in(devices["status"], pa.array(DEVICE_STATUSES)).to_numpy()
    n_dev = len(kind)
    first = max(_day_number(FIRST_EVENT_DAY.isoformat()), 0)
    last = _day_number(end.isoformat())
    start = np.maximum(devices["installed_at"].to_numpy().astype("datetime64[D]").astype(np.int64) + 1, first)
    stop = np.full(n_dev, last)
    retired = status == I_RETIRED  # a retired device fell silent on a day after it was put up
    stop[retired] = start[retired] + (rng.random(int(retired.sum())) * np.maximum(last - start[retired], 0))
    active = np.maximum(stop - start + 1, 0)
    rate = np.array([ALARM_RATE[t] for t in DEVICE_TYPES])[kind] * math.sqrt(scale)
    counts = rng.poisson(rate * active)
    if counts.sum() == 0:
        return None
    di = np.repeat(np.arange(n_dev), counts)
    ak = kind[di]
    n = len(di)
    day = start[di] + np.floor(rng.random(n) * active[di]).astype(np.int64)
    hour = np.empty(n, dtype=np.int64)
    for ti, t in enumerate(DEVICE_TYPES):
        m = ak == ti
        if m.any():
            w = np.asarray(ALARM_HOURS[t])
            hour[m] = rng.choice(24, int(m.sum()), p=w / w.sum())
    raised = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    order = np.argsort(raised, kind="stable")
    di, ak, raised, hour = di[order], ak[order], raised[order], hour[order]

    night = (hour >= NIGHT_HOURS[0]) | (hour < NIGHT_HOURS[1])
    median = np.array([HANDLE_MINUTES[t] for t in DEVICE_TYPES], dtype=float)[ak]
    minutes = median * np.where(night, NIGHT_FACTOR, 1.0) * np.exp(HANDLE_SIGMA * rng.standard_normal(n))
    handled_at = raised + np.maximum(np.round(minutes * 60), 30).astype(np.int64)
    now = (last + 1) * 86400
    open_ = (handled_at >= now) | (rng.random(n) < STUCK_OPEN)
    handled = ~open_
    false_share = np.array([FALSE_ALARM[t] for t in DEVICE_TYPES])[ak]
    outcome = np.where(rng.random(n) < false_share, I_FALSE, I_CONFIRMED).astype(np.int8)
    outcome[~handled | (rng.random(n) >= OUTCOME_RECORDED)] = -1
    escalate = (outcome == I_CONFIRMED) & (rng.random(n) < np.array([ESCALATED[t] for t in DEVICE_TYPES])[ak])
    # The event an escalated alarm raised: the district's next iot event reported at or after it.
    event_id = pa.nulls(n, pa.string())
    if events is not None and escalate.any():
        iot = events.filter(pc.equal(events["source"], SRC_IOT))
        reported = iot["reported_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
        order_iot = np.argsort(reported, kind="stable")
        reported = reported[order_iot]
        at = np.searchsorted(reported, raised)
        linked = escalate & (at < len(reported))
        ids = pc.take(iot["event_id"], pa.array(order_iot))
        picks = pc.take(ids, pa.array(np.where(linked, at, 0)))
        event_id = pc.if_else(pa.array(linked), picks, event_id) if len(reported) else event_id

    year = raised.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    seq = np.arange(n) - np.searchsorted(year, year) + 1
    ids = pc.binary_join_element_wise(
        pa.array(np.char.add(f"A{d.code}", year.astype(str)), pa.string()),
        pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), 7, "0"),
        "",
    )
    ts = pa.timestamp("s")
    return pa.table(
        _record(
            ALARMS,
            {
                "alarm_id": ids,
                "device_id": pc.take(devices["device_id"], pa.array(di)),
                "raised_at": pa.array(raised, ts),
                "status": pc.take(pa.array(ALARM_STATUSES), pa.array(np.where(handled, I_HANDLED, I_OPEN))),
                "handled_at": pa.array(handled_at, ts, mask=~handled),
                "outcome": pc.take(pa.array(OUTCOMES), pa.array(outcome, mask=outcome < 0)),
                "event_id": event_id,
            },
        )
    )


# --------------------------------------------------------------------------- collective economy


def _collective_economy(structure: Structure, seed: int, end: date) -> list[tuple]:
    villages = structure.villages
    n = len(villages)
    vd = np.array([d for _, d in villages])
    by_code = {d.code: d for d in structure.districts}
    rng = _rng(seed, 5)
    median = np.array(
        [200_000.0 if c == DIANJIANG else 75_000.0 + 60_000.0 * by_code[c].urbanity for c in vd]
    )
    sigma = np.where(vd == DIANJIANG, 0.6, 1.0)
    base = median * np.exp(sigma * rng.standard_normal(n))
    strong = rng.random(n) < np.where(vd == DIANJIANG, 0.10, 0.07)
    base = np.where(strong, base * rng.uniform(3.0, 15.0, n), base)
    margin_base = np.clip(rng.normal(0.48, 0.15, n), 0.05, 0.9)
    loss_maker = rng.random(n) < 0.05
    holders_base = np.where(vd == JIULONGPO, 3200.0, 1800.0) * np.exp(0.4 * rng.standard_normal(n))
    entity = np.where(
        strong & (rng.random(n) < 0.85),
        ENTITY_TYPES.index(ENTITY_STRONG),
        rng.choice(len(ENTITY_TYPES), n, p=[0.06, 0.58, 0.13, 0.23]),
    )
    always = np.isin(vd, [DIANJIANG, JIULONGPO])

    rows: list[tuple] = []
    for y in range(FIRST_EVENT_DAY.year, end.year + 1):
        ry = _rng(seed, 5, y)
        growth = {2022: 0.9, 2023: 1.0}.get(y, 1.0 + 0.07 * (y - 2023))
        income = base * growth * np.exp(0.12 * ry.standard_normal(n))
        margin = np.clip(margin_base + ry.normal(0, 0.05, n), 0.02, 0.95)
        margin = np.where(loss_maker, ry.uniform(-0.3, 0.0, n), margin)
        profit = income * margin
        if y >= DIANJIANG_YEAR:
            income, profit = _calibrate_dianjiang(vd == DIANJIANG, income, profit, ry)
        income = np.round(income, 2)
        profit = np.round(profit, 2)
        total = np.round(income + 50_000 * np.exp(0.5 * ry.standard_normal(n)), 2)
        pays = (profit > 0) & (ry.random(n) < 0.35)
        dividends = np.round(np.where(pays, profit * ry.uniform(0.1, 0.4, n), 0.0), 2)
        dividends_missing = ry.random(n) < 0.08
        holders = np.round(holders_base * (1 + 0.01 * ry.standard_normal(n))).astype(np.int64)
        jl = vd == JIULONGPO
        if holders[jl].sum() <= JIULONGPO_MIN_SHAREHOLDERS:
            holders[jl] = np.ceil(holders[jl] * JIULONGPO_MIN_SHAREHOLDERS / holders[jl].sum()).astype(
                np.int64
            )
        reports = always | (ry.random(n) < 0.97)
        for k in np.flatnonzero(reports):
            rows.append(
                (
                    villages[k][0],
                    y,
                    float(income[k]),
                    float(total[k]),
                    float(profit[k]),
                    None if dividends_missing[k] else float(dividends[k]),
                    int(holders[k]),
                    ENTITY_TYPES[entity[k]],
                )
            )
    return rows


def _calibrate_dianjiang(m: np.ndarray, income: np.ndarray, profit: np.ndarray, rng: np.random.Generator):
    """Make Dianjiang's villages meet the published 2023 figures whatever the draw."""
    inc, prof = income[m].copy(), profit[m].copy()
    margin = prof / inc
    n = len(inc)
    # Every village at 5万 or more; enough at 10万 or more.
    low = inc < 50_000
    inc[low] = rng.uniform(52_000, 80_000, int(low.sum()))
    need = math.ceil(DIANJIANG_SHARE_GE_100K * n) - int((inc >= 100_000).sum())
    if need > 0:
        below = np.flatnonzero(inc < 100_000)
        lift = below[np.argsort(-inc[below], kind="stable")[:need]]
        inc[lift] = rng.uniform(100_000, 130_000, len(lift))
    if inc.sum() < DIANJIANG_MIN_INCOME:
        inc *= DIANJIANG_MIN_INCOME / inc.sum()
    prof = inc * margin
    need = math.ceil(DIANJIANG_SHARE_PROFIT_GE_100K * n) - int((prof >= 100_000).sum())
    if need > 0:
        below = np.flatnonzero(prof < 100_000)
        lift = below[np.argsort(-inc[below], kind="stable")[:need]]
        prof[lift] = np.minimum(inc[lift] * 0.9, 100_000 + inc[lift] * 0.05)
        short = lift[prof[lift] < 100_000]
        inc[short] = rng.uniform(120_000, 160_000, len(short))
        prof[short] = inc[short] * 0.85
    income, profit = income.copy(), profit.copy()
    income[m], profit[m] = inc, prof
    return income, profit


def _write_xlsx(path: Path, rows: list[tuple]) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(COLLECTIVE_ECONOMY.label)
    ws.append([c.alias for c in COLLECTIVE_ECONOMY.columns])
    for r in rows:
        ws.append(list(r))
    wb.save(path)


# --------------------------------------------------------------------------- the folder


FILE_NAMES = {
    REGIONS.name: f"{REGIONS.name}.csv",
    RESIDENTS.name: f"{RESIDENTS.name}.parquet",
    HOUSING.name: f"{HOUSING.name}.parquet",
    EVENTS.name: f"{EVENTS.name}.parquet",
    COLLECTIVE_ECONOMY.name: f"{COLLECTIVE_ECONOMY.name}.xlsx",
    DEVICES.name: f"{DEVICES.name}.parquet",
    ALARMS.name: f"{ALARMS.name}.parquet",
}
assert set(FILE_NAMES) == set(TABLES_BY_NAME)
ROW_GROUP = 1 << 20


def _input_files(out_dir: Path) -> list[Path]:
    """Files in the folder that a load would read as one of the tables."""
    return [
        p
        for p in out_dir.iterdir()
        if p.is_file() and p.stem in TABLES_BY_NAME and p.suffix.lower() in FILE_SUFFIXES
    ]


def generate(
    out_dir: Path,
    scale: float = 0.01,
    seed: int = 7,
    end: date = date(2024, 12, 31),
    progress: Progress | None = None,
) -> dict:
    """Write a synthetic input folder (SPEC sections 3 and 5); return the row count of each file written.

    A folder that already holds input files is written over only when it is a demo folder (it has
    DEMO.json); the files of another format that would shadow the new ones are removed.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    if end < FIRST_EVENT_DAY:
        raise ValueError(f"end must be on or after {FIRST_EVENT_DAY.isoformat()}")
    report = progress or (lambda message, fraction: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = _input_files(out_dir)
    if existing and not (out_dir / MARKER_FILE).exists():
        names = ", ".join(sorted(p.name for p in existing))
        raise FileExistsError(
            f"{out_dir} holds input files that are not demo data ({names}); not written over"
        )
    partial = {k: out_dir / f"{v}.partial" for k, v in FILE_NAMES.items()}
    try:
        counts = _write_all(partial, scale, seed, end, report)
    except BaseException:
        for p in partial.values():
            p.unlink(missing_ok=True)
        raise
    for p in existing:
        if p.name not in FILE_NAMES.values():
            p.unlink()
    for k, v in FILE_NAMES.items():
        os.replace(partial[k], out_dir / v)
    marker = {"demo": True, "seed": seed, "scale": scale, "end": end.isoformat()}
    (out_dir / MARKER_FILE).write_text(json.dumps(marker, ensure_ascii=False) + "\n", encoding="utf-8")
    report("完成", 1.0)
    return {FILE_NAMES[k]: n for k, n in counts.items()}


def _write_all(
    partial: dict[str, Path], scale: float, seed: int, end: date, report: Progress
) -> dict[str, int]:
    counts: dict[str, int] = {}
    report("区划与网格", 0.0)
    structure = build_structure(seed)
    with open(partial[REGIONS.name], "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(REGIONS.column_names)
        w.writerows(structure.rows)
    counts[REGIONS.name] = len(structure.rows)
    report("区划与网格", 0.04)

    tables = (RESIDENTS, HOUSING, EVENTS, DEVICES, ALARMS)
    schemas = {t.name: _schema(t) for t in tables}
    counts.update(dict.fromkeys(schemas, 0))
    total_pop = sum(d.population for d in structure.districts)
    done = 0
    households = 0
    with (
        pq.ParquetWriter(partial[RESIDENTS.name], schemas[RESIDENTS.name], compression="zstd") as w_res,
        pq.ParquetWriter(partial[HOUSING.name], schemas[HOUSING.name], compression="zstd") as w_house,
        pq.ParquetWriter(partial[EVENTS.name], schemas[EVENTS.name], compression="zstd") as w_events,
        pq.ParquetWriter(partial[DEVICES.name], schemas[DEVICES.name], compression="zstd") as w_devices,
        pq.ParquetWriter(partial[ALARMS.name], schemas[ALARMS.name], compression="zstd") as w_alarms,
    ):
        for d in structure.districts:
            report(f"人口、房屋与事件：{d.name}", 0.04 + 0.9 * done / total_pop)
            g = structure.grids[d.code]
            n = round(d.population * scale)
            res, n_hh = _residents(d, g, n, counts[RESIDENTS.name], households, end, _rng(seed, 2, d.index))
            w_res.write_table(res.cast(schemas[RESIDENTS.name]), row_group_size=ROW_GROUP)
            counts[RESIDENTS.name] += n
            households += n_hh
            del res
            houses = _housing(d, g, n, counts[HOUSING.name], end, _rng(seed, 4, d.index))
            w_house.write_table(houses.cast(schemas[HOUSING.name]), row_group_size=ROW_GROUP)
            counts[HOUSING.name] += houses.num_rows
            del houses
            events = _events(d, g, n, counts[EVENTS.name], end, _rng(seed, 3, d.index))
            if events is not None:
                w_events.write_table(events.cast(schemas[EVENTS.name]), row_group_size=ROW_GROUP)
                counts[EVENTS.name] += events.num_rows
            devices = _devices(d, g, _rng(seed, 6, d.index), end)
            if devices is not None:
                w_devices.write_table(devices.cast(schemas[DEVICES.name]), row_group_size=ROW_GROUP)
                counts[DEVICES.name] += devices.num_rows
                alarms = _alarms(d, devices, events, scale, end, _rng(seed, 7, d.index))
                if alarms is not None:
                    w_alarms.write_table(alarms.cast(schemas[ALARMS.name]), row_group_size=ROW_GROUP)
                    counts[ALARMS.name] += alarms.num_rows
                del devices, alarms
            del events
            done += d.population

    report("村集体经济", 0.95)
    rows = _collective_economy(structure, seed, end)
    _write_xlsx(partial[COLLECTIVE_ECONOMY.name], rows)
    counts[COLLECTIVE_ECONOMY.name] = len(rows)
    return counts


def _schema(table: Table) -> pa.Schema:
    types = {
        "text": pa.string(),
        "code": pa.string(),
        "enum": pa.string(),
        "tags": pa.string(),
        "int": pa.int32(),
        "year": pa.int32(),
        "float": pa.float64(),
        "timestamp": pa.timestamp("s"),
    }
    return pa.schema([pa.field(c.name, types[c.type]) for c in table.columns if not c.personal])
