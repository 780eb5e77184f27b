"""The input contract: every table's columns, Chinese aliases, types, enumerations and rules.

Readers, validation, the staging SQL, the demo generator and the docs all read this module;
nothing else spells out a column, an alias or an enumeration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CITY_CODE = "50"
CITY_NAME = "重庆市"

# level -> code length (SPEC section 2); the city is the implicit root.
LEVELS: dict[str, int] = {"district": 6, "township": 9, "community": 12, "grid": 15}
LEVEL_LABELS: dict[str, str] = {"district": "区县", "township": "街镇", "community": "村社区", "grid": "网格"}
PARENT_LEVEL: dict[str, str | None] = {
    "district": None,
    "township": "district",
    "community": "township",
    "grid": "community",
}

# A region kind is allowed only at its level.
KINDS_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "district": ("district", "county"),
    "township": ("street", "town", "xiang"),
    "community": ("community", "village"),
    "grid": ("grid",),
}

TAGS: dict[str, str] = {
    "elderly_alone": "独居老人",
    "low_income": "低保对象",
    "disabled": "残疾人",
    "veteran": "退役军人",
    "left_behind_child": "留守儿童",
    "extreme_poverty": "特困人员",
}

# Default handling time of an event by category when the input gives no due_at, in hours.
SLA_HOURS: dict[str, int] = {
    "dispute": 72,
    "safety_hazard": 24,
    "sanitation": 24,
    "infrastructure": 72,
    "illegal_construction": 360,
    "public_order": 24,
    "livelihood": 168,
    "traffic": 48,
    "other": 168,
}

# Resolution levels that count as grassroots (SPEC section 6, grassroots_rate).
GRASSROOTS_LEVELS: tuple[str, ...] = ("grid", "community", "township")

# A special-care count below this, in a unit smaller than a township, is shown as "<5".
SUPPRESS_BELOW = 5

# A time lies from the start of FIRST_YEAR to the end of next year (a due date may fall there):
# others are typing errors (0001-01-01, 9999-12-31), and the last leaves no room for a period after it.
FIRST_YEAR = 1900

# Columns that carry personal data: dropped or hashed by the reader, never stored or shown.
PERSONAL_COLUMNS: tuple[str, ...] = ("id_number", "name", "phone")
# The one personal column read at all: staging turns it into a salted hash and drops it.
HASHED_COLUMNS: tuple[str, ...] = ("id_number",)


@dataclass(frozen=True)
class Column:
    """One input column: its name, Chinese alias, type and the rules a value must meet."""

    name: str
    alias: str
    type: str  # text | code | enum | int | float | timestamp | year | tags
    required: bool = False
    enum: dict[str, str] | None = None  # code -> Chinese label
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    personal: bool = False  # never stored; dropped or hashed by the reader
    note: str = ""
    # an int that is a year, not beyond this one (as every column of type year)
    not_in_future: bool = False


@dataclass(frozen=True)
class Table:
    """One input table (one file per load)."""

    name: str
    label: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def columns_read(self) -> list[Column]:
        """Columns the reader passes on: personal data is dropped, except what staging hashes."""
        return [c for c in self.columns if not c.personal or c.name in HASHED_COLUMNS]

    @property
    def required_in_header(self) -> list[str]:
        """Columns a file must have in its header for the file to be readable at all."""
        return [c.name for c in self.columns if c.required]


REGIONS = Table(
    name="regions",
    label="行政区划与网格",
    key=("code",),
    columns=(
        Column("code", "区划代码", "code", required=True),
        Column("name", "名称", "text", required=True),
        Column("level", "层级", "enum", required=True, enum=LEVEL_LABELS),
        Column("parent_code", "上级代码", "code"),
        Column(
            "kind",
            "类型",
            "enum",
            enum={
                "district": "区",
                "county": "县",
                "street": "街道",
                "town": "镇",
                "xiang": "乡",
                "community": "社区",
                "village": "村",
                "grid": "网格",
            },
        ),
        Column("lon", "经度", "float", min=73, max=136),
        Column("lat", "纬度", "float", min=3, max=54),
    ),
)

RESIDENTS = Table(
    name="residents",
    label="实有人口",
    key=("resident_id",),
    columns=(
        Column("resident_id", "人员编号", "text", note="derived as a salted hash of id_number when absent"),
        Column("id_number", "身份证号", "text", personal=True),
        Column("name", "姓名", "text", personal=True),
        Column("phone", "联系电话", "text", personal=True),
        Column("grid_code", "网格代码", "code", required=True),
        Column("household_id", "户号", "text", required=True),
        Column("gender", "性别", "enum", required=True, enum={"M": "男", "F": "女"}),
        Column("birth_year", "出生年份", "year", required=True, min=1900),
        Column(
            "residence_type",
            "人口类型",
            "enum",
            required=True,
            enum={"registered": "户籍人口", "floating": "流动人口", "overseas": "境外人员"},
        ),
        Column("tags", "标签", "tags", enum=TAGS),
    ),
)

HOUSING = Table(
    name="housing",
    label="房屋",
    key=("house_id",),
    columns=(
        Column("house_id", "房屋编号", "text", required=True),
        Column("grid_code", "网格代码", "code", required=True),
        Column(
            "building_type",
            "建筑类型",
            "enum",
            required=True,
            enum={
                "commercial": "商品房",
                "self_built": "自建房",
                "public_rental": "公租房",
                "resettlement": "安置房",
                "other": "其他",
            },
        ),
        Column(
            "usage",
            "使用情况",
            "enum",
            required=True,
            enum={"owner_occupied": "自住", "rented": "出租", "vacant": "空置", "business": "经营"},
        ),
        Column("area_m2", "建筑面积", "float", required=True, min=0, max=100000, min_exclusive=True),
        Column("built_year", "建成年份", "year", min=1900),
    ),
)

EVENT_CATEGORIES: dict[str, str] = {
    "dispute": "矛盾纠纷",
    "safety_hazard": "安全隐患",
    "sanitation": "环境卫生",
    "infrastructure": "市政设施",
    "illegal_construction": "违法建设",
    "public_order": "社会治安",
    "livelihood": "民生服务",
    "traffic": "交通出行",
    "other": "其他",
}

EVENTS = Table(
    name="events",
    label="网格事件",
    key=("event_id",),
    columns=(
        Column("event_id", "事件编号", "text", required=True),
        Column("grid_code", "网格代码", "code", required=True),
        Column("category", "事件类别", "enum", required=True, enum=EVENT_CATEGORIES),
        Column(
            "source",
            "来源",
            "enum",
            required=True,
            enum={
                "grid_worker": "网格员上报",
                "hotline": "12345热线",
                "iot": "物联感知",
                "resident_app": "居民上报",
                "other": "其他",
            },
        ),
        Column("reported_at", "上报时间", "timestamp", required=True),
        Column("accepted_at", "受理时间", "timestamp"),
        Column("resolved_at", "办结时间", "timestamp"),
        Column("due_at", "办理时限", "timestamp"),
        Column(
            "status",
            "状态",
            "enum",
            required=True,
            enum={"pending": "待受理", "in_progress": "处置中", "resolved": "已办结", "cancelled": "已作废"},
        ),
        Column(
            "resolution_level",
            "化解层级",
            "enum",
            enum={"grid": "网格", "community": "村社区", "township": "街镇", "district": "区县"},
        ),
        Column(
            "satisfaction",
            "满意度",
            "enum",
            enum={"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"},
        ),
        Column("lon", "经度", "float", min=73, max=136),
        Column("lat", "纬度", "float", min=3, max=54),
        Column("description", "事件描述", "text"),
    ),
)

COLLECTIVE_ECONOMY = Table(
    name="collective_economy",
    label="村集体经济",
    key=("village_code", "year"),
    columns=(
        Column("village_code", "村代码", "code", required=True),
        Column("year", "年度", "int", required=True, min=1949, not_in_future=True),
        Column("operating_income", "经营性收入", "float", required=True, min=0),
        Column("total_income", "总收入", "float", required=True, min=0),
        Column("operating_profit", "经营收益", "float", required=True),
        Column("dividends", "分红", "float", min=0),
        Column("shareholders", "股东人数", "int", min=0),
        Column(
            "entity_type",
            "经营主体",
            "enum",
            enum={
                "strong_village_company": "强村公司",
                "cooperative": "合作社",
                "joint_cooperative": "联合社",
                "other": "其他",
            },
        ),
    ),
)

DEVICE_TYPES: dict[str, str] = {
    "smoke_detector": "烟感报警器",
    "door_access": "智能门禁",
    "bin_sensor": "垃圾满溢监测",
    "parking_sensor": "车位监测",
    "high_throw_camera": "高空抛物监测",
    "gas_detector": "燃气报警器",
    "water_sensor": "积水监测",
}

# Optional: a city without sensors has neither file.
DEVICES = Table(
    name="devices",
    label="物联设备",
    key=("device_id",),
    columns=(
        Column("device_id", "设备编号", "text", required=True),
        Column("grid_code", "网格代码", "code", required=True),
        Column("device_type", "设备类型", "enum", required=True, enum=DEVICE_TYPES),
        Column(
            "status",
            "设备状态",
            "enum",
            required=True,
            enum={"online": "在线", "offline": "离线", "retired": "已拆除"},
        ),
        Column("installed_at", "安装时间", "timestamp"),
        Column("lon", "经度", "float", min=73, max=136),
        Column("lat", "纬度", "float", min=3, max=54),
    ),
)

# Optional, and only with devices: every alarm names a device of the devices table.
ALARMS = Table(
    name="alarms",
    label="告警",
    key=("alarm_id",),
    columns=(
        Column("alarm_id", "告警编号", "text", required=True),
        Column("device_id", "设备编号", "text", required=True),
        Column("raised_at", "告警时间", "timestamp", required=True),
        Column("status", "处置状态", "enum", required=True, enum={"open": "待处置", "handled": "已处置"}),
        Column("handled_at", "处置时间", "timestamp"),
        Column("outcome", "核实结果", "enum", enum={"confirmed": "属实", "false_alarm": "误报"}),
        Column("event_id", "关联事件编号", "text"),
    ),
)

# Load order matters: every other table refers to regions, alarms to devices.
TABLES: tuple[Table, ...] = (REGIONS, RESIDENTS, HOUSING, EVENTS, COLLECTIVE_ECONOMY, DEVICES, ALARMS)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
FILE_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx", ".parquet")


def header_lookup(table: Table) -> dict[str, str]:
    """Map every accepted header spelling (English name, Chinese alias) to the column name."""
    lookup: dict[str, str] = {}
    for c in table.columns:
        lookup[c.name.lower()] = c.name
        lookup[c.alias] = c.name
    # The contract writes lon/lat together; a header may say 经度/纬度 or lng/latitude.
    if "lon" in table.column_names:
        lookup.update({"lng": "lon", "longitude": "lon", "latitude": "lat"})
    return lookup


def code_level(code: str) -> str | None:
    """The level a region code has by its length, or None."""
    for level, length in LEVELS.items():
        if len(code) == length:
            return level
    return None
