"""Numbers the way Chinese officials read them: 13.5万人, 1.2亿元, 96.2%, +1.3个百分点."""

from __future__ import annotations

import math

import pandas as pd

YI = 100_000_000
WAN = 10_000


def _trim(number: float, digits: int) -> str:
    text = f"{number:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def count(value: float | None, lang: str = "zh", unit: str = "") -> str:
    """A count: 13.5万 / 1.2亿 in Chinese, 135k / 1.2M in English; small counts in full."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    value = float(value)
    sign = "-" if value < 0 else ""
    size = abs(value)
    if lang == "en":
        if size >= 1e9:
            text = _trim(size / 1e9, 2) + "B"
        elif size >= 1e6:
            text = _trim(size / 1e6, 2) + "M"
        elif size >= 1e5:
            text = _trim(size / 1e3, 1) + "k"
        else:
            text = f"{size:,.0f}"
        return sign + text + (f" {unit}" if unit else "")
    if size >= YI:
        text = _trim(size / YI, 2) + "亿"
    elif size >= WAN:
        text = _trim(size / WAN, 1) + "万"
    else:
        text = f"{size:,.0f}"
    return sign + text + unit


def money(yuan: float | None, lang: str = "zh") -> str:
    """Yuan as 元/万元/亿元 (Chinese) or ¥ with k/M (English)."""
    if yuan is None:
        return "—"
    if lang == "en":
        return "¥" + count(yuan, "en")
    return count(yuan, "zh", "元")


def percent(rate: float | None, digits: int = 1) -> str:
    if rate is None or rate is pd.NA or (isinstance(rate, float) and math.isnan(rate)):
        return "—"
    return f"{rate * 100:.{digits}f}%"


def hours(value: float | None, lang: str = "zh") -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" + ("小时" if lang == "zh" else " h")


def minutes(value: float | None, lang: str = "zh") -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" + ("分钟" if lang == "zh" else " min")


def change_in_points(current: float | None, previous: float | None, lang: str = "zh") -> str | None:
    """The change of a rate, in percentage points: '+1.3个百分点' / '+1.3 pp'."""
    if current is None or previous is None:
        return None
    points = (current - previous) * 100
    unit = "个百分点" if lang == "zh" else " pp"
    return f"{points:+.1f}{unit}"


def change_relative(current: float | None, previous: float | None) -> str | None:
    """The change of a count or amount, relative: '+5.2%'; from nothing, the absolute change: '+26'."""
    if current is None or previous is None:
        return None
    if previous == 0:
        return f"{current - previous:+,.0f}"
    return f"{(current - previous) / previous * 100:+.1f}%"
