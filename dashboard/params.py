"""The URL's parameters, checked in one place: a value is bounded or refused, never passed on raw.

Anyone can write a URL, and a link is shared as it was written: `rotate=1` would rerun the whole app
every second, a date in year 1 or 9999 overflows the period arithmetic, and a region is echoed on the
page. Each parameter has a rule here; a value the rule refuses is dropped (the default applies) or
clamped, and a message saying what was done is kept for the page:

    params.problems(lang) -> list[str]

returns the messages of the values read since it was last called, and forgets them, so a page shows
them once, on the run that read the URL. They are plain text; `params.show_problems(lang)`, called
once a run after the filters are read, draws them as warnings.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

import streamlit as st

from dashboard.text import literal

# Bounds of the numeric parameters. A rotation faster than ten seconds reruns the page before it has
# drawn; one slower than an hour is a still screen.
ROTATE_SECONDS = (10, 3600)
# Years and dates a view can ask for: beyond these, year arithmetic (the same period a year before)
# runs off the calendar, and no governance data exists.
YEARS = (2000, 2099)
EARLIEST_DATE = dt.date(YEARS[0], 1, 1)
LATEST_DATE = dt.date(YEARS[1], 12, 31)
# Any other number a URL carries.
NUMBER_RANGE = (0, 1_000_000)
# Longer values are no parameter of ours (a region code has 15 digits, a date 10 characters).
MAX_LENGTH = 64
REGION_CODE = re.compile(r"[0-9]{2,15}")
FLAG_VALUES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
CHOICES = {"lang": ("zh", "en"), "compare": ("yoy", "prev")}
NUMBER_BOUNDS = {"rotate": ROTATE_SECONDS, "year": YEARS}

_STATE_KEY = "_url_problems"

# (zh, en) per problem; `{name}` is the parameter, the other fields are checked values or bounds.
MESSAGES = {
    "too_long": (
        "链接参数 {name} 过长，已忽略。",
        "The link's parameter {name} is too long and was ignored.",
    ),
    "not_region": (
        "链接参数 region 不是区划代码（2 至 15 位数字），已忽略。",
        "The link's region is not a region code (2 to 15 digits) and was ignored.",
    ),
    "not_date": (
        "链接参数 {name} 不是 YYYY-MM-DD 格式的日期，已忽略。",
        "The link's {name} is not a date as YYYY-MM-DD and was ignored.",
    ),
    "date_clamped": (
        "链接参数 {name}={value} 超出 {low} 至 {high} 的范围，已改为 {used}。",
        "The link's {name}={value} is outside {low} to {high}; {used} is used instead.",
    ),
    "not_number": (
        "链接参数 {name} 不是整数，已忽略。",
        "The link's {name} is not a whole number and was ignored.",
    ),
    "number_out_of_range": (
        "链接参数 {name} 应在 {low} 至 {high} 之间，已忽略。",
        "The link's {name} must lie between {low} and {high}; it was ignored.",
    ),
    "not_choice": (
        "链接参数 {name} 只能是 {choices}，已忽略。",
        "The link's {name} can only be {choices}; it was ignored.",
    ),
    "not_flag": (
        "链接参数 {name} 只能是 1 或 0，已忽略。",
        "The link's {name} can only be 1 or 0; it was ignored.",
    ),
}


class Refused(ValueError):
    """A value the parameter's rule does not accept; `key` and `fields` make its message."""

    def __init__(self, key: str, **fields: object):
        super().__init__(key)
        self.key = key
        self.fields = fields


# --------------------------------------------------------------------------- the rules


def text_value(name: str, raw: object) -> str | None:
    """The stripped text, None when absent or blank; refused when longer than any parameter of ours."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    value = raw.strip()
    if len(value) > MAX_LENGTH:
        raise Refused("too_long", name=name)
    return value


def region_value(raw: object) -> str | None:
    """A region code: digits only. Whether the region exists is the query layer's question."""
    value = text_value("region", raw)
    if value is not None and not REGION_CODE.fullmatch(value):
        raise Refused("not_region", name="region")
    return value


def number_value(name: str, raw: object, low: int, high: int) -> int | None:
    """An integer within [low, high]; anything else is refused, not clamped."""
    value = text_value(name, raw)
    if value is None:
        return None
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
        raise Refused("not_number", name=name)
    number = int(value)
    if not low <= number <= high:
        raise Refused("number_out_of_range", name=name, low=low, high=high)
    return number


def date_value(name: str, raw: object, earliest: dt.date, latest: dt.date) -> tuple[dt.date | None, bool]:
    """The date, clamped into [earliest, latest]; the flag says whether it was clamped."""
    value = text_value(name, raw)
    if value is None:
        return None, False
    try:
        day = dt.date.fromisoformat(value) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) else None
    except ValueError:
        day = None
    if day is None:
        raise Refused("not_date", name=name)
    used = min(max(day, earliest), latest)
    return used, used != day


def choice_value(name: str, raw: object, options: Collection[str]) -> str | None:
    value = text_value(name, raw)
    if value is not None and value not in options:
        raise Refused("not_choice", name=name, choices=" / ".join(options))
    return value


def flag_value(name: str, raw: object) -> bool:
    value = text_value(name, raw)
    if value is None:
        return False
    if value.lower() not in FLAG_VALUES:
        raise Refused("not_flag", name=name)
    return FLAG_VALUES[value.lower()]


def message(key: str, lang: str, **fields: object) -> str:
    zh, en = MESSAGES[key]
    return (en if lang == "en" else zh).format(**fields)


# ---------------------------------------------------------------------- reading the URL


def _raw(name: str) -> object:
    return st.query_params.get(name)


def _note(parameter: str, refused: Refused | None) -> None:
    """Keep (or, for a value that passed, forget) the problem of the parameter just read."""
    state = st.session_state.setdefault(_STATE_KEY, {})
    if refused is None:
        state.pop(parameter, None)
    else:
        state[parameter] = (refused.key, refused.fields)


def read(name: str) -> str | None:
    """A parameter's value as text once its rule accepts it; None when absent or refused."""
    try:
        if name == "region":
            value = region_value(_raw(name))
        elif name in CHOICES:
            value = choice_value(name, _raw(name), CHOICES[name])
        elif name in NUMBER_BOUNDS:
            number = read_number(name)
            return None if number is None else str(number)
        elif name in ("from", "to"):
            day = read_date(name)
            return None if day is None else day.isoformat()
        else:
            value = text_value(name, _raw(name))
    except Refused as refused:
        _note(name, refused)
        return None
    _note(name, None)
    return value


def read_number(name: str) -> int | None:
    """An integer parameter within its bounds (rotate, year, or any other number)."""
    low, high = NUMBER_BOUNDS.get(name, NUMBER_RANGE)
    try:
        number = number_value(name, _raw(name), low, high)
    except Refused as refused:
        _note(name, refused)
        return None
    _note(name, None)
    return number


def read_date(name: str, earliest: dt.date = EARLIEST_DATE, latest: dt.date = LATEST_DATE) -> dt.date | None:
    """A date parameter, clamped into [earliest, latest] with a message saying so."""
    try:
        day, clamped = date_value(name, _raw(name), earliest, latest)
    except Refused as refused:
        _note(name, refused)
        return None
    if clamped:
        _note(name, Refused("date_clamped", name=name, value=_raw(name), low=earliest, high=latest, used=day))
    else:
        _note(name, None)
    return day


def read_flag(name: str) -> bool:
    try:
        flag = flag_value(name, _raw(name))
    except Refused as refused:
        _note(name, refused)
        return False
    _note(name, None)
    return flag


def problems(lang: str = "zh") -> list[str]:
    """What was refused or changed in the URL since the last call, as plain text; then forgotten."""
    found = st.session_state.pop(_STATE_KEY, {})
    return [message(key, lang, **fields) for key, fields in found.values()]


def show_problems(lang: str = "zh") -> None:
    """A warning per refused or changed URL value, shown as text (see `problems`)."""
    for problem in problems(lang):
        st.warning(literal(problem), icon=":material/link_off:")
