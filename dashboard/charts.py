"""Chart builders: plain functions from a DataFrame to a plotly figure. No Streamlit calls here.

The pages draw these figures and the report export renders the same ones to images.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard.labels import KPI_LABELS, enum_label, kpi_label, level_label, t
from dashboard.maps import DEVICE_COLORS, STATUS_COLORS
from dashboard.queries import CHAIN_LEVELS
from pipelines.contract import COLLECTIVE_ECONOMY, EVENTS, HOUSING, RESIDENTS
from pipelines.safety import neutralize_formula

FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif'
INK = "#e2ecf7"
MUTED = "#8aa4c2"
GRID = "#1f3a5c"
ACCENT = "#22d3ee"
GOOD = "#34d399"
BAD = "#f87171"
NEUTRAL = "#3b82f6"
# Paper's colours for the wall's, in reports and printed exports: light ink on navy becomes dark ink on white.
PAPER_INK, PAPER_MUTED, PAPER_GRID, PAPER_BACKGROUND = "#1f2937", "#4b5563", "#e5e7eb", "#ffffff"
WALL_BACKGROUND = "#0a1628"
LABEL_BOX, PAPER_LABEL_BOX = "rgba(10,22,40,0.8)", "rgba(255,255,255,0.85)"  # behind a chart's own labels
SERIES = ["#22d3ee", "#2dd4bf", "#60a5fa", "#a78bfa", "#fbbf24", "#f87171", "#34d399", "#f472b6", "#94a3b8"]
# Every figure names its template: importing Streamlit makes its own template plotly's default, one whose
# axes do not make room for their labels, so the same builder drew cut tick labels in the app's exports
# and whole ones from the command line. Axes push the margins out as far as their labels need.
# Axis titles stand apart from the tick labels.
TEMPLATE = go.layout.Template(
    layout={
        "xaxis": {"automargin": True, "title": {"standoff": 12}},
        "yaxis": {"automargin": True, "title": {"standoff": 12}},
    }
)


# Plotly reads a subset of HTML in every label, tick, hover and title: a village named
# `<a href="http://host">…</a>` became a link on the axis. An entity already written stays as is, so
# escaping twice shows the same text.
_BARE_AMPERSAND = re.compile(r"&(?!(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)")
# Trace attributes that carry names from the data onto the chart or its hover.
TEXT_ATTRIBUTES = ("x", "y", "labels", "text", "hovertext", "name")


def plotly_text(value: str) -> str:
    """`value` as plotly text that shows its characters, not markup."""
    return _BARE_AMPERSAND.sub("&amp;", value).replace("<", "&lt;").replace(">", "&gt;")


def _plain_values(values: object) -> object:
    if isinstance(values, str):
        return plotly_text(values)
    if isinstance(values, np.ndarray) and values.dtype.kind in "biufcmM":
        return values
    if isinstance(values, list | tuple | np.ndarray) and any(isinstance(v, str) for v in values):
        return [plotly_text(v) if isinstance(v, str) else v for v in values]
    return values


def plain_text(fig: go.Figure) -> go.Figure:
    """Every data text, axis tick, title and annotation of `fig` shown as text, never as markup."""
    for trace in fig.data:
        for attribute in TEXT_ATTRIBUTES:
            if attribute in trace and trace[attribute] is not None:
                shown = _plain_values(trace[attribute])
                if shown is not trace[attribute]:
                    trace[attribute] = shown
    layout = fig.layout
    if layout.title and layout.title.text:
        layout.title.text = plotly_text(layout.title.text)
    for annotation in layout.annotations or ():
        if annotation.text:
            annotation.text = plotly_text(annotation.text)
    for axis in (layout[name] for name in layout if name.startswith(("xaxis", "yaxis"))):
        if axis.ticktext is not None:
            axis.ticktext = _plain_values(axis.ticktext)
        if axis.title and axis.title.text:
            axis.title.text = plotly_text(axis.title.text)
    return fig


def themed(
    fig: go.Figure, title: str | None = None, height: int | None = None, light: bool = False
) -> go.Figure:
    """The wall-screen look: dark, transparent, CJK font. `light` gives a print look for reports: every
    colour of the wall's, also on the builder's own lines, labels and label boxes, is swapped for paper's
    (on_paper). Text from the data is made plain here, so every builder's figure shows names as written."""
    ink, muted, grid = (PAPER_INK, PAPER_MUTED, PAPER_GRID) if light else (INK, MUTED, GRID)
    fig.update_layout(
        title={"text": title, "font": {"size": 16, "color": ink}, "x": 0.01} if title else None,
        font={"family": FONT, "color": ink, "size": 13},
        paper_bgcolor=PAPER_BACKGROUND if light else "rgba(0,0,0,0)",
        plot_bgcolor=PAPER_BACKGROUND if light else "rgba(0,0,0,0)",
        margin={"l": 8, "r": 8, "t": 36 if title else 8, "b": 8},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "right",
            "x": 1,
            "font": {"color": muted},
        },
        colorway=SERIES,
        hoverlabel={"font": {"family": FONT}},
        template=TEMPLATE,
    )
    fig.update_xaxes(
        gridcolor=grid,
        zerolinecolor=grid,
        tickfont={"color": muted},
        title_font={"color": muted},
        automargin=True,
    )
    fig.update_yaxes(
        gridcolor=grid,
        zerolinecolor=grid,
        tickfont={"color": muted},
        title_font={"color": muted},
        automargin=True,
    )
    if height:
        fig.update_layout(height=height)
    if light:
        on_paper(fig)
    return plain_text(fig)


def on_paper(fig: go.Figure) -> go.Figure:
    """`fig` in paper's colours, in place: what was light ink on navy becomes dark ink on white, the layout's
    as well as the builder's own lines, markers' edges, label text, arrows and label boxes."""
    swap = {INK: PAPER_INK, MUTED: PAPER_MUTED, GRID: PAPER_GRID, WALL_BACKGROUND: PAPER_BACKGROUND}
    fig.update_layout(
        paper_bgcolor=PAPER_BACKGROUND,
        plot_bgcolor=PAPER_BACKGROUND,
        font_color=swap.get(fig.layout.font.color, fig.layout.font.color or PAPER_INK),
    )
    if fig.layout.title.font.color in swap:
        fig.layout.title.font.color = swap[fig.layout.title.font.color]
    if fig.layout.legend.font.color in swap:
        fig.layout.legend.font.color = swap[fig.layout.legend.font.color]

    def axis(ax) -> None:
        for name in ("gridcolor", "zerolinecolor", "linecolor"):
            if getattr(ax, name) in swap:
                setattr(ax, name, swap[getattr(ax, name)])
        if ax.tickfont.color in swap:
            ax.tickfont.color = swap[ax.tickfont.color]
        if ax.title.font.color in swap:
            ax.title.font.color = swap[ax.title.font.color]

    fig.for_each_xaxis(axis)
    fig.for_each_yaxis(axis)
    for annotation in fig.layout.annotations:
        if annotation.font.color in swap:
            annotation.font.color = swap[annotation.font.color]
        if annotation.arrowcolor in swap:
            annotation.arrowcolor = swap[annotation.arrowcolor]
        if annotation.bgcolor == LABEL_BOX:
            annotation.bgcolor = PAPER_LABEL_BOX
    for shape in fig.layout.shapes:
        if shape.line.color in swap:
            shape.line.color = swap[shape.line.color]
    for trace in fig.data:
        for line in (getattr(getattr(trace, "marker", None), "line", None), getattr(trace, "line", None)):
            if line is not None and isinstance(getattr(line, "color", None), str) and line.color in swap:
                line.color = swap[line.color]
        marker = getattr(trace, "marker", None)
        colors = getattr(marker, "color", None) if marker is not None else None
        if isinstance(colors, str) and colors in swap:
            marker.color = swap[colors]
        elif isinstance(colors, list | tuple) and any(isinstance(c, str) and c in swap for c in colors):
            marker.color = [swap.get(c, c) if isinstance(c, str) else c for c in colors]
        textfont = getattr(trace, "textfont", None)
        if textfont is not None and getattr(textfont, "color", None) in swap:
            textfont.color = swap[textfont.color]
    return fig


def empty_figure(message: str, height: int | None = None) -> go.Figure:
    """A figure that says why there is nothing to draw, instead of an empty white box."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        font={"size": 15, "color": MUTED},
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return themed(fig, height=height)


def count_axis(top: float) -> dict:
    """An axis of counts up to `top`: whole-number ticks from 0 (no tick at half an event), at most seven,
    one, two or five times a power of ten apart."""
    wanted = max(float(top), 1.0) / 6
    power = 10 ** math.floor(math.log10(wanted)) if wanted >= 1 else 1
    step = min(m * power for m in (1, 2, 5, 10) if m * power >= wanted) if wanted > 1 else 1
    return {"tickformat": ",d", "tick0": 0, "dtick": step, "rangemode": "tozero"}


def months_between(start, end) -> list[str]:
    """Every month from the one of `start` to the one of `end`, as written on a monthly axis (2024-01)."""
    first = pd.Timestamp(start).to_period("M")
    last = pd.Timestamp(end).to_period("M")
    return [str(month) for month in pd.period_range(first, last, freq="M")]


def _fixed_colors(codes) -> dict[str, str]:
    return {code: DISTINCT[number % len(DISTINCT)] for number, code in enumerate(codes)}


def trend_chart(
    trend: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False
) -> go.Figure:
    """Events per month as bars and the resolution rate as a line on its own axis."""
    if trend.empty:
        return empty_figure(t("no_events", lang), height)
    months = pd.to_datetime(trend["month"]).dt.strftime("%Y-%m")
    fig = go.Figure()
    fig.add_bar(x=months, y=trend["total"], name=t("events", lang), marker_color=NEUTRAL, opacity=0.85)
    top = float(trend["total"].max() or 1)
    fig.add_scatter(
        x=months,
        y=trend["resolution_rate"] * 100,
        name=kpi_label("resolution_rate", lang),
        yaxis="y2",
        mode="lines+markers",
        line={"color": GOOD, "width": 3},
    )
    fig.update_layout(
        xaxis={"type": "category"},  # months as written (2024-01), not plotly's English date ticks
        yaxis={"title": t("events", lang), **count_axis(top)},
        # tickmode auto: plotly.js 3 otherwise syncs an overlaying axis to the other's ticks (89.1, 71.3 ...)
        yaxis2={
            "title": "%",
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "showgrid": False,
            "tickmode": "auto",
        },
        bargap=0.25,
    )
    return themed(fig, height=height, light=light)


RANK_METRICS = ("resolution_rate", "grassroots_rate", "satisfaction_rate", "on_time_rate")


def ranking_chart(
    ranking: pd.DataFrame,
    metric: str = "resolution_rate",
    lang: str = "zh",
    height: int | None = None,
    light: bool = False,
) -> go.Figure:
    """Children ranked by a rate, best on top in green and worst at the bottom in red (擂台比武)."""
    ranked = ranking.dropna(subset=[metric]).sort_values(metric, ascending=True)
    if ranked.empty:
        return empty_figure(t("no_events", lang), height)
    colors = [NEUTRAL] * len(ranked)
    if len(ranked) >= 2:
        colors[0] = BAD
        colors[-1] = GOOD
    values = ranked[metric] * 100
    fig = go.Figure(
        go.Bar(
            x=values,
            y=ranked["name"],
            orientation="h",
            marker_color=colors,
            text=[f"{v:.1f}%" for v in values],
            textposition="inside",
            insidetextanchor="end",
            customdata=ranked["code"],
            hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
        )
    )
    low = max(0.0, float(values.min()) - 10)
    fig.update_layout(
        xaxis={"range": [low, 100], "ticksuffix": "%"}, yaxis={"automargin": True}, showlegend=False
    )
    return themed(fig, title=kpi_label(metric, lang), height=height, light=light)


def category_bars(
    counts: pd.DataFrame,
    column: str,
    value: str = "total",
    lang: str = "zh",
    height: int | None = None,
    light: bool = False,
    title: str | None = None,
) -> go.Figure:
    """A horizontal bar per enumerated value (category, source, building type ...)."""
    if counts.empty or counts[value].sum() == 0:
        return empty_figure(t("no_events", lang), height)
    ordered = counts.sort_values(value)
    fig = go.Figure(
        go.Bar(
            x=ordered[value],
            y=[enum_label(c, lang) for c in ordered[column]],
            orientation="h",
            marker_color=ACCENT,
            customdata=ordered[column],
        )
    )
    fig.update_layout(showlegend=False, yaxis={"automargin": True}, xaxis=count_axis(ordered[value].max()))
    return themed(fig, title=title, height=height, light=light)


# ------------------------------------------------------------------------------ analyst pages

# The series colours reordered so that neighbours differ: parts of a stack, a ring, dots on one line.
DISTINCT = [SERIES[i] for i in (0, 4, 3, 5, 2, 6, 7, 1, 8)]
# One colour per value of an enumeration, fixed by its place in the contract, so that 矛盾纠纷 has the same
# colour at every level, in every chart and in every export, whatever else a view holds.
ENUM_COLORS: dict[str, dict[str, str]] = {
    "category": _fixed_colors(EVENTS.column("category").enum),
    "source": _fixed_colors(EVENTS.column("source").enum),
    "status": _fixed_colors(EVENTS.column("status").enum),
    "satisfaction": _fixed_colors(EVENTS.column("satisfaction").enum),
    "building_type": _fixed_colors(HOUSING.column("building_type").enum),
    "usage": _fixed_colors(HOUSING.column("usage").enum),
    "residence_type": _fixed_colors(RESIDENTS.column("residence_type").enum),
    "entity_type": _fixed_colors(COLLECTIVE_ECONOMY.column("entity_type").enum),
}
CATEGORY_COLORS = ENUM_COLORS["category"]


def part_color(column: str, value: object, number: int) -> str:
    """The colour of one part of a whole: the enumeration's own colour when `column` is one (grey for a
    missing value), else the `number`th distinct colour."""
    if column in ENUM_COLORS:
        return ENUM_COLORS[column].get(value, MUTED) if isinstance(value, str) else MUTED
    return DISTINCT[number % len(DISTINCT)]


MALE = "#60a5fa"
FEMALE = "#f472b6"
WARN = "#fbbf24"
# Thresholds of the collective-economy work (SPEC section 6), in yuan.
INCOME_LINES = (50_000, 100_000)


def _label(key: str, lang: str) -> str:
    """A column's or measure's label: the KPI's when it is one, else the UI text."""
    return kpi_label(key, lang) if key in KPI_LABELS else t(key, lang)


def _bar_height(rows: int, height: int | None, per_row: int = 26, minimum: int = 260) -> int:
    return height or max(minimum, 70 + per_row * rows)


def _nice_step(span: float) -> float:
    """1, 2 or 5 times a power of ten, at most `span` (at least 1)."""
    if span < 1:
        return 1.0
    power = 10 ** math.floor(math.log10(span))
    return max(m * power for m in (1, 2, 5) if m * power <= span)


def _drillable(codes: pd.Series) -> list[str]:
    return [str(c) for c in codes]


def age_pyramid_chart(
    pyramid: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False
) -> go.Figure:
    """Residents by age band, men to the left and women to the right."""
    if pyramid.empty or pyramid["residents"].sum() == 0:
        return empty_figure(t("no_residents", lang), height)
    bands = pyramid.drop_duplicates("age_start").sort_values("age_start")["age_group"].tolist()
    wide = pyramid.pivot_table(
        index="age_group", columns="gender", values="residents", aggfunc="sum", fill_value=0
    ).reindex(bands, fill_value=0)
    male = wide["M"] if "M" in wide else pd.Series(0, index=wide.index)
    female = wide["F"] if "F" in wide else pd.Series(0, index=wide.index)
    fig = go.Figure()
    fig.add_bar(
        y=bands,
        x=-male,
        orientation="h",
        name=enum_label("M", lang),
        marker_color=MALE,
        customdata=male,
        hovertemplate="%{y}: %{customdata:,}<extra>" + enum_label("M", lang) + "</extra>",
    )
    fig.add_bar(
        y=bands,
        x=female,
        orientation="h",
        name=enum_label("F", lang),
        marker_color=FEMALE,
        hovertemplate="%{y}: %{x:,}<extra>" + enum_label("F", lang) + "</extra>",
    )
    top = float(max(male.max(), female.max(), 1))
    step = _nice_step(top / 2)
    values = [k * step for k in range(-int(top // step), int(top // step) + 1)]
    fig.update_layout(
        barmode="overlay",
        bargap=0.08,
        xaxis={
            "tickvals": values,
            "ticktext": [fmt.count(abs(v), lang) for v in values],
            "range": [-top * 1.08, top * 1.08],
        },
        yaxis={"title": t("age_group", lang), "categoryorder": "array", "categoryarray": bands},
    )
    return themed(fig, height=height, light=light)


def share_donut(
    frame: pd.DataFrame,
    label_column: str,
    value_column: str,
    lang: str = "zh",
    height: int | None = None,
    light: bool = False,
    empty_message: str | None = None,
    labels: dict[str, str] | None = None,
) -> go.Figure:
    """A ring of the parts of a whole (residence types, satisfaction, entity types ...)."""
    parts = frame[frame[value_column] > 0] if not frame.empty else frame
    if parts.empty:
        return empty_figure(empty_message or t("no_events", lang), height)
    names = [(labels or {}).get(c) or enum_label(c, lang) for c in parts[label_column]]
    fig = go.Figure(
        go.Pie(
            labels=names,
            values=parts[value_column],
            hole=0.55,
            sort=False,
            texttemplate="%{percent:.1%}",
            textposition="inside",
            marker={
                "colors": [part_color(label_column, c, n) for n, c in enumerate(parts[label_column])],
                "line": {"color": "#ffffff" if light else "#0a1628", "width": 2},
            },
            hovertemplate="%{label}: %{value:,} (%{percent})<extra></extra>",
        )
    )
    total = parts[value_column].sum()
    fig.add_annotation(
        text=fmt.count(total, lang),
        showarrow=False,
        font={"size": 20, "color": "#1f2937" if light else INK},
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
    )
    fig.update_layout(
        legend={"orientation": "v", "x": 1.0, "xanchor": "left", "y": 0.5, "yanchor": "middle"},
        uniformtext={"minsize": 11, "mode": "hide"},
    )
    return themed(fig, height=height, light=light)


def rate_dots(
    frame: pd.DataFrame,
    rates: list[str],
    lang: str = "zh",
    label_column: str = "name",
    code_column: str | None = "code",
    enum: bool = False,
    labels: dict[str, str] | None = None,
    height: int | None = None,
    light: bool = False,
    empty_message: str | None = None,
) -> go.Figure:
    """Rates as dots on one line per row (a child region or a category), in percent, the axis fitted to
    the values so that 95% and 99% stay apart; a region's dots carry its code, so a click drills into it."""
    shown = frame.dropna(subset=rates, how="all") if not frame.empty else frame
    if shown.empty:
        return empty_figure(empty_message or t("no_events", lang), height)
    names = [enum_label(v, lang) if enum else str(v) for v in shown[label_column]]
    values = shown[rates].astype(float) * 100
    fig = go.Figure()
    for number, rate in enumerate(rates):
        fig.add_scatter(
            y=names,
            x=values[rate],
            mode="markers",
            orientation="h",  # grouped along y (scattermode below)
            name=(labels or {}).get(rate) or _label(rate, lang),
            marker={
                "color": DISTINCT[number % len(DISTINCT)],
                "size": 12,
                "line": {"color": "#0a1628", "width": 1},
            },
            customdata=_drillable(shown[code_column]) if code_column else None,
            hovertemplate="%{y}: %{x:.1f}%<extra>%{fullData.name}</extra>",
        )
    low, high = float(np.nanmin(values.to_numpy())), float(np.nanmax(values.to_numpy()))
    pad = max((high - low) * 0.08, 1.5)
    # a dot at 0% or 100% is drawn whole; below 0 the axis has no tick
    fig.update_layout(
        xaxis={"ticksuffix": "%", "range": [max(-pad / 2, low - pad), min(100.0 + pad / 2, high + pad)]},
        yaxis={"automargin": True, "autorange": "reversed", "showgrid": True, "type": "category"},
        # each rate on its own lane within the row, so that equal values (all at 100%) stay visible
        scattermode="group",
        scattergap=0.35,
    )
    return themed(fig, height=_bar_height(len(shown), height, per_row=14 + 6 * len(rates)), light=light)


def special_care_heatmap(
    long: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False
) -> go.Figure:
    """Children × special-care groups; a suppressed count ("<5") is coloured as the lowest, with its text."""
    if long.empty:
        return empty_figure(t("no_children_here", lang), height)
    children = long.drop_duplicates("code")[["code", "name"]]
    tags = list(dict.fromkeys(long["tag"]))
    z = long.pivot(index="code", columns="tag", values="residents").reindex(
        index=children["code"], columns=tags
    )
    text = long.pivot(index="code", columns="tag", values="residents_shown").reindex(
        index=children["code"], columns=tags
    )
    # An all-blank heatmap draws no text either: suppressed cells take the lowest colour instead.
    values = z.astype("Float64").fillna(0).to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=values,
            zmin=0,
            zmax=max(1.0, float(values.max())),
            x=[enum_label(tag, lang) for tag in tags],
            y=children["name"].astype(str).tolist(),
            text=text.to_numpy(),
            texttemplate="%{text}",
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
            colorscale=[[0, "#0c3456"], [0.5, "#107fa6"], [1, "#86dbe0"]],
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    fig.update_layout(yaxis={"autorange": "reversed", "automargin": True}, xaxis={"side": "top"})
    return themed(fig, height=_bar_height(len(children), height, per_row=24), light=light)


def stacked_bars(
    frame: pd.DataFrame,
    x: str,
    stack: str,
    value: str,
    lang: str = "zh",
    x_labels: dict | None = None,
    enum_x: bool = False,
    height: int | None = None,
    light: bool = False,
    empty_message: str | None = None,
    y_title: str | None = None,
    x_values: list | None = None,
    counts: bool = True,
) -> go.Figure:
    """Columns along `x`, each stacked by `stack` (an enumerated column): units by type and usage, events
    by month and category ... `x_values`: every column the axis has, in order, those without rows at 0
    (every month of a period); `counts`: the values are counts, ticked in whole numbers."""
    if frame.empty or frame[value].sum() == 0:
        return empty_figure(empty_message or t("no_events", lang), height)
    order_x = list(x_values) if x_values is not None else list(dict.fromkeys(frame[x]))
    totals = frame.groupby(stack, dropna=False)[value].sum().sort_values(ascending=False)
    fig = go.Figure()
    for number, part in enumerate(totals.index):
        rows = frame[frame[stack] == part] if pd.notna(part) else frame[frame[stack].isna()]
        by_x = rows.groupby(x, dropna=False)[value].sum()
        ys = [by_x.get(v, 0) for v in order_x]
        fig.add_bar(
            x=[(x_labels or {}).get(v, enum_label(v, lang) if enum_x else v) for v in order_x],
            y=ys,
            name=enum_label(part, lang) if pd.notna(part) else t("unknown", lang),
            marker_color=part_color(stack, part, number),
            hovertemplate="%{x} · %{fullData.name}: %{y:,}<extra></extra>",
        )
    top = float(frame.groupby(x, dropna=False)[value].sum().max())
    yaxis = ({"title": y_title} if y_title else {}) | (count_axis(top) if counts else {})
    fig.update_layout(barmode="stack", bargap=0.2, yaxis=yaxis, xaxis={"type": "category"})
    return themed(fig, height=height, light=light)


def funnel_chart(
    funnel: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False
) -> go.Figure:
    """Reported → accepted → resolved, with each stage's share of the reported."""
    if funnel.empty or funnel["events"].iloc[0] == 0:
        return empty_figure(t("no_events", lang), height)
    fig = go.Figure(
        go.Funnel(
            y=[t(f"stage_{stage}", lang) for stage in funnel["stage"]],
            x=funnel["events"],
            textinfo="value+percent initial",
            marker={"color": [NEUTRAL, ACCENT, GOOD][: len(funnel)]},
            connector={"line": {"color": GRID}},
        )
    )
    return themed(fig, height=height, light=light)


def hours_chart(
    by_category: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False
) -> go.Figure:
    """Median hours to resolve per category as bars, the 90th percentile as a marker beyond."""
    shown = by_category.dropna(subset=["median_hours"]) if not by_category.empty else by_category
    if shown.empty:
        return empty_figure(t("no_events", lang), height)
    shown = shown.sort_values("median_hours", ascending=False)
    names = [enum_label(c, lang) for c in shown["category"]]
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=shown["median_hours"],
        orientation="h",
        name=t("median_hours", lang),
        marker_color=ACCENT,
        hovertemplate="%{y}: %{x:.1f}<extra>%{fullData.name}</extra>",
    )
    fig.add_scatter(
        y=names,
        x=shown["p90_hours"],
        mode="markers",
        name=t("p90_hours", lang),
        marker={"color": WARN, "size": 11, "symbol": "line-ns-open", "line": {"width": 3}},
        hovertemplate="%{y}: %{x:.1f}<extra>%{fullData.name}</extra>",
    )
    fig.update_layout(
        yaxis={"automargin": True, "autorange": "reversed"},
        xaxis={"title": t("hours", lang), "rangemode": "tozero"},
    )
    return themed(fig, height=_bar_height(len(shown), height), light=light)


def chain_chart(
    chain: pd.DataFrame,
    lang: str = "zh",
    height: int | None = None,
    light: bool = False,
    empty_message: str | None = None,
) -> go.Figure:
    """Events resolved at each level of 网格 → 村社区 → 街镇 → 区县 (and still open), with the cumulative
    share along the chain: "小事不出社区" is the share by 村社区, "大事不出街镇" by 街镇."""
    if chain.empty or chain["events"].sum() == 0:
        return empty_figure(empty_message or t("no_disputes", lang), height)
    names = [
        t("level_open", lang)
        if level == "open"
        else t("unknown", lang)
        if level == "unknown"
        else level_label(level, lang)
        for level in chain["level"]
    ]
    colors = [
        GOOD
        if level in ("grid", "community")
        else ACCENT
        if level == "township"
        else WARN
        if level == "district"
        else MUTED
        for level in chain["level"]
    ]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=chain["events"],
        marker_color=colors,
        name=t("events", lang),
        text=[fmt.percent(s) for s in chain["share"]],
        textposition="outside",
        hovertemplate="%{x}: %{y:,}<extra></extra>",
    )
    fig.add_scatter(
        x=names,
        y=chain["cumulative_share"] * 100,
        yaxis="y2",
        mode="lines+markers",
        name=t("cumulative_share", lang),
        line={"color": INK, "width": 2},
        hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
    )
    level_index = {level: number for number, level in enumerate(chain["level"])}
    for level, key in (("community", "within_community"), ("township", "within_township")):
        if level in level_index:
            share = chain["cumulative_share"].iloc[level_index[level]]
            fig.add_annotation(
                x=names[level_index[level]],
                y=share * 100,
                yref="y2",
                text=f"{t(key, lang)} {fmt.percent(share)}",
                showarrow=True,
                arrowcolor=MUTED,
                ay=-28,
                font={"color": INK, "size": 12},
                bgcolor=LABEL_BOX,
            )
    top = float(chain["events"].max())
    fig.update_layout(
        yaxis={"title": t("events", lang), "range": [0, top * 1.25], **count_axis(top)},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 118],
            "ticksuffix": "%",
            "showgrid": False,
            "tickmode": "auto",
        },
        xaxis={"type": "category"},
    )
    return themed(fig, height=height, light=light)


# A count axis reaches this far above its tallest bar, so the bar stands inside the plot.
HEADROOM = 1.1


# Bin edges within a decade (the R10 series): log-spaced, with 5 and 10 among them.
_DECADE_EDGES = (1.0, 1.25, 1.6, 2.0, 2.5, 3.2, 4.0, 5.0, 6.3, 8.0)


def _income_edges(low: float, high: float) -> np.ndarray:
    """Bin edges in 万元 covering [low, high]."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    edges = [m * 10.0**k for k in range(first, last + 1) for m in _DECADE_EDGES]
    lower = max(e for e in edges if e <= low)
    upper = min(e for e in [*edges, 10.0 ** (last + 1)] if e > high)
    return np.array([e for e in [*edges, 10.0 ** (last + 1)] if lower <= e <= upper])


def income_bins(villages: pd.DataFrame) -> pd.DataFrame:
    """Villages counted by operating income in bins of 万元 (log-spaced; 5 and 10 are edges): the table
    behind the distribution. An income below 100 yuan counts in the lowest bin."""
    if villages.empty:
        return pd.DataFrame({"from_wan": [], "to_wan": [], "villages": []})
    wan = villages["operating_income"].astype(float).clip(lower=100) / 10_000
    edges = _income_edges(float(wan.min()), float(wan.max()))
    counts, _ = np.histogram(wan, bins=edges)
    return pd.DataFrame({"from_wan": edges[:-1], "to_wan": edges[1:], "villages": counts})


def income_histogram(
    bins: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False
) -> go.Figure:
    """How many villages earn how much (log scale, 万元), with the 5万 and 10万 lines on bin edges; `bins`
    as income_bins gives them."""
    if bins.empty or bins["villages"].sum() == 0:
        return empty_figure(t("no_economy", lang), height)
    low, high = bins["from_wan"].to_numpy(), bins["to_wan"].to_numpy()
    edges = np.append(low, high[-1])
    top = float(bins["villages"].max())
    colors = [
        BAD if lo < INCOME_LINES[0] / 10_000 else WARN if lo < INCOME_LINES[1] / 10_000 else ACCENT
        for lo in low
    ]
    fig = go.Figure(
        go.Bar(
            x=np.sqrt(low * high),
            y=bins["villages"],
            width=(high - low) * 0.92,
            marker_color=colors,
            customdata=np.stack([low, high], axis=-1),
            hovertemplate="%{customdata[0]:.3g}–%{customdata[1]:.3g}: %{y}<extra></extra>",
        )
    )
    for line, text in zip(INCOME_LINES, ("5万", "10万") if lang == "zh" else ("¥50k", "¥100k"), strict=True):
        fig.add_vline(x=line / 10_000, line={"color": INK, "width": 1.5, "dash": "dash"})
        fig.add_annotation(
            x=math.log10(line / 10_000),
            y=1,
            yref="paper",
            text=text,
            showarrow=False,
            yanchor="bottom",
            font={"color": INK, "size": 12},
        )
    ticks = [
        v
        for v in (0.1, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
        if edges[0] <= v <= edges[-1]
    ]
    fig.update_layout(
        xaxis={
            "type": "log",
            "title": t("income_wan", lang),
            "tickvals": ticks,
            "ticktext": [f"{v:g}" for v in ticks],
        },
        # room above the tallest bar: plotly's own range for bars ends at its top, on the plot's edge
        yaxis={"title": t("villages_count", lang), "range": [0, top * HEADROOM], **count_axis(top)},
        showlegend=False,
        bargap=0,
    )
    themed(fig, height=height, light=light)
    fig.update_layout(margin={"t": 28})
    return fig


def income_growth_chart(
    by_child: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False
) -> go.Figure:
    """Each child region's operating income this year beside the previous year's, with the growth."""
    if by_child.empty:
        return empty_figure(t("no_economy", lang), height)
    codes = _drillable(by_child["code"])
    fig = go.Figure()
    fig.add_bar(
        y=by_child["name"],
        x=by_child["previous_operating_income"] / 10_000,
        orientation="h",
        name=t("previous_year", lang),
        marker_color="#475569",
        customdata=codes,
        hovertemplate="%{y}: %{x:,.1f}<extra>%{fullData.name}</extra>",
    )
    fig.add_bar(
        y=by_child["name"],
        x=by_child["operating_income"] / 10_000,
        orientation="h",
        name=t("this_year", lang),
        marker_color=ACCENT,
        customdata=codes,
        text=[
            fmt.change_relative(c, p) or ""
            for c, p in zip(by_child["operating_income"], by_child["previous_operating_income"], strict=True)
        ],
        textposition="outside",
        textfont={"size": 12, "color": INK},
        hovertemplate="%{y}: %{x:,.1f}<extra>%{fullData.name}</extra>",
    )
    fig.update_layout(
        barmode="group",
        bargap=0.25,
        xaxis={"title": t("income_wan", lang)},
        yaxis={"automargin": True, "autorange": "reversed"},
    )
    return themed(fig, height=_bar_height(len(by_child) * 2, height, per_row=16), light=light)


def village_ranking_chart(
    villages: pd.DataFrame, lang: str = "zh", top: int = 15, height: int | None = None, light: bool = False
) -> go.Figure:
    """The villages with the highest operating income, with their township; a bar carries the village code."""
    if villages.empty:
        return empty_figure(t("no_economy", lang), height)
    best = villages.nsmallest(top, "rank")
    pattern = "{rank}. {name}（{township}）" if lang == "zh" else "{rank}. {name} ({township})"
    names = [
        pattern.format(rank=row.rank, name=row.name, township=row.township_name) for row in best.itertuples()
    ]
    fig = go.Figure(
        go.Bar(
            y=names,
            x=best["operating_income"] / 10_000,
            orientation="h",
            marker_color=ACCENT,
            customdata=_drillable(best["code"]),
            text=[fmt.money(v, lang) for v in best["operating_income"]],
            textposition="inside",
            insidetextanchor="end",
            hovertemplate="%{y}: %{x:,.1f}<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"automargin": True, "autorange": "reversed"},
        xaxis={"title": t("income_wan", lang)},
        showlegend=False,
    )
    return themed(fig, height=_bar_height(len(best), height), light=light)


def value_bars(
    frame: pd.DataFrame,
    value: str,
    lang: str = "zh",
    label_column: str = "name",
    code_column: str | None = "code",
    height: int | None = None,
    light: bool = False,
    empty_message: str | None = None,
    money: bool = False,
) -> go.Figure:
    """One bar per row (a child region), largest on top; a region's bar carries its code."""
    shown = frame.dropna(subset=[value]) if not frame.empty else frame
    if shown.empty:
        return empty_figure(empty_message or t("no_events", lang), height)
    shown = shown.sort_values(value, ascending=False)
    fig = go.Figure(
        go.Bar(
            y=shown[label_column].astype(str),
            x=shown[value],
            orientation="h",
            marker_color=ACCENT,
            customdata=_drillable(shown[code_column]) if code_column else None,
            text=[fmt.money(v, lang) if money else fmt.count(v, lang) for v in shown[value]],
            textposition="outside",
            hovertemplate="%{y}: %{x:,.1f}<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"automargin": True, "autorange": "reversed"},
        showlegend=False,
        xaxis={"range": [0, float(shown[value].max()) * 1.2 or 1]},
    )
    return themed(fig, height=_bar_height(len(shown), height), light=light)


# Table columns: column -> kind, or column -> (kind, label) where the column's key has no label of its own.
TableColumns = dict[str, str | tuple[str, str]]


def data_table(frame: pd.DataFrame, columns: TableColumns, lang: str = "zh") -> pd.DataFrame:
    """The frame behind a chart as a table: chosen columns, labelled in the language, codes as labels,
    rates as percentages, text neutralised for spreadsheets. Kinds: text, enum, level, count, rate, money,
    hours, number, month, time. The kinds go along for a workbook's number formats (`attrs["kinds"]`,
    label → kind, where a rate in percentage points is `percent`), with the header a rate has there,
    where its cells hold fractions shown as percentages (`attrs["headers"]`)."""
    table = pd.DataFrame(index=frame.index)
    kinds: dict[str, str] = {}
    headers: dict[str, str] = {}
    for column, spec in columns.items():
        kind, label = spec if isinstance(spec, tuple) else (spec, _label(column, lang))
        kinds[f"{label} (%)" if kind == "rate" else label] = "percent" if kind == "rate" else kind
        if kind == "rate":
            headers[f"{label} (%)"] = label
        values = frame[column]
        if kind == "enum":
            values = values.map(lambda v: enum_label(v, lang) if pd.notna(v) else t("unknown", lang))
        elif kind == "level":
            values = values.map(
                lambda v: (
                    level_label(v, lang)
                    if v in CHAIN_LEVELS
                    else t("level_open", lang)
                    if v == "open"
                    else t("unknown", lang)
                )
            )
        elif kind == "rate":
            values = (values.astype(float) * 100).round(1)
            label = f"{label} (%)"
        elif kind in ("money", "hours", "number"):
            values = values.astype(float).round(2 if kind == "money" else 1)
        elif kind == "count":
            values = values.astype("Int64")
        elif kind == "month":
            values = pd.to_datetime(values).dt.strftime("%Y-%m")
        elif kind == "time":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d %H:%M")
        else:
            values = values.map(lambda v: neutralize_formula(str(v)) if pd.notna(v) else "")
        table[label] = values
    table = table.reset_index(drop=True)
    table.attrs["kinds"], table.attrs["headers"] = kinds, headers
    return table


def map_tips(
    frame: pd.DataFrame, lines: list[tuple[str, str, str]], lang: str = "zh", name_column: str | None = "name"
) -> pd.Series:
    """Tooltip text per map cell or label: the place's name, then `label: value` lines, where each line
    is (label, column, kind) and kind is count, rate or number. Plain text, not HTML: the map shows a
    tooltip's values as written (maps.tooltip_text)."""

    def one(row) -> str:
        named = name_column and pd.notna(row[name_column])
        parts = [str(row[name_column])] if named else []
        for label, column, kind in lines:
            value = row[column]
            shown = (
                fmt.percent(value)
                if kind == "rate"
                else fmt.count(value, lang)
                if kind == "count"
                else ("—" if pd.isna(value) else f"{float(value):,.1f}")
            )
            parts.append(f"{label}: {shown}")
        return "\n".join(parts)

    if frame.empty:
        return pd.Series(dtype=str)
    return frame.apply(one, axis=1).astype(str)


# ------------------------------------------------------------------------------ 物联感知 (IoT)

# Device types and statuses keep one colour on every chart, as the map draws them (maps.DEVICE_COLORS).
# A device's status shares the column name with an event's: their codes differ, so one table holds both.
ENUM_COLORS["device_type"] = {code: "#{:02x}{:02x}{:02x}".format(*rgb) for code, rgb in DEVICE_COLORS.items()}
ENUM_COLORS["status"] |= {code: "#{:02x}{:02x}{:02x}".format(*rgb) for code, rgb in STATUS_COLORS.items()}


def minutes_chart(
    by_type: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False
) -> go.Figure:
    """Median minutes to handle an alarm per device type as bars, the 90th percentile as a marker beyond."""
    shown = by_type.dropna(subset=["median_minutes"]) if not by_type.empty else by_type
    if shown.empty:
        return empty_figure(t("no_alarms", lang), height)
    shown = shown.sort_values("median_minutes", ascending=False)
    names = [enum_label(c, lang) for c in shown["device_type"]]
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=shown["median_minutes"],
        orientation="h",
        name=t("median_minutes", lang),
        marker_color=ACCENT,
        hovertemplate="%{y}: %{x:.1f}<extra>%{fullData.name}</extra>",
    )
    fig.add_scatter(
        y=names,
        x=shown["p90_minutes"],
        mode="markers",
        name=t("p90_minutes", lang),
        marker={"color": WARN, "size": 11, "symbol": "line-ns-open", "line": {"width": 3}},
        hovertemplate="%{y}: %{x:.1f}<extra>%{fullData.name}</extra>",
    )
    fig.update_layout(
        yaxis={"automargin": True, "autorange": "reversed"},
        xaxis={"title": t("minutes", lang), "rangemode": "tozero"},
    )
    return themed(fig, height=_bar_height(len(shown), height), light=light)
