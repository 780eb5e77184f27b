"""Every label the dashboard shows, in Chinese and English: one table, looked up by key."""

from __future__ import annotations

from pipelines.contract import (
    ALARMS,
    CITY_NAME,
    COLLECTIVE_ECONOMY,
    DEVICES,
    EVENTS,
    HOUSING,
    LEVEL_LABELS,
    REGIONS,
    RESIDENTS,
    TAGS,
)

LANGS = ("zh", "en")
CITY_NAME_EN = "Chongqing"

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
    "overdue_open": ("超期未办结", "Overdue open"),
    "villages": ("村集体经济组织数", "Villages reporting"),
    "operating_income": ("集体经营性收入", "Collective operating income"),
    "share_ge_50k": ("5万元以上村占比", "Villages ≥ ¥50k"),
    "share_ge_100k": ("10万元以上村占比", "Villages ≥ ¥100k"),
    "share_profit_ge_100k": ("经营收益10万元以上村占比", "Villages with profit ≥ ¥100k"),
    # the iot block (物联感知)
    "devices": ("物联设备数", "IoT devices"),
    "online_share": ("设备在线率", "Devices online"),
    "alarms": ("告警数", "Alarms"),
    "handled": ("已处置告警", "Alarms handled"),
    "handled_rate": ("告警处置率", "Alarm handling rate"),
    "median_minutes_to_handle": ("告警处置时长中位数(分钟)", "Median minutes to handle"),
    "false_alarm_share": ("误报率", "False alarm share"),
    "open_alarms": ("待处置告警", "Open alarms"),
    "escalated": ("转事件告警", "Alarms escalated to events"),
}

UI: dict[str, tuple[str, str]] = {
    "app_title": ("一屏 · 基层治理一屏总览", "Yiping · Grassroots governance overview"),
    "overview": ("一屏总览", "Overview"),
    "population_page": ("人口", "Population"),
    "housing_page": ("房屋", "Housing"),
    "events_page": ("事件", "Events"),
    "economy_page": ("集体经济", "Collective economy"),
    "report_page": ("报告", "Reports"),
    "load_page": ("数据导入", "Data import"),
    "load_intro": (
        "上传从其他系统导出的文件（CSV、Excel、Parquet），先试运行查看结果，再发布。"
        "文件只写入本次导入的临时目录，结束后即删除；身份证号、姓名、电话在读取时即去除。",
        "Upload files exported from other systems (CSV, Excel, Parquet), try them first, then publish. "
        "Files are written only to a temporary folder of this load and deleted afterwards; "
        "ID numbers, names and phones are dropped as they are read.",
    ),
    "load_files": ("选择文件", "Choose files"),
    "load_limit": ("每个文件不超过 {mb} MB。", "Up to {mb} MB a file."),
    "load_rules": (
        "文件名均以 events 或 alarms 开头（如 events_20251221.csv、alarms-0930.xlsx）时作为增量导入："
        "同编号的记录被替换，新编号的记录被加入，其余保持不变；"
        "否则为整库重建，须包含全部基础表：regions、residents、housing、collective_economy，"
        "文件名即表名（如 regions.csv）。",
        "When every file name starts with events or alarms (events_20251221.csv, alarms-0930.xlsx) the files "
        "are increments: a known id replaces the stored row, a new id is added, the rest stays; otherwise the "
        "whole database is rebuilt, which needs every base table (regions, residents, housing, "
        "collective_economy), each file named after its table (regions.csv).",
    ),
    "load_kind_ingest": ("增量导入", "Increment"),
    "load_kind_build": ("整库重建", "Full rebuild"),
    "load_missing_base": ("整库重建缺少基础表：", "A full rebuild lacks the base tables: "),
    "load_unknown_files": ("文件名不是输入表的名称：", "File names that name no input table: "),
    "load_duplicate_files": ("同名文件只能上传一个：", "Upload one file of each name: "),
    "load_dry_run": ("试运行", "Dry run"),
    "load_dry_running": ("试运行中…", "Trying the files…"),
    "load_dry_run_note": ("试运行结果（尚未发布）", "Dry-run result (nothing is published yet)"),
    "load_file": ("文件", "File"),
    "rows_read": ("读取行数", "Rows read"),
    "rows_loaded": ("导入行数", "Rows loaded"),
    "rows_rejected": ("拒绝行数", "Rows rejected"),
    "rows_superseded": ("被替代行数", "Rows superseded"),
    "load_rejects": ("被拒绝的行", "Rejected rows"),
    "load_no_rejects": ("没有被拒绝的行。", "No rows were rejected."),
    "load_rejects_more": (
        "仅显示前 {shown} 行，共 {total} 行；全部请下载。",
        "The first {shown} of {total} rows; download them all.",
    ),
    "load_rejects_download": ("下载被拒绝的行（CSV）", "Download rejected rows (CSV)"),
    "reject_line": ("行号", "Line"),
    "reject_column": ("列", "Column"),
    "reject_value": ("值", "Value"),
    "reject_reason": ("原因", "Reason"),
    "load_allow_shrink": (
        "允许数据减少（某表行数不到已发布数据的一半时仍发布）",
        "Allow shrinking (publish even when a table keeps less than half its published rows)",
    ),
    "load_publish": ("发布", "Publish"),
    "load_publishing": ("正在发布…", "Publishing…"),
    "load_published": ("已发布。", "Published."),
    "load_failed": ("发布失败，已发布的数据保持不变：", "Publish failed; the published data is unchanged: "),
    "load_dry_failed": ("试运行失败：", "The dry run failed: "),
    "load_stale": (
        "文件已更改，请重新试运行后再发布。",
        "The files changed: run the dry run again before publishing.",
    ),
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
    # sign-in and accounts
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "sign_in": ("登录", "Sign in"),
    "sign_in_title": ("请登录", "Please sign in"),
    "sign_in_sso": ("统一身份认证", "Single sign-on"),
    "sign_in_failed": (
        "登录失败：用户名或密码不正确，或该账号已暂时锁定（连续 5 次失败后锁定 15 分钟）。",
        "Sign-in failed: wrong user name or password, or the account is locked for a while "
        "(15 minutes after 5 failed attempts).",
    ),
    "display_failed": ("显示屏令牌无效或已撤销，请联系管理员。", "The display token is invalid or revoked."),
    "sign_out": ("退出登录", "Sign out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "role_viewer": ("查看", "viewer"),
    "role_analyst": ("分析", "analyst"),
    "role_steward": ("数据管理", "steward"),
    "role_admin": ("管理员", "admin"),
    "no_account_for_identity": (
        "该统一身份尚未开通本系统账号，请联系管理员开通后再试。",
        "This identity has no account here; ask an administrator to create one.",
    ),
    "login_disabled": ("未启用登录", "Sign-in not enabled"),
    "login_disabled_note": (
        "示例数据对所有人开放。创建第一个账号后，本系统即要求登录：",
        "Demo data is open to everyone. Once the first account exists, sign-in is required:",
    ),
    "first_admin_title": ("尚未创建任何账号", "No account exists yet"),
    "first_admin_note": (
        "本数据库来自真实数据，登录前不显示任何内容。请在服务器上创建第一个管理员账号（密码从标准输入读取）：",
        "This database holds real data and shows nothing before sign-in. Create the first administrator "
        "on the server (the password is read from standard input):",
    ),
    "audit_page": ("审计日志", "Audit log"),
    "audit_account": ("账号", "Account"),
    "audit_action": ("操作", "Action"),
    "audit_since": ("起始日期", "Since"),
    "audit_until": ("截止日期", "Until"),
    "audit_rows": ("条记录", "rows"),
    "audit_download": ("下载 CSV", "Download CSV"),
    "not_authorised": ("无权查看", "Not authorised"),
    "load_city_only": (
        "数据导入会改动全市共用的数据库，仅限范围为全市（50）的数据管理员。",
        "A load changes the database the whole city reads: only stewards whose scope is the city (50) may load.",
    ),
    "audit_city_only": (
        "审计日志记录全市的登录与操作，仅限范围为全市（50）的管理员查看。",
        "The audit log covers the whole city: only administrators whose scope is the city (50) may read it.",
    ),
    "page_error": (
        "页面出错，详情已记入服务器日志，请稍后重试。",
        "This page hit an error; the details are in the server log.",
    ),
    "demo_note": ("本页数据为合成的示例数据，仅供演示", "Synthetic demo data, for demonstration only"),
    "published_at": ("数据发布于", "Data published"),
    "vs_previous": ("较上期", "vs previous period"),
    "pp": ("个百分点", " pp"),
    "map": ("地图", "Map"),
    "map_metric": ("地图指标", "Map metric"),
    "metric_events": ("事件数", "Events"),
    "metric_resolution_rate": ("办结率", "Resolution rate"),
    "metric_density": ("人口密度", "Population density"),
    "metric_overdue": ("超期未办结", "Overdue open"),
    "event_sheet": ("事件单（最新待办与超期）", "Event sheet (latest open and overdue)"),
    "new_mark": ("新", "New"),
    "trend": ("事件趋势与办结率", "Events and resolution rate"),
    "ranking": ("擂台比武", "League table"),
    "no_database": ("还没有数据库。", "There is no database yet."),
    "building_demo": ("正在生成示例数据库…", "Building the demo database…"),
    "unknown_region": ("区划代码不存在：", "No such region: "),
    "out_of_scope": ("无权查看：", "Not authorised: "),
    "report_needs_analyst": (
        "无权查看：报告仅限分析及以上角色",
        "Not authorised: reports need the analyst role",
    ),
    "withheld_note": (
        "“…”：为防止由合计推算出“<5”的数值而一并隐去",
        "“…”: withheld so that no “<5” can be worked out from the totals",
    ),
    "no_events": ("此时段内没有事件。", "No events in this period."),
    "no_children": ("此区域没有下级区域可排名。", "This region has no sub-regions to rank."),
    "no_open_events": ("此时段内没有待办事件。", "No open events in this period."),
    "rank_tied": ("{rank} 并列", "{rank}="),
    "league_top": ("前 {n} 名", "Top {n}"),
    "league_bottom": ("后 {n} 名", "Bottom {n}"),
    "league_left_out": ("其余 {n} 个未列出", "{n} others not shown"),
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
    # chart downloads and the report
    "download": ("下载", "Download"),
    "download_png_wall": ("PNG 大屏（1920 像素宽）", "PNG for the wall (1920 px)"),
    "download_png_print": ("PNG 打印（300 dpi）", "PNG for print (300 dpi)"),
    "download_svg": ("SVG 矢量图", "SVG vector"),
    "download_csv": ("CSV 数据", "CSV data"),
    "download_xlsx": ("Excel 数据", "Excel data"),
    "report_title": ("基层治理报告", "Grassroots governance report"),
    "report_format": ("格式", "Format"),
    "report_language": ("报告语言", "Report language"),
    "generate_report": ("生成报告", "Generate report"),
    "download_report": ("下载报告", "Download the report"),
    "report_preview": ("预览", "Preview"),
    "report_generating": ("正在生成报告…", "Generating the report…"),
    "report_failed": ("报告生成失败：", "The report failed: "),
    "report_ready": ("报告已生成", "The report is ready"),
    "report_intro": (
        "为当前选定的区域和时段生成报告：封面、指标及环比、各领域图表、地图、下级排名和文字概要。",
        "A report for the chosen region and period: cover, indicators with changes, each domain's "
        "charts, a map, the ranking of sub-regions and a written summary.",
    ),
    "summary": ("概要", "Summary"),
    "kpi_table": ("主要指标", "Key indicators"),
    "indicator": ("指标", "Indicator"),
    "domain": ("领域", "Domain"),
    "current_period": ("本期", "This period"),
    "previous_period": ("对比期", "Compared period"),
    "change": ("变化", "Change"),
    "compared_with": ("对比时段", "Compared with"),
    "generated_at": ("生成时间", "Generated"),
    "cover": ("封面", "Cover"),
    "contents": ("目录", "Contents"),
    "report_map": ("事件分布图", "Where events happened"),
    "page_of": ("第 {page} 页 / 共 {pages} 页", "Page {page} of {pages}"),
    "basis_yoy": ("去年同期", "same dates a year earlier"),
    "basis_prev": ("上期", "previous period"),
    "basis_year": ("上年", "previous year"),
    "change_up_pp": ("，较{basis}提高 {points} 个百分点", ", up {points} pp on the {basis}"),
    "change_down_pp": ("，较{basis}下降 {points} 个百分点", ", down {points} pp on the {basis}"),
    "change_up_pct": ("，较{basis}增长 {percent}%", ", up {percent}% on the {basis}"),
    "change_down_pct": ("，较{basis}下降 {percent}%", ", down {percent}% on the {basis}"),
    "change_flat": ("，与{basis}持平", ", unchanged from the {basis}"),
    "summary_events": (
        "{name}本期（{start}至{end}）共上报事件 {total} 件，办结 {resolved} 件，办结率 {rate}{change}。",
        "{name} had {total} events reported from {start} to {end} and resolved {resolved}, a "
        "resolution rate of {rate}{change}.",
    ),
    "summary_no_events": (
        "{name}本期（{start}至{end}）没有上报事件。",
        "{name} had no events reported from {start} to {end}.",
    ),
    "summary_quality": (
        "按期办结率 {on_time}，办结时长中位数 {hours} 小时；矛盾纠纷基层化解率 {grassroots}{change}；"
        "满意率 {satisfaction}。期末超期未办结事件 {overdue} 件。",
        "On-time rate {on_time}, median time to resolve {hours} hours; disputes resolved at the "
        "grassroots {grassroots}{change}; satisfaction {satisfaction}. {overdue} events were open "
        "and overdue at the end of the period.",
    ),
    "summary_people": (
        "实有人口 {residents}人、{households}户，老年人口占比 {elderly}，流动人口占比 {floating}；"
        "房屋 {units}套，出租率 {rental}，空置率 {vacancy}。",
        "{residents} residents in {households} households, elderly share {elderly}, floating "
        "share {floating}; {units} housing units, {rental} rented and {vacancy} vacant.",
    ),
    "summary_economy": (
        "{year} 年度 {villages} 个村报送集体经济数据，集体经营性收入合计 {income}{change}；"
        "经营性收入 10 万元以上的村占比 {ge100k}。",
        "In {year}, {villages} villages reported collective accounts with operating income of "
        "{income}{change}; {ge100k} of them earned ¥100k or more.",
    ),
    "summary_no_economy": ("{year} 年度没有村集体经济数据。", "No collective-economy accounts for {year}."),
    "summary_ranking": (
        "擂台比武：{count} 个{level}中，办结率最高的是{best}；最低的是{worst}。",
        "League table: of {count} {level} units, the highest resolution rate is {best}; the lowest is "
        "{worst}.",
    ),
    "summary_rank_one": ("{name}（{rate}）", "{name}'s ({rate})"),
    "summary_rank_tied": ("{names}，并列 {rate}", "shared by {names} ({rate})"),
    "summary_rank_tied_many": (
        "{names}等 {count} 个{level}，并列 {rate}",
        "shared by {count} {level} units, among them {names} ({rate})",
    ),
    "summary_ranking_even": (
        "擂台比武：{count} 个{level}的办结率均为 {rate}。",
        "League table: all {count} {level} units have a resolution rate of {rate}.",
    ),
    "summary_unranked": (
        "另有 {count} 个{level}本期没有事件，未参与排名。",
        "{count} more {level} units had no events in the period and are not ranked.",
    ),
    # analyst pages
    "data_table": ("数据表", "Data"),
    "click_to_drill": (
        "点击图表或地图中的区域可下钻",
        "Click a region in a chart or on the map to drill into it",
    ),
    "click_chart_to_drill": (
        "点击图表中的区域或村可下钻",
        "Click a region or a village in a chart to drill into it",
    ),
    "cards_all_events": (
        "指标卡统计全部类别与来源，图表按本页筛选",
        "Cards count every category and source; the charts follow this page's filters",
    ),
    "cards_all_types": (
        "指标卡统计全部建筑类型，图表按本页筛选",
        "Cards count every building type; the charts follow this page's filters",
    ),
    "name": ("名称", "Name"),
    "sub_region": ("下级区域", "Sub-region"),
    "share": ("占比", "Share"),
    "unknown": ("未注明", "Not stated"),
    "no_children_here": ("此区域没有下级区域。", "This region has no sub-regions."),
    "age_group": ("年龄组", "Age group"),
    "gender": ("性别", "Gender"),
    "residence_type": ("人口类型", "Residence type"),
    "tag": ("关爱类别", "Group"),
    "age_pyramid": ("人口年龄结构（按性别）", "Age pyramid by gender"),
    "composition": ("人口构成（按人口类型）", "Residents by residence type"),
    "child_population_shares": (
        "下级区域老年人口与流动人口占比",
        "Elderly and floating shares by sub-region",
    ),
    "special_care_by_child": ("下级区域重点关爱人群", "Special-care groups by sub-region"),
    "suppression_note": (
        "村社区、网格中少于5人的数以“<5”显示",
        "In communities and grids, counts below 5 show as “<5”",
    ),
    "density_map": ("人口密度", "Population density"),
    "per_km2": ("人/平方公里", "per km²"),
    "no_residents": ("此区域没有人口数据。", "No residents recorded in this region."),
    "people_hidden": (
        "此处实有人口少于5人，或为防止推算而隐去，不显示人口构成。",
        "Fewer than 5 residents here, or withheld so that none can be worked out: no breakdown is shown.",
    ),
    "building_type": ("建筑类型", "Building type"),
    "usage": ("使用情况", "Usage"),
    "built_decade": ("建成年代", "Built"),
    "area_m2": ("建筑面积(平方米)", "Floor area (m²)"),
    "units_by_type": ("房屋类型与使用情况", "Units by building type and usage"),
    "housing_by_child": ("下级区域出租率与空置率", "Rental share and vacancy by sub-region"),
    "housing_age": ("房屋建成年代", "Age of the housing stock"),
    "rental_map": ("出租率", "Rental share"),
    "no_housing": ("此区域没有房屋数据。", "No housing recorded in this region."),
    "source": ("来源", "Source"),
    "breakdown": ("分组", "Breakdown"),
    "events_by_month": ("事件量（按月）", "Events by month"),
    "funnel": ("办理漏斗", "Handling funnel"),
    "stage": ("环节", "Stage"),
    "stage_reported": ("上报", "Reported"),
    "stage_accepted": ("受理", "Accepted"),
    "stage_resolved": ("办结", "Resolved"),
    "rates_by_child": ("下级区域办结率、按期办结率与基层化解率", "Rates by sub-region"),
    "rates_by_category": ("各类别办结率、按期办结率与基层化解率", "Rates by category"),
    "category_grassroots_rate": ("基层化解率", "Resolved at grassroots"),
    "hours_by_category": ("各类别办结时长", "Hours to resolve by category"),
    "median_hours": ("中位数(小时)", "Median (h)"),
    "p90_hours": ("90分位(小时)", "90th percentile (h)"),
    "resolution_chain": ("矛盾纠纷化解层级", "Where disputes were resolved"),
    "resolution_chain_of": ("化解层级", "Resolution level"),
    "resolution_level": ("化解层级", "Resolution level"),
    "level_open": ("未办结", "Open"),
    "cumulative_share": ("累计占比", "Cumulative share"),
    "within_community": ("小事不出社区", "Settled within the community"),
    "within_township": ("大事不出街镇", "Settled within the township"),
    "satisfaction": ("满意度", "Satisfaction"),
    "unrated": ("未评价", "Not rated"),
    "share_of_rated": ("占已评价", "Share of rated"),
    "overdue_list": ("超期未办结事件", "Overdue open events"),
    "overdue_total": ("共 {n} 件", "{n} in all"),
    "overdue_hours": ("超期时长", "Overdue by"),
    "due_at": ("办理时限", "Due"),
    "event_id": ("事件编号", "Event ID"),
    "event_map": ("事件分布", "Events"),
    "no_overdue": ("没有超期未办结事件。", "No overdue open events."),
    "no_disputes": ("此时段内没有此类事件。", "No events of this kind in this period."),
    "income_distribution": ("村集体经营性收入分布", "Distribution of operating income"),
    "villages_count": ("村数", "Villages"),
    "from": ("自", "From"),
    "to": ("至（不含）", "Below"),
    "income_wan": ("经营性收入(万元)", "Operating income (¥10k)"),
    "threshold_shares": ("5万元、10万元以上村占比", "Villages at ¥50k and ¥100k"),
    "income_growth": ("经营性收入与上年对比", "Operating income against the previous year"),
    "growth": ("较上年增长", "Growth on previous year"),
    "this_year": ("本年", "This year"),
    "previous_year": ("上年", "Previous year"),
    "village_ranking": ("村集体经营性收入排名", "Villages ranked by operating income"),
    "rank": ("排名", "Rank"),
    "village": ("村", "Village"),
    "township_name": ("街镇", "Township"),
    "district_name": ("区县", "District"),
    "dividends_per_shareholder": ("股东人均分红(元)", "Dividends per shareholder (¥)"),
    "dividends_by_child": ("股东人均分红", "Dividends per shareholder"),
    "dividends": ("分红(元)", "Dividends (¥)"),
    "shareholders": ("股东人数", "Shareholders"),
    "entity_types": ("经营主体类型", "Operating entities"),
    "entity_type": ("经营主体", "Entity"),
    "operating_profit": ("经营收益(元)", "Operating profit (¥)"),
    "operating_income_yuan": ("经营性收入(元)", "Operating income (¥)"),
    "previous_income_yuan": ("上年经营性收入(元)", "Previous year's operating income (¥)"),
    "no_economy": (
        "此区域在该年度没有村集体经济数据。",
        "No collective-economy accounts for this region and year.",
    ),
    # downloads: the period line of a chart's picture and sheet, and headers of the data behind it
    "download_period": ("统计时段：{start} 至 {end}", "Period: {start} to {end}"),
    "download_compared_yoy": (
        "同比 {start} 至 {end}",
        "compared with the same dates a year earlier, {start} to {end}",
    ),
    "download_compared_prev": (
        "环比 {start} 至 {end}",
        "compared with the period just before, {start} to {end}",
    ),
    "age_start": ("起始年龄", "Age from"),
    "level": ("层级", "Level"),
    "floating": ("流动人口数", "Floating residents"),
    "elderly": ("老年人口", "Elderly residents"),
    "vacant": ("空置房屋", "Vacant units"),
    "from_wan": ("经营性收入自(万元)", "Income from (¥10k)"),
    "to_wan": ("经营性收入至(万元，不含)", "Income below (¥10k)"),
    "total_income": ("总收入(元)", "Total income (¥)"),
    "previous_operating_income": ("上年经营性收入(元)", "Previous year's operating income (¥)"),
    # the browser tab: "<page> · <app name>"
    "app_name": ("一屏", "Yiping"),
}

# What each change is measured against (SPEC section 6), and each KPI's definition for the cards' help.
UI.update(
    {
        "compare": ("对比", "Compare with"),
        "compare_yoy": ("同比", "Year on year"),
        "compare_prev": ("环比", "Previous period"),
        "compare_help": (
            "同比：与上一年的相同日期对比；环比：与紧邻其前、长度相同的时段对比。集体经济均与上年对比。",
            "Year on year: the same dates one year earlier. Previous period: the period of the same length "
            "just before. The collective economy is always compared with the previous year.",
        ),
        "compared_dates_yoy": ("同比：{start} 至 {end}", "Compared with {start} – {end} (year on year)"),
        "compared_dates_prev": ("环比：{start} 至 {end}", "Compared with {start} – {end} (previous period)"),
        "compared_economy": ("集体经济对比 {year} 年", "collective economy with {year}"),
        "compared_year_only": ("与上年（{year} 年）对比", "Compared with the previous year ({year})"),
        "compared_value": ("{basis}（{start} 至 {end}）：{value}", "{basis} ({start} – {end}): {value}"),
        "compared_year_value": ("上年（{year} 年）：{value}", "Previous year ({year}): {value}"),
        "snapshot_no_change": (
            "当前快照，没有更早的快照可对比。",
            "A snapshot: there is no earlier one to compare with.",
        ),
    }
)

KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    "residents": (
        "区域内各网格的实有人口（当前快照，不随时段变化）。",
        "Residents in the grids of the region (a snapshot, not filtered by period).",
    ),
    "households": ("这些居民中不同的户数。", "Distinct households among those residents."),
    "elderly_share": (
        "截至结束日期所在年份年满 60 岁的居民占比。",
        "Share of residents aged 60 or more in the year of the end date.",
    ),
    "floating_share": (
        "居住类型为流动人口的居民占比。",
        "Share of residents whose residence type is floating.",
    ),
    "special_care": ("带有各关爱标签的居民人数。", "Residents carrying each special-care tag."),
    "units": ("区域内的房屋总数（当前快照）。", "Housing units in the region (a snapshot)."),
    "rented": ("用途为出租的房屋数。", "Units used as rentals."),
    "rental_share": ("出租房屋占房屋总数的比例。", "Rented units over all units."),
    "vacancy_rate": ("空置房屋占房屋总数的比例。", "Vacant units over all units."),
    "total": ("时段内上报、未撤销的事件数。", "Events reported in the period, not cancelled."),
    "resolved": ("其中已办结的事件数。", "Of those, the events resolved."),
    "resolution_rate": (
        "已办结事件占时段内事件总数的比例。",
        "Resolved events over all events of the period.",
    ),
    "on_time_rate": (
        "在期限内办结的事件占已办结事件的比例。",
        "Events resolved by their deadline over resolved events.",
    ),
    "median_hours_to_resolve": (
        "已办结事件从上报到办结的小时数的中位数。",
        "Median hours from report to resolution over resolved events.",
    ),
    "grassroots_rate": (
        "在网格、村社区或街镇化解的矛盾纠纷占全部矛盾纠纷的比例。",
        "Disputes resolved at grid, community or township level over all disputes.",
    ),
    "satisfaction_rate": (
        "评价为满意或基本满意的事件占有评价事件的比例。",
        "Events rated satisfied or basically satisfied over events with a rating.",
    ),
    "overdue_open": (
        "期末积压：截至结束日期已上报、未撤销、当日结束时仍未办结且已过办理期限的事件数。",
        "The backlog at the end of the period: events reported by the end date, not cancelled, "
        "still unresolved and past their deadline at the end of that day.",
    ),
    "villages": (
        "区域内报送该年度集体经济数据的村数。",
        "Villages in the region with collective-economy accounts for the year.",
    ),
    "operating_income": ("这些村的集体经营性收入合计。", "Their summed collective operating income."),
    "share_ge_50k": (
        "经营性收入 5 万元及以上的村占比。",
        "Share of villages with operating income of ¥50,000 or more.",
    ),
    "share_ge_100k": (
        "经营性收入 10 万元及以上的村占比。",
        "Share of villages with operating income of ¥100,000 or more.",
    ),
    "share_profit_ge_100k": (
        "经营收益 10 万元及以上的村占比。",
        "Share of villages with operating profit of ¥100,000 or more.",
    ),
}

# English names of enumerated values; the Chinese labels come from the contract.
ENUM_EN: dict[str, str] = {
    "district": "District",
    "county": "County",
    "street": "Sub-district",
    "town": "Town",
    "xiang": "Township",
    "community": "Community",
    "village": "Village",
    "grid": "Grid",
    "township": "Township",
    "city": "City",
    "M": "Male",
    "F": "Female",
    "registered": "Registered",
    "floating": "Floating",
    "overseas": "Overseas",
    "elderly_alone": "Elderly living alone",
    "low_income": "Low income (dibao)",
    "disabled": "Disabled",
    "veteran": "Veteran",
    "left_behind_child": "Left-behind child",
    "extreme_poverty": "Extreme poverty",
    "commercial": "Commercial",
    "self_built": "Self-built",
    "public_rental": "Public rental",
    "resettlement": "Resettlement",
    "other": "Other",
    "owner_occupied": "Owner-occupied",
    "rented": "Rented",
    "vacant": "Vacant",
    "business": "Business",
    "dispute": "Dispute",
    "safety_hazard": "Safety hazard",
    "sanitation": "Sanitation",
    "infrastructure": "Infrastructure",
    "illegal_construction": "Illegal construction",
    "public_order": "Public order",
    "livelihood": "Livelihood services",
    "traffic": "Traffic",
    "grid_worker": "Grid worker",
    "hotline": "12345 hotline",
    "iot": "IoT sensor",
    "resident_app": "Resident app",
    "pending": "Pending",
    "in_progress": "In progress",
    "resolved": "Resolved",
    "cancelled": "Cancelled",
    "satisfied": "Satisfied",
    "basically_satisfied": "Basically satisfied",
    "dissatisfied": "Dissatisfied",
    "strong_village_company": "Strong-village company",
    "cooperative": "Cooperative",
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


# ------------------------------------------------------------------ IoT devices and alarms (物联感知)
UI.update(
    {
        "iot_page": ("物联感知", "IoT sensing"),
        "alarms_today": ("今日告警", "Alarms today"),
        "alarms_today_help": (
            "统计时段最后一天（{day}）发出的告警数。",
            "Alarms raised on the last day of the period ({day}).",
        ),
        "newest_open_alarms": ("最新待处置告警", "Newest open alarms"),
        "open_alarms_total": ("时段内待处置告警共 {n} 条", "{n} open alarms raised in the period"),
        "no_open_alarms": ("时段内没有待处置告警。", "No open alarms in the period."),
        "no_alarms": ("时段内没有告警。", "No alarms in the period."),
        "no_devices": ("该区域没有物联设备。", "There are no IoT devices in this region."),
        "alarm_points": ("告警点位", "Alarm points"),
        "alarm_points_help": (
            "时段内发出告警的设备：红色仍有待处置告警，黄色均已处置；点越大告警越多。",
            "Devices that raised alarms in the period: red with alarms still open, amber all handled; "
            "the larger, the more alarms.",
        ),
        "device_map": ("设备分布", "Devices on the map"),
        "color_by": ("着色", "Colour by"),
        "device_type": ("设备类型", "Device type"),
        "device_status": ("设备状态", "Device status"),
        "devices_by_type": ("设备类型与状态", "Devices by type and status"),
        "alarms_over_time": ("告警趋势（按设备类型）", "Alarms over time by type"),
        "alarms_by_hour": ("告警时段分布（按小时）", "Alarms by hour of day"),
        "minutes_by_type": ("处置时长（按设备类型）", "Time to handle by type"),
        "median_minutes": ("中位数(分钟)", "Median (min)"),
        "p90_minutes": ("90分位(分钟)", "90th percentile (min)"),
        "minutes": ("分钟", "min"),
        "false_alarms_by_type": (
            "误报与转事件（按设备类型）",
            "False alarms and escalation to events by type",
        ),
        "noisy_devices": ("误报最多的设备", "Noisiest devices"),
        "no_false_alarms": ("时段内没有误报。", "No false alarms in the period."),
        "escalated_share": ("转事件率", "Share escalated to events"),
        "iot_by_child": ("下级区域告警处置", "Alarms by sub-region"),
        "open_alarm_list": ("待处置告警及等待时长", "Open alarms and how long they have waited"),
        "iot_cards_all_types": (
            "指标卡为全部设备类型；下方图表按所选设备类型。",
            "The cards count every device type; the charts below, the type chosen.",
        ),
        "device_id": ("设备编号", "Device ID"),
        "alarm_id": ("告警编号", "Alarm ID"),
        "raised_at": ("告警时间", "Raised"),
        "hour": ("时", "Hour"),
        "day": ("日期", "Date"),
        "verified": ("已核实告警", "Verified alarms"),
        "false_alarms": ("误报数", "False alarms"),
        "online": ("在线设备", "Devices online"),
        "summary_iot": (
            "物联感知：{devices} 台设备，在线率 {online}；本期告警 {alarms} 条，处置率 {handled}，"
            "处置时长中位数 {minutes} 分钟，误报率 {false}，待处置 {open} 条，转为事件 {escalated} 条。",
            "IoT sensing: {devices} devices, {online} online; {alarms} alarms in the period, {handled} "
            "handled, in a median of {minutes} minutes, {false} false; {open} still open, {escalated} "
            "escalated to events.",
        ),
    }
)
KPI_DEFINITIONS.update(
    {
        "devices": (
            "区域内未拆除的物联设备数（当前快照）。",
            "IoT devices in the region not retired (a snapshot).",
        ),
        "online_share": ("在线设备占未拆除设备的比例。", "Devices online over devices not retired."),
        "alarms": (
            "区域内设备在时段内发出的告警数。",
            "Alarms raised in the period by devices in the region.",
        ),
        "handled": ("其中已处置的告警数。", "Of those, the alarms handled."),
        "handled_rate": ("已处置告警占时段内告警数的比例。", "Handled alarms over all alarms of the period."),
        "median_minutes_to_handle": (
            "已处置告警从发出到处置的分钟数的中位数。",
            "Median minutes from alarm to handling over handled alarms.",
        ),
        "false_alarm_share": (
            "核实为误报的告警占有核实结果的已处置告警的比例。",
            "False alarms over handled alarms with an outcome.",
        ),
        "open_alarms": ("其中仍待处置的告警数。", "Of those, the alarms still open."),
        "escalated": ("其中已转为事件的告警数。", "Of those, the alarms that raised an event."),
    }
)
for _table in (DEVICES, ALARMS):
    for _column in _table.columns:
        for _code, _label in (_column.enum or {}).items():
            ENUM_ZH.setdefault(_code, _label)
ENUM_EN.update(
    {
        # the events' source 物联感知 is named as the page is: one English name for one Chinese label
        "iot": "IoT sensing",
        "smoke_detector": "Smoke detector",
        "door_access": "Door access",
        "bin_sensor": "Bin fill sensor",
        "parking_sensor": "Parking sensor",
        "high_throw_camera": "High-throw camera",
        "gas_detector": "Gas detector",
        "water_sensor": "Standing-water sensor",
        "online": "Online",
        "offline": "Offline",
        "retired": "Retired",
        "open": "Open",
        "handled": "Handled",
        "confirmed": "Confirmed",
        "false_alarm": "False alarm",
    }
)


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


def kpi_definition(key: str, lang: str = "zh") -> str:
    """What a KPI counts, in one sentence (SPEC section 6)."""
    zh, en = KPI_DEFINITIONS[key]
    return en if lang == "en" else zh


def place_name(name: str, lang: str = "zh") -> str:
    """A region's name as the page shows it: as recorded, except the city, whose English name is known
    (no English names of the districts and below are shipped)."""
    return CITY_NAME_EN if lang == "en" and name == CITY_NAME else name


def level_label(level: str, lang: str = "zh") -> str:
    if lang == "en":
        return {
            "city": "City",
            "district": "District",
            "township": "Township",
            "community": "Community",
            "grid": "Grid",
        }[level]
    return {"city": "市", **LEVEL_LABELS}[level]


# The region map: its layers, its legend and the units of what it colours.
UI.update(
    {
        "map_hexagons": ("网格热力（六边形）", "Grid heat (hexagons)"),
        "legend_no_data": ("无数据", "No data"),
        "legend_or_more": ("及以上", "or more"),
        "unit_events": ("件", "count"),
        "unit_rate": ("%", "%"),
        "unit_density": ("人/平方公里", "per km²"),
        "unit_alarms": ("次", "count"),
        "metric_alarms": ("告警数", "Alarms"),
        "legend_title": ("{metric}（{unit}）", "{metric} ({unit})"),
        "map_area": ("面积(平方公里)", "Area (km²)"),
    }
)
