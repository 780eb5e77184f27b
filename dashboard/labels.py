"""Every label the dashboard shows, in Chinese and English: one table, looked up by key."""

from __future__ import annotations

from pipelines.contract import EVENTS, HOUSING, LEVEL_LABELS, RESIDENTS, TAGS, COLLECTIVE_ECONOMY, REGIONS

LANGS = ("zh", "en")

# KPI keys of SPEC section 6 with their fixed Chinese labels and English names.
KPI_LABELS: dict[str, tuple[str, str]] = {
    "residents": ("实有人口", "Residents"),
    "households": ("户数", "Households"),
    "elderly_share": ("老年人口占比", "Elderly share"),
    "floating_share": ("流动人口占比", "Floating population share"),
    "special_care": ("重点关爱人群", "Special-care groups"),
    "units": ("房屋总数", "Housing units"),
    "rented": ("出租房屋", "Rented units"),
    "rental_share": ("出租率", "Rental share"),
    "vacancy_rate": ("空置率", "Vacancy rate"),
    "total": ("事件总数", "Events"),
    "resolved": ("已办结", "Resolved"),
    "resolution_rate": ("办结率", "Resolution rate"),
    "on_time_rate": ("按期办结率", "On-time rate"),
    "median_hours_to_resolve": ("办结时长中位数(小时)", "Median hours to resolve"),
    "grassroots_rate": ("矛盾纠纷基层化解率", "Grassroots dispute resolution"),
    "satisfaction_rate": ("满意率", "Satisfaction rate"),
    "overdue_open": ("超期未办结", "Overdue and open"),
    "villages": ("村集体经济组织数", "Villages reporting"),
    "operating_income": ("集体经营性收入", "Collective operating income"),
    "share_ge_50k": ("5万元以上村占比", "Villages ≥ ¥50k"),
    "share_ge_100k": ("10万元以上村占比", "Villages ≥ ¥100k"),
    "share_profit_ge_100k": ("经营收益10万元以上村占比", "Villages with profit ≥ ¥100k"),
}

UI: dict[str, tuple[str, str]] = {
    "app_title": ("一屏 · 基层治理一屏总览", "Yiping · Grassroots governance overview"),
    "overview": ("一屏总览", "Overview"),
    "population_page": ("人口", "Population"),
    "housing_page": ("房屋", "Housing"),
    "events_page": ("事件", "Incidents"),
    "economy_page": ("集体经济", "Collective economy"),
    "report_page": ("报告", "Reports"),
    "filters": ("筛选", "Filters"),
    "region": ("区域", "Region"),
    "all": ("全部", "All"),
    "period": ("时段", "Period"),
    "preset_12m": ("近12个月", "Last 12 months"),
    "preset_this_year": ("本年度", "This year"),
    "preset_last_year": ("上一年度", "Last year"),
    "preset_90d": ("近90天", "Last 90 days"),
    "preset_30d": ("近30天", "Last 30 days"),
    "preset_custom": ("自定义", "Custom"),
    "date_range": ("起止日期", "Date range"),
    "economy_year": ("集体经济年度", "Economy year"),
    "language": ("语言", "Language"),
    "demo_data": ("示例数据", "Demo data"),
    "demo_note": ("本页数据为合成的示例数据，仅供演示", "Synthetic demo data, for demonstration only"),
    "published_at": ("数据发布于", "Data published"),
    "vs_previous": ("较上期", "vs previous period"),
    "pp": ("个百分点", " pp"),
    "map": ("地图", "Map"),
    "map_metric": ("地图指标", "Map metric"),
    "metric_events": ("事件数", "Events"),
    "metric_resolution_rate": ("办结率", "Resolution rate"),
    "metric_density": ("人口密度", "Population density"),
    "metric_overdue": ("超期未办结", "Overdue"),
    "event_sheet": ("事件单（最新待办与超期）", "Event sheet (latest open and overdue)"),
    "trend": ("事件趋势与办结率", "Events and resolution rate"),
    "ranking": ("擂台比武", "League table"),
    "no_database": ("还没有数据库。", "There is no database yet."),
    "building_demo": ("正在生成示例数据库…", "Building the demo database…"),
    "unknown_region": ("区划代码不存在：", "No such region: "),
    "no_events": ("此时段内没有事件。", "No events in this period."),
    "no_children": ("此区域没有下级区域可排名。", "This region has no sub-regions to rank."),
    "best": ("最好", "Best"),
    "worst": ("最差", "Worst"),
    "reported_at": ("上报时间", "Reported"),
    "place": ("地点", "Place"),
    "category": ("类别", "Category"),
    "status": ("状态", "Status"),
    "age": ("已历时", "Age"),
    "overdue": ("超期", "Overdue"),
    "description": ("描述", "Description"),
    "hours": ("小时", "h"),
    "days": ("天", "d"),
    "month": ("月份", "Month"),
    "events": ("事件数", "Events"),
    "rotating": ("轮播", "Rotating"),
    "city": ("全市", "Whole city"),
    "data_error": ("数据读取失败：", "Could not read the data: "),
    "up_to": ("至", "to"),
}

# English names of enumerated values; the Chinese labels come from the contract.
ENUM_EN: dict[str, str] = {
    "district": "District", "county": "County", "street": "Sub-district", "town": "Town", "xiang": "Township",
    "community": "Community", "village": "Village", "grid": "Grid", "township": "Township", "city": "City",
    "M": "Male", "F": "Female",
    "registered": "Registered", "floating": "Floating", "overseas": "Overseas",
    "elderly_alone": "Elderly living alone", "low_income": "Low income (dibao)", "disabled": "Disabled",
    "veteran": "Veteran", "left_behind_child": "Left-behind child", "extreme_poverty": "Extreme poverty",
    "commercial": "Commercial", "self_built": "Self-built", "public_rental": "Public rental",
    "resettlement": "Resettlement", "other": "Other",
    "owner_occupied": "Owner-occupied", "rented": "Rented", "vacant": "Vacant", "business": "Business",
    "dispute": "Dispute", "safety_hazard": "Safety hazard", "sanitation": "Sanitation",
    "infrastructure": "Infrastructure", "illegal_construction": "Illegal construction",
    "public_order": "Public order", "livelihood": "Livelihood services", "traffic": "Traffic",
    "grid_worker": "Grid worker", "hotline": "12345 hotline", "iot": "IoT sensor", "resident_app": "Resident app",
    "pending": "Pending", "in_progress": "In progress", "resolved": "Resolved", "cancelled": "Cancelled",
    "satisfied": "Satisfied", "basically_satisfied": "Basically satisfied", "dissatisfied": "Dissatisfied",
    "strong_village_company": "Strong-village company", "cooperative": "Cooperative",
    "joint_cooperative": "Joint cooperative",
}

ENUM_ZH: dict[str, str] = {"city": "市", "township": "街镇"}
for _table in (REGIONS, RESIDENTS, HOUSING, EVENTS, COLLECTIVE_ECONOMY):
    for _column in _table.columns:
        for _code, _label in (_column.enum or {}).items():
            ENUM_ZH.setdefault(_code, _label)
ENUM_ZH.update(TAGS)
ENUM_ZH.update({level: label for level, label in LEVEL_LABELS.items() if level != "township"})
ENUM_ZH["other"] = "其他"
# A resolution level reads as the level's name.
RESOLUTION_LEVEL_ZH = dict(LEVEL_LABELS)


def t(key: str, lang: str = "zh") -> str:
    """The UI text for `key` in the language."""
    zh, en = UI.get(key) or KPI_LABELS[key]
    return en if lang == "en" else zh


def kpi_label(key: str, lang: str = "zh") -> str:
    zh, en = KPI_LABELS[key]
    return en if lang == "en" else zh


def enum_label(code: str | None, lang: str = "zh") -> str:
    """The label of an enumerated code (category, status, tag, level ...)."""
    if code is None:
        return ""
    if lang == "en":
        return ENUM_EN.get(code, code)
    return ENUM_ZH.get(code, code)


def level_label(level: str, lang: str = "zh") -> str:
    if lang == "en":
        return {"city": "City", "district": "District", "township": "Township", "community": "Community",
                "grid": "Grid"}[level]
    return {"city": "市", **LEVEL_LABELS}[level]
