"""The label table: one English name for each thing, in every place the dashboard names it."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from dashboard.labels import ENUM_EN, ENUM_ZH, KPI_LABELS, UI, kpi_label, place_name, t
from pipelines.contract import CITY_NAME

# Every (Chinese, English) pair the dashboard shows, by where it comes from.
PAIRS = {
    **{f"KPI_LABELS[{key}]": pair for key, pair in KPI_LABELS.items()},
    **{f"UI[{key}]": pair for key, pair in UI.items()},
    **{f"ENUM[{code}]": (ENUM_ZH[code], en) for code, en in ENUM_EN.items() if code in ENUM_ZH},
}
# A Chinese term, the English word every label containing it uses, and the words it must never become.
GLOSSARY = (
    ("事件", "event", ("incident", "case")),
    ("超期", "overdue", ("late", "delayed")),
    ("满意", "satisf", ()),
    ("擂台比武", "league table", ()),
)


def test_one_chinese_label_has_one_english_name():
    names = defaultdict(dict)
    for where, (zh, en) in PAIRS.items():
        names[zh][where] = en
    conflicts = {zh: found for zh, found in names.items() if len({en.lower() for en in found.values()}) > 1}
    assert conflicts == {}


@pytest.mark.parametrize(("zh_term", "en_word", "never"), GLOSSARY, ids=[g[1] for g in GLOSSARY])
def test_a_concept_keeps_its_english_word(zh_term, en_word, never):
    missing = {where: en for where, (zh, en) in PAIRS.items() if zh_term in zh and en_word not in en.lower()}
    assert missing == {}
    other = {
        where: en
        for where, (_, en) in PAIRS.items()
        if any(re.search(rf"\b{word}s?\b", en, re.IGNORECASE) for word in never)
    }
    assert other == {}


def test_the_events_page_and_its_cards_say_the_same():
    assert t("events_page", "en") == kpi_label("total", "en") == t("metric_events", "en") == "Events"


def test_the_city_has_an_english_name_and_other_places_keep_theirs():
    assert place_name(CITY_NAME, "en") == "Chongqing"
    assert place_name(CITY_NAME, "zh") == CITY_NAME
    assert place_name("荣昌区", "en") == "荣昌区"
