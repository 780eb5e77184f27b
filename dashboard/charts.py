"""Chart builders: plain functions from a DataFrame to a plotly figure. No Streamlit calls here.

The pages draw these figures and the report export renders the same ones to images.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.labels import enum_label, kpi_label, t

FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif'
INK = "#e2ecf7"
MUTED = "#8aa4c2"
GRID = "#1f3a5c"
ACCENT = "#22d3ee"
GOOD = "#34d399"
BAD = "#f87171"
NEUTRAL = "#3b82f6"
SERIES = ["#22d3ee", "#2dd4bf", "#60a5fa", "#a78bfa", "#fbbf24", "#f87171", "#34d399", "#f472b6", "#94a3b8"]


def themed(fig: go.Figure, title: str | None = None, height: int | None = None, light: bool = False) -> go.Figure:
    """The wall-screen look: dark, transparent, CJK font. `light` gives a print look for reports."""
    ink, muted, grid = ("#1f2937", "#4b5563", "#e5e7eb") if light else (INK, MUTED, GRID)
    fig.update_layout(
        title={"text": title, "font": {"size": 16, "color": ink}, "x": 0.01} if title else None,
        font={"family": FONT, "color": ink, "size": 13},
        paper_bgcolor="#ffffff" if light else "rgba(0,0,0,0)",
        plot_bgcolor="#ffffff" if light else "rgba(0,0,0,0)",
        margin={"l": 8, "r": 8, "t": 36 if title else 8, "b": 8},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1, "font": {"color": muted}},
        colorway=SERIES,
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(gridcolor=grid, zerolinecolor=grid, tickfont={"color": muted}, title_font={"color": muted})
    fig.update_yaxes(gridcolor=grid, zerolinecolor=grid, tickfont={"color": muted}, title_font={"color": muted})
    if height:
        fig.update_layout(height=height)
    return fig


def empty_figure(message: str, height: int | None = None) -> go.Figure:
    """A figure that says why there is nothing to draw, instead of an empty white box."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 15, "color": MUTED}, x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return themed(fig, height=height)


def trend_chart(trend: pd.DataFrame, lang: str = "zh", height: int | None = None, light: bool = False) -> go.Figure:
    """Events per month as bars and the resolution rate as a line on its own axis."""
    if trend.empty:
        return empty_figure(t("no_events", lang), height)
    months = pd.to_datetime(trend["month"]).dt.strftime("%Y-%m")
    fig = go.Figure()
    fig.add_bar(x=months, y=trend["total"], name=t("events", lang), marker_color=NEUTRAL, opacity=0.85)
    fig.add_scatter(
        x=months,
        y=trend["resolution_rate"] * 100,
        name=kpi_label("resolution_rate", lang),
        yaxis="y2",
        mode="lines+markers",
        line={"color": GOOD, "width": 3},
    )
    fig.update_layout(
        yaxis={"title": t("events", lang)},
        yaxis2={"title": "%", "overlaying": "y", "side": "right", "range": [0, 105], "showgrid": False},
        bargap=0.25,
    )
    return themed(fig, height=height, light=light)


RANK_METRICS = ("resolution_rate", "grassroots_rate", "satisfaction_rate", "on_time_rate")


def ranking_chart(
    ranking: pd.DataFrame, metric: str = "resolution_rate", lang: str = "zh", height: int | None = None,
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
    fig.update_layout(xaxis={"range": [low, 100], "ticksuffix": "%"}, yaxis={"automargin": True}, showlegend=False)
    return themed(fig, title=kpi_label(metric, lang), height=height, light=light)


def category_bars(counts: pd.DataFrame, column: str, value: str = "total", lang: str = "zh",
                  height: int | None = None, light: bool = False, title: str | None = None) -> go.Figure:
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
    fig.update_layout(showlegend=False, yaxis={"automargin": True})
    return themed(fig, title=title, height=height, light=light)
