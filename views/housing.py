"""房屋: the housing stock: building types and usage, rental share and vacancy, its age, where it is rented."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, maps, panels
from dashboard.data import ask
from dashboard.labels import kpi_label, t
from pipelines.contract import HOUSING

CARDS = (
    ("housing", "units", "count", 0),
    ("housing", "rented", "count", 0),
    ("housing", "rental_share", "rate", 0),
    ("housing", "vacancy_rate", "rate", -1),
)
MAP_HEIGHT = 520

filters, code, region = panels.page_start("housing_page")
lang, db, principal = filters.lang, filters.db, filters.principal
building_type = panels.enum_choice(
    "building_type", "building_type", HOUSING.column("building_type").enum, lang
)
current, _ = panels.kpi_row(filters, code, CARDS)
if building_type:
    st.caption(t("cards_all_types", lang))
if not current["housing"]["units"]:
    st.info(t("no_housing", lang))
    st.stop()

left, right = st.columns(2, gap="medium")
with left:
    st.subheader(t("units_by_type", lang))
    mix = ask(principal, "housing_mix", db, code, building_type)
    panels.chart(
        charts.stacked_bars(
            mix,
            "building_type",
            "usage",
            "units",
            lang,
            enum_x=True,
            height=400,
            empty_message=t("no_housing", lang),
            y_title=kpi_label("units", lang),
        ),
        charts.data_table(
            mix, {"building_type": "enum", "usage": "enum", "units": "count", "area_m2": "number"}, lang
        ),
        "housing_mix",
        lang,
        title=t("units_by_type", lang),
    )
with right:
    st.subheader(t("housing_age", lang))
    age = ask(principal, "housing_age", db, code, building_type)
    decades = {
        d: (f"{int(d)}s" if lang == "en" else f"{int(d)}年代") if pd.notna(d) else t("unknown", lang)
        for d in age["built_decade"].unique()
    }
    labelled_age = age.assign(built_decade=age["built_decade"].map(decades))
    panels.chart(
        charts.stacked_bars(
            labelled_age,
            "built_decade",
            "building_type",
            "units",
            lang,
            height=400,
            empty_message=t("no_housing", lang),
            y_title=kpi_label("units", lang),
        ),
        charts.data_table(
            labelled_age, {"built_decade": "text", "building_type": "enum", "units": "count"}, lang
        ),
        "housing_age",
        lang,
        title=t("housing_age", lang),
    )

by_child = ask(principal, "housing_by_child", db, code, building_type)
shares, map_column = st.columns([1, 1.1], gap="medium")
with shares:
    st.subheader(t("housing_by_child", lang))
    if by_child.empty:
        st.info(t("no_children_here", lang))
    else:
        st.caption(t("click_to_drill", lang))
        panels.chart(
            charts.rate_dots(
                by_child, ["rental_share", "vacancy_rate"], lang, empty_message=t("no_housing", lang)
            ),
            charts.data_table(
                by_child,
                {
                    "name": "text",
                    "units": "count",
                    "rented": "count",
                    "rental_share": "rate",
                    "vacancy_rate": "rate",
                },
                lang,
            ),
            "housing_shares",
            lang,
            title=t("housing_by_child", lang),
            drill_from=code,
        )
with map_column:
    st.subheader(t("rental_map", lang))
    cells = ask(principal, "housing_cells", db, code, building_type)
    people = ask(principal, "population_cells", db, code).assign(events=0, overdue=0)
    owners = ask(principal, "cell_children", db, code)
    cells = (
        cells.merge(people[["cell", "events", "residents", "overdue"]], on="cell", how="left")
        .merge(owners, on="cell", how="left")
        .assign(rental_percent=lambda f: f["rental_share"] * 100)
    )
    cells["tip"] = charts.map_tips(
        cells,
        [
            (kpi_label("rental_share", lang), "rental_share", "rate"),
            (kpi_label("vacancy_rate", lang), "vacancy_rate", "rate"),
            (kpi_label("units", lang), "units", "count"),
        ],
        lang,
    )
    labels = ask(principal, "child_positions", db, code)
    labels = labels.assign(tip=charts.map_tips(labels, [], lang))
    outlines = ask(principal, "child_outlines", db, code)
    deck = maps.region_map(
        cells, "rental_percent", labels, outlines, height=MAP_HEIGHT, width=760, tooltip_html="{tip}"
    )
    map_table = charts.data_table(
        cells.sort_values("rental_share", ascending=False),
        {
            "name": ("text", t("sub_region", lang)),
            "units": "count",
            "rented": "count",
            "rental_share": "rate",
            "vacancy_rate": "rate",
        },
        lang,
    )
    panels.region_map(deck, map_table, "housing_map", lang, code, MAP_HEIGHT)
