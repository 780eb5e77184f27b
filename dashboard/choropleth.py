"""The region map every page shares: the shown region's children by their outlines, coloured by a
metric, with a legend saying what the colours mean, hover figures, and a click that drills in.

`areas` asks the gate for what the map needs; `show` draws it. The deck itself is built by
`maps.choropleth_map` (no Streamlit there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

from dashboard import charts, maps, panels
from dashboard import format as fmt
from dashboard.access import Principal
from dashboard.data import ask
from dashboard.filters import drill_to
from dashboard.labels import kpi_label, t

# The map's zoom and full-screen buttons: on the wall nobody can click them.
WALL_MAP_STYLE = '<style>[data-testid="stDeckGlJsonChart"] button { display: none !important; }</style>'
# The map's type on the wall is larger: it is read from across the room.
FONT_PX = {"desk": 14, "wall": 18}


def areas(
    principal: Principal, db: str, code: str, start, end, lang: str, alarms: bool = False
) -> pd.DataFrame:
    """The children of `code` with their outline, where their name goes, every map metric of the
    period (with `alarms`, the IoT alarms raised too) and their hover text; residents as the gate lets
    them through (a hidden count is NaN)."""
    shapes = ask(principal, "child_outlines", db, code)
    if shapes.empty:
        return shapes
    where = ask(principal, "child_positions", db, code)
    measures = ask(principal, "child_map_measures", db, code, start, end)
    people = ask(principal, "population_by_child", db, code, end)
    frame = (
        shapes.drop(columns=["label_lon", "label_lat"])
        .merge(where.drop(columns=["name", "area_km2"]), on="code", how="left")
        .merge(measures.drop(columns=["name"]), on="code", how="left")
    )
    residents = (
        people[["code", "residents"]] if "residents" in people.columns else people.assign(residents=np.nan)
    )
    frame = frame.merge(residents[["code", "residents"]], on="code", how="left")
    if alarms:
        raised = ask(principal, "iot_by_child", db, code, start, end)[["code", "alarms"]]
        frame = frame.merge(raised, on="code", how="left")
        frame["alarms"] = frame["alarms"].fillna(0).astype(int)
    frame["residents"] = frame["residents"].astype(float)
    frame["density"] = frame["residents"] / frame["area_km2"].where(frame["area_km2"] > 0)
    # the larger places keep their names first when not all fit
    frame["importance"] = frame["residents"].fillna(0) + frame["area_km2"].fillna(0) * 1e-3
    shown = (
        frame.merge(people[["code", "residents_shown"]], on="code", how="left")
        if "residents_shown" in people.columns
        else frame.assign(residents_shown=frame["residents"])
    )
    frame["residents_text"] = [
        str(text) if isinstance(text, str) else fmt.count(value, lang)
        for text, value in zip(shown["residents_shown"], frame["residents"], strict=True)
    ]
    frame["tip"] = charts.map_tips(
        frame,
        [
            (t("metric_events", lang), "events", "count"),
            (kpi_label("resolution_rate", lang), "resolution_rate", "rate"),
            (t("metric_overdue", lang), "overdue", "count"),
            (f"{t('metric_density', lang)} ({t('unit_density', lang)})", "density", "number"),
            (t("map_area", lang), "area_km2", "number"),
            *([(t("metric_alarms", lang), "alarms", "count")] if alarms else []),
        ],
        lang,
    )
    frame["tip"] = [
        f"{tip}\n{kpi_label('residents', lang)}: {text}"
        for tip, text in zip(frame["tip"], frame["residents_text"], strict=True)
    ]
    return frame


def legend_texts(stops: list[tuple[str, float]], metric: str, lang: str) -> list[str]:
    """The value each legend swatch stands for; the last of a count scale reads "N or more"."""
    if metric == "resolution_rate":
        return [fmt.percent(value, 0) for _, value in stops]
    texts = [fmt.count(round(value), lang) for _, value in stops]
    texts[-1] = f"≥{texts[-1]}" if lang == "zh" else f"{texts[-1]}+"
    return texts


def show(
    frame: pd.DataFrame,
    metric: str,
    key: str,
    lang: str,
    current: str,
    height: int,
    width: int,
    wall: bool = False,
    cells: pd.DataFrame | None = None,
    points: pdk.Layer | None = None,
) -> None:
    """The legend, then the map; on the desk a click on a place drills into it, on the wall the map
    holds still (no zoom, no clicks: nobody can use them there). `points`, a layer of points (the
    alarms), goes over the areas and under the names."""
    font_px = FONT_PX["wall" if wall else "desk"]
    stops = maps.legend_stops(frame[metric] if metric in frame.columns else pd.Series(dtype=float), metric)
    unit = t(maps.METRIC_UNITS[metric], lang)
    title = t("legend_title", lang).format(metric=t(f"metric_{metric}", lang), unit=unit)
    missing = t("legend_no_data", lang) if frame.get(metric, pd.Series(dtype=float)).isna().any() else None
    st.html(maps.legend_html(stops, title, legend_texts(stops, metric, lang), missing, font_px=font_px - 1))
    deck = maps.choropleth_map(
        frame, metric, width, height, font_px=font_px, weight="importance", cells=cells, interactive=not wall
    )
    if points is not None:
        maps.under_labels(deck, points)
    if wall:
        st.html(WALL_MAP_STYLE)
        st.pydeck_chart(deck, height=height, key=f"{key}_{current}")
        return
    event = st.pydeck_chart(
        deck, height=height, key=f"{key}_{current}", on_select="rerun", selection_mode="single-object"
    )
    target = panels.picked_region(panels.deck_codes(event), current)
    if target:
        drill_to(target)
        st.rerun()
