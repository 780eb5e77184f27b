"""Staging: type, normalise and check every input row, as SQL written from the contract.

For each table, `checked_<table>` holds one row per input record with its typed columns and a
list of problems (column, value, reason). Rows without problems are valid; a key repeated among
valid rows keeps its last row. The column rules come from the contract; the rules that span
columns or tables are listed here, each with the reason a data steward reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.contract import (
    CITY_CODE,
    FIRST_YEAR,
    KINDS_BY_LEVEL,
    LEVELS,
    PARENT_LEVEL,
    Column,
    Table,
)

TYPE_REASONS = {
    "code": "代码应只含数字",
    "int": "应为整数",
    "float": "应为数字",
    "timestamp": "无法识别的日期时间（可用 2024-01-05 08:30、2024/1/5 8:30 或 2024年1月5日 08:30）",
    "year": "应为年份（如 1985）或日期",
}

MACROS = r"""
create or replace temp macro yp_num(s) as try_cast(replace(s, ',', '') as double);
create or replace temp macro yp_int(s) as
    case when yp_num(s) = floor(yp_num(s)) and abs(yp_num(s)) < 9e15 then yp_num(s)::bigint end;
create or replace temp macro yp_ts_text(s) as
    trim(regexp_replace(
        replace(replace(replace(replace(replace(replace(s, '年', '-'), '月', '-'), '日', ' '), '/', '-'), 'T', ' '),
            '时', ':'),
        '\s+', ' ', 'g'));
create or replace temp macro yp_ts(s) as coalesce(
    try_strptime(
        regexp_replace(yp_ts_text(s), '[:分]$', ''),
        ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d', '%Y-%m-%d %H:%M:%S.%f', '%Y%m%d']
    ),
    -- an Excel serial day number (days since 1899-12-30), as some exports write them
    case when yp_num(s) between 20000 and 80000
         then timestamp '1899-12-30' + to_microseconds((yp_num(s) * 86400e6)::bigint) end
);
create or replace temp macro yp_year(s) as coalesce(
    case when regexp_full_match(trim(s), '\d{4}(\.0+)?年?') then yp_int(replace(s, '年', '')) end,
    year(yp_ts(s))
);
"""


@dataclass(frozen=True)
class Rule:
    """A rule across columns or tables: `fails` is SQL on the typed row, true when broken."""

    column: str
    fails: str
    reason: str  # SQL expression giving the reason text


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def enum_case(column: Column, value_sql: str) -> str:
    """SQL mapping a code (any case) or its Chinese label to the code; NULL when neither."""
    assert column.enum is not None
    arms = []
    for code, label in column.enum.items():
        arms.append(f"when {_lit(code.lower())} then {_lit(code)}")
        arms.append(f"when {_lit(label)} then {_lit(code)}")
    return f"case lower({value_sql}) {' '.join(arms)} end"


def enum_reason(column: Column) -> str:
    allowed = "、".join(f"{code} {label}" for code, label in column.enum.items())
    return f"取值不在允许范围内（允许：{allowed}）"


def tag_items(raw: str) -> str:
    """SQL splitting a tags text at any of its separators into the non-empty items."""
    return f"list_filter(regexp_split_to_array({raw}, '[;,、，；]'), lambda x: trim(x) <> '')"


def typed_expression(column: Column, raw: str) -> str:
    """The SQL giving the typed value of a trimmed raw text value."""
    kind = column.type
    if kind == "text":
        return raw
    if kind == "code":
        # A code saved as a number by a spreadsheet or Parquet writer reads "500101.0".
        digits = f"regexp_replace({raw}, '\\.0+$', '')"
        return f"case when regexp_full_match({digits}, '[0-9]+') then {digits} end"
    if kind == "enum":
        return enum_case(column, raw)
    if kind == "int":
        return f"yp_int({raw})"
    if kind == "float":
        return f"yp_num({raw})"
    if kind == "timestamp":
        return f"yp_ts({raw})"
    if kind == "year":
        return f"yp_year({raw})"
    if kind == "tags":
        element = enum_case(column, "trim(x)")
        return f"list_sort(list_distinct(list_transform({tag_items(raw)}, lambda x: {element})))"
    raise ValueError(f"unknown column type {kind}")


def column_problems(column: Column, this_year: int) -> list[Rule]:
    """The rules a single column carries in the contract."""
    raw = f"r_{column.name}"
    typed = column.name
    rules: list[Rule] = []
    if column.required:
        rules.append(Rule(column.name, f"{raw} is null", _lit("必填项为空")))
    if column.type == "tags":
        rules.append(
            Rule(
                column.name,
                # list_distinct drops NULLs, so an unknown tag is found in the raw items, not the typed list
                f"{raw} is not null and array_length(list_filter({tag_items(raw)}, "
                f"lambda x: ({enum_case(column, 'trim(x)')}) is null)) > 0",
                _lit(
                    "含有无法识别的标签（允许："
                    + "、".join(f"{c} {v}" for c, v in column.enum.items())
                    + "）"
                ),
            )
        )
    elif column.type != "text":
        reason = enum_reason(column) if column.type == "enum" else TYPE_REASONS[column.type]
        rules.append(Rule(column.name, f"{raw} is not null and {typed} is null", _lit(reason)))
    upper = column.max
    if column.type == "year" or column.not_in_future:
        upper = this_year if upper is None else min(upper, this_year)
    if column.type == "timestamp":
        rules.append(
            Rule(
                column.name,
                f"not ({typed} >= timestamp '{FIRST_YEAR}-01-01' and {typed} < timestamp '{this_year + 2}-01-01')",
                _lit(f"应在 {FIRST_YEAR} 年至 {this_year + 1} 年之间"),
            )
        )
    if column.min is not None:
        op, word = (">", "大于") if column.min_exclusive else (">=", "不小于")
        rules.append(
            Rule(column.name, f"not ({typed} {op} {column.min:g})", _lit(f"应{word} {column.min:g}"))
        )
    if upper is not None:
        rules.append(Rule(column.name, f"not ({typed} <= {upper:g})", _lit(f"应不大于 {upper:g}")))
    return rules


def table_rules(table: Table) -> list[Rule]:
    """Rules that span columns of one row, or refer to the regions already loaded."""
    grid_exists = Rule(
        "grid_code",
        "grid_code is not null and grid_code not in (select code from stg_regions where level = 'grid')",
        "'网格代码 ' || grid_code || ' 不是已导入的网格'",
    )
    if table.name == "regions":
        length_case = " ".join(f"when {_lit(level)} then {length}" for level, length in LEVELS.items())
        parent_len = " ".join(
            f"when {_lit(level)} then {LEVELS[parent]}" for level, parent in PARENT_LEVEL.items() if parent
        )
        kinds = " or ".join(
            f"(level = {_lit(level)} and kind in ({', '.join(_lit(k) for k in kinds)}))"
            for level, kinds in KINDS_BY_LEVEL.items()
        )
        return [
            Rule(
                "code",
                f"code is not null and level is not null and length(code) <> case level {length_case} end",
                f"'代码长度应为 ' || case level {length_case} end || ' 位（层级 ' || level || '）'",
            ),
            Rule(
                "parent_code",
                "level <> 'district' and r_parent_code is null",
                _lit("街镇、村社区和网格必须填写上级代码"),
            ),
            Rule(
                "parent_code",
                f"level = 'district' and parent_code is not null and parent_code <> {_lit(CITY_CODE)}",
                _lit(f"区县的上级代码应为空或 {CITY_CODE}"),
            ),
            Rule(
                "parent_code",
                f"level <> 'district' and parent_code is not null "
                f"and length(parent_code) <> case level {parent_len} end",
                _lit("上级代码应为上一层级的区划代码"),
            ),
            Rule(
                "parent_code",
                "code is not null and parent_code is not null and not starts_with(code, parent_code)",
                "'区划代码 ' || code || ' 应以上级代码 ' || parent_code || ' 开头'",
            ),
            Rule(
                "kind",
                f"kind is not null and level is not null and not ({kinds})",
                "'类型 ' || kind || ' 不属于层级 ' || level",
            ),
        ]
    if table.name == "residents":
        return [
            Rule(
                "resident_id",
                "r_resident_id is null and r_id_number is null",
                _lit("人员编号和身份证号都为空，无法识别此人"),
            ),
            grid_exists,
        ]
    if table.name == "housing":
        return [grid_exists]
    if table.name == "events":
        return [
            grid_exists,
            Rule("accepted_at", "accepted_at < reported_at", _lit("受理时间早于上报时间")),
            Rule(
                "resolved_at",
                "status = 'resolved' and r_resolved_at is null",
                _lit("状态为已办结时必须填写办结时间"),
            ),
            Rule(
                "resolved_at",
                "status <> 'resolved' and r_resolved_at is not null",
                _lit("未办结的事件不应有办结时间"),
            ),
            Rule("resolved_at", "resolved_at < reported_at", _lit("办结时间早于上报时间")),
            Rule(
                "resolution_level",
                "status = 'resolved' and r_resolution_level is null",
                _lit("状态为已办结时必须填写化解层级"),
            ),
        ]
    if table.name == "collective_economy":
        return [
            Rule(
                "village_code",
                "village_code is not null and village_code not in "
                "(select code from stg_regions where level = 'community')",
                "'村代码 ' || village_code || ' 不是已导入的村社区'",
            ),
            Rule("total_income", "total_income < operating_income", _lit("总收入小于经营性收入")),
        ]
    if table.name == "devices":
        return [grid_exists]
    if table.name == "alarms":
        return [
            Rule(
                "device_id",
                "device_id is not null and device_id not in (select device_id from stg_devices)",
                "'设备编号 ' || device_id || ' 不是已导入的设备'",
            ),
            Rule(
                "handled_at",
                "status = 'handled' and r_handled_at is null",
                _lit("处置状态为已处置时必须填写处置时间"),
            ),
            Rule(
                "handled_at",
                "status <> 'handled' and r_handled_at is not null",
                _lit("待处置的告警不应有处置时间"),
            ),
            Rule("handled_at", "handled_at < raised_at", _lit("处置时间早于告警时间")),
            Rule(
                "outcome",
                "status <> 'handled' and r_outcome is not null",
                _lit("待处置的告警不应有核实结果"),
            ),
        ]
    return []


def checked_sql(
    table: Table, raw_view: str, this_year: int, salt_param: str = "$salt", carry: tuple[str, ...] = ()
) -> str:
    """SQL for `checked_<table>`: typed columns, the problems of each row, and its line.

    `carry` names more columns of the raw view passed through as they are (a file's name, when a
    table is read from several files)."""
    stored = [c for c in table.columns if not c.personal]
    trimmed = ", ".join(f"nullif(trim({c.name}), '') as r_{c.name}" for c in table.columns_read)
    typed = []
    for c in stored:
        expr = typed_expression(c, f"r_{c.name}")
        if table.name == "residents" and c.name == "resident_id":
            # The id number never leaves this expression: only its salted hash is kept.
            expr = f"coalesce(r_resident_id, 'h' || substr(sha256({salt_param} || r_id_number), 1, 24))"
        typed.append(f"{expr} as {c.name}")
    rules = [rule for c in stored for rule in column_problems(c, this_year)] + table_rules(table)
    problems = ", ".join(
        f"case when coalesce({rule.fails}, false) then struct_pack("
        f"column_name := {_lit(rule.column)}, value := {_value_sql(table, rule.column)}, reason := {rule.reason}) end"
        for rule in rules
    )
    raw_names = ", ".join(f"r_{c.name}" for c in table.columns_read)
    return f"""
with raw as (
    select _line, {"".join(f"{name}, " for name in carry)}{trimmed}
    from {raw_view}
),
typed as (
    select *, {", ".join(typed)}
    from raw
),
-- the rules' outcomes, one per rule, before the broken ones are kept: a rule may hold a subquery,
-- which an engine may not allow inside list_filter's lambda
judged as (
    select *, [{problems}] as outcomes
    from typed
)
select * exclude ({raw_names}, outcomes),
    list_filter(outcomes, lambda p: p is not null) as problems
from judged
"""


def _value_sql(table: Table, column: str) -> str:
    """The offending value as written in the report: personal data never appears in the clear."""
    if table.column(column).personal:
        return "'***'"
    return f"r_{column}"
