"""集体经济: village collective economy: how much villages earn, against the 5万 and 10万 lines and the year
before, who leads, what shareholders receive and which entities run it."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, panels
from dashboard.data import ask
from dashboard.labels import kpi_label, t

CARDS = (
    ("collective_economy", "villages", "count", 0),
    ("collective_economy", "operating_income", "money", 1),
    ("collective_economy", "share_ge_50k", "rate", 1),
    ("collective_economy", "share_ge_100k", "rate", 1),
    ("collective_economy", "share_profit_ge_100k", "rate", 1),
)
CHART_HEIGHT = 400
RANKED = 20

filters, code, region = panels.page_start("economy_page")
lang, db, principal, year = filters.lang, filters.db, filters.principal, filters.year
current, _ = panels.kpi_row(filters, code, CARDS)
villages = ask(principal, "economy_villages", db, code, year)
if villages.empty:
    st.info(f"{t('no_economy', lang)}（{year}）" if lang == "zh" else f"{t('no_economy', lang)} ({year})")
    st.stop()

village_columns = {
    "rank": "count",
    "name": ("text", t("village", lang)),
    "township_name": "text",
    "district_name": "text",
    "entity_type": "enum",
    "operating_income": ("money", t("operating_income_yuan", lang)),
    "previous_operating_income": ("money", t("previous_income_yuan", lang)),
    "growth": "rate",
    "operating_profit": "money",
    "dividends": "money",
    "shareholders": "count",
    "dividends_per_shareholder": "money",
}
by_child = ask(principal, "economy_by_child", db, code, year)
child_columns = {
    "name": "text",
    "villages": "count",
    "operating_income": ("money", t("operating_income_yuan", lang)),
    "previous_operating_income": ("money", t("previous_income_yuan", lang)),
    "growth": "rate",
    "share_ge_50k": "rate",
    "share_ge_100k": "rate",
    "share_profit_ge_100k": "rate",
    "dividends": "money",
    "shareholders": "count",
    "dividends_per_shareholder": "money",
}
drill = code if len(code) <= 6 else None  # below a district the groups are townships, not children

distribution, entities, thresholds = st.columns([1.15, 0.8, 1.05], gap="medium")
with distribution:
    st.subheader(t("income_distribution", lang))
    bins = charts.income_bins(villages)
    wan = "万元" if lang == "zh" else "¥10k"
    panels.chart(
        charts.income_histogram(bins, lang, height=CHART_HEIGHT),
        charts.data_table(
            bins,
            {
                "from_wan": ("number", f"{t('from', lang)} ({wan})"),
                "to_wan": ("number", f"{t('to', lang)} ({wan})"),
                "villages": ("count", t("villages_count", lang)),
            },
            lang,
        ),
        "economy_distribution",
        lang,
        title=t("income_distribution", lang),
    )
with entities:
    st.subheader(t("entity_types", lang))
    kinds = ask(principal, "economy_entities", db, code, year)
    panels.chart(
        charts.share_donut(
            kinds, "entity_type", "villages", lang, height=CHART_HEIGHT, empty_message=t("no_economy", lang)
        ),
        charts.data_table(
            kinds,
            {
                "entity_type": "enum",
                "villages": ("count", t("villages_count", lang)),
                "operating_income": ("money", t("operating_income_yuan", lang)),
            },
            lang,
        ),
        "economy_entities",
        lang,
        title=t("entity_types", lang),
    )
with thresholds:
    st.subheader(t("threshold_shares", lang))
    panels.chart(
        charts.rate_dots(
            by_child,
            ["share_ge_50k", "share_ge_100k"],
            lang,
            empty_message=t("no_economy", lang),
            height=max(CHART_HEIGHT, 60 + 26 * len(by_child)),
        ),
        charts.data_table(by_child, child_columns, lang),
        "economy_thresholds",
        lang,
        title=t("threshold_shares", lang),
        drill_from=drill,
    )

if drill:
    st.caption(t("click_chart_to_drill", lang))
growth, dividends = st.columns(2, gap="medium")
with growth:
    growth_title = (
        f"{t('income_growth', lang)}（{year - 1} → {year}）"
        if lang == "zh"
        else f"{t('income_growth', lang)} ({year - 1} → {year})"
    )
    st.subheader(growth_title)
    panels.chart(
        charts.income_growth_chart(by_child, lang),
        charts.data_table(by_child, child_columns, lang),
        "economy_growth",
        lang,
        title=growth_title,
        drill_from=drill,
    )
with dividends:
    st.subheader(t("dividends_by_child", lang))
    panels.chart(
        charts.value_bars(
            by_child, "dividends_per_shareholder", lang, money=True, empty_message=t("no_economy", lang)
        ),
        charts.data_table(
            by_child,
            {
                "name": "text",
                "dividends": "money",
                "shareholders": "count",
                "dividends_per_shareholder": "money",
            },
            lang,
        ),
        "economy_dividends",
        lang,
        title=t("dividends_by_child", lang),
        drill_from=drill,
    )

ranking_title = f"{t('village_ranking', lang)} · {kpi_label('operating_income', lang)}"
st.subheader(ranking_title)
panels.chart(
    charts.village_ranking_chart(villages, lang, top=RANKED),
    charts.data_table(villages, village_columns, lang),
    "economy_ranking",
    lang,
    title=ranking_title,
    drill_from=code,
)
