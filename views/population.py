"""人口: who lives in the region: age and gender, residence types, elderly and floating shares, special care."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, maps, panels
from dashboard import format as fmt
from dashboard.data import ask
from dashboard.labels import enum_label, kpi_label, t

CARDS = (
    ("population", "residents", "count", 0),
    ("population", "households", "count", 0),
    ("population", "elderly_share", "rate", 0),
    ("population", "floating_share", "rate", 0),
)
MAP_HEIGHT = 520

filters, code, region = panels.page_start("population_page")
lang, db, principal = filters.lang, filters.db, filters.principal
current, _ = panels.kpi_row(filters, code, CARDS)

# Counts about people come through the gate with the small ones hidden ("<5" in communities and grids).
care = ask(principal, "special_care", db, code)
st.markdown(f"**{kpi_label('special_care', lang)}**")
for column, row in zip(st.columns(len(care), gap="small"), care.itertuples(), strict=True):
    column.metric(
        enum_label(row.tag, lang),
        row.residents_shown if pd.isna(row.residents) else fmt.count(row.residents, lang),
    )
panels.hidden_note(lang, care)

if current["population"]["residents"] is None:  # hidden (SPEC section 7): so is every breakdown
    st.info(t("people_hidden", lang))
    st.stop()
if not current["population"]["residents"]:
    st.info(t("no_residents", lang))
    st.stop()

left, middle, right = st.columns([1.05, 0.8, 1.25], gap="medium")
with left:
    st.subheader(t("age_pyramid", lang))
    pyramid = ask(principal, "age_pyramid", db, code, filters.end)
    panels.chart(
        charts.age_pyramid_chart(panels.drawable(pyramid, "residents"), lang, height=MAP_HEIGHT - 40),
        panels.table_of(pyramid, {"age_group": "text", "gender": "enum", "residents": "count"}, lang),
        "population_pyramid",
        lang,
        title=t("age_pyramid", lang),
    )
with middle:
    st.subheader(t("composition", lang))
    composition = ask(principal, "population_composition", db, code)
    panels.chart(
        charts.share_donut(
            panels.drawable(composition, "residents"),
            "residence_type",
            "residents",
            lang,
            height=MAP_HEIGHT - 40,
            empty_message=t("no_residents", lang),
        ),
        panels.table_of(composition, {"residence_type": "enum", "residents": "count", "share": "rate"}, lang),
        "population_composition",
        lang,
        title=t("composition", lang),
    )
with right:
    st.subheader(t("density_map", lang))
    # the map builder also takes event columns; this map has none, so the period never redraws it
    cells = ask(principal, "population_cells", db, code).assign(events=0, overdue=0)
    owners = ask(principal, "cell_children", db, code)
    cells = cells.merge(owners, on="cell", how="left")
    cells["tip"] = charts.map_tips(
        cells,
        [
            (f"{t('density_map', lang)} ({t('per_km2', lang)})", "density", "number"),
            (kpi_label("residents", lang), "residents", "count"),
        ],
        lang,
    )
    labels = ask(principal, "child_positions", db, code)
    labels = labels.assign(tip=charts.map_tips(labels, [], lang))
    outlines = ask(principal, "child_outlines", db, code)
    deck = maps.region_map(
        cells, "density", labels, outlines, height=MAP_HEIGHT, width=620, tooltip_html="{tip}"
    )
    map_table = panels.table_of(
        cells.sort_values("density", ascending=False),
        {
            "name": ("text", t("sub_region", lang)),
            "residents": "count",
            "density": ("number", f"{t('density_map', lang)} ({t('per_km2', lang)})"),
        },
        lang,
    )
    panels.region_map(deck, map_table, "population_map", lang, code, MAP_HEIGHT)

by_child = ask(principal, "population_by_child", db, code, filters.end)
if by_child.empty:
    st.info(t("no_children_here", lang))
else:
    st.caption(t("click_to_drill", lang))
    shares, care_column = st.columns([1, 1.15], gap="medium")
    with shares:
        st.subheader(t("child_population_shares", lang))
        panels.chart(
            charts.rate_dots(
                by_child, ["elderly_share", "floating_share"], lang, empty_message=t("no_residents", lang)
            ),
            panels.table_of(
                by_child,
                {
                    "name": "text",
                    "residents": "count",
                    "households": "count",
                    "elderly_share": "rate",
                    "floating_share": "rate",
                },
                lang,
            ),
            "population_shares",
            lang,
            title=t("child_population_shares", lang),
            drill_from=code,
        )
    with care_column:
        st.subheader(t("special_care_by_child", lang))
        care_by_child = ask(principal, "special_care_by_child", db, code)
        wide = care_by_child.pivot(index=["code", "name"], columns="tag", values="residents_shown")
        wide = wide.reindex(columns=list(dict.fromkeys(care_by_child["tag"]))).reset_index()
        table = charts.data_table(wide, {"name": ("text", t("sub_region", lang))}, lang)
        for tag in wide.columns[2:]:
            table[enum_label(tag, lang)] = wide[tag].to_numpy()
        panels.chart(
            charts.special_care_heatmap(care_by_child, lang),
            table,
            "population_care",
            lang,
            title=t("special_care_by_child", lang),
        )
        panels.hidden_note(lang, care_by_child)
panels.hidden_note(lang, pyramid, composition, cells, by_child)
