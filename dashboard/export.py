"""Exports: figures as PNG/SVG, tables as CSV/Excel, and a static map image. No Streamlit calls here.

Images come from one long-lived headless Chromium (kaleido), started on first use and shared by
every thread of the process: a new browser per image costs seconds, a warm one a fraction of one.
Every text cell of an exported table goes through `neutralize_formula`, so a spreadsheet never
evaluates it.
"""

from __future__ import annotations

import asyncio
import atexit
import io
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, maps
from dashboard.labels import KPI_LABELS, UI, enum_label, kpi_label, t
from pipelines.safety import neutralize_formula

# --------------------------------------------------------------------------------- images

# The dashboard's page background, so a wall image looks like the wall and is never transparent.
WALL_BACKGROUND = charts.WALL_BACKGROUND
PAPER_INK = charts.PAPER_INK
# Pixels per CSS pixel for print: 300 dpi over the browser's 96.
PRINT_SCALE = 300 / 96
IMAGE_TIMEOUT_S = 60
# Tabs of the image browser: this many images are drawn at once (a report asks for many together).
IMAGE_TABS = 2
STARTUP_TIMEOUT_S = 60


@dataclass(frozen=True)
class ImagePreset:
    """Layout size in CSS pixels, the pixel multiplier and the look of an exported image."""

    width: int
    height: int
    scale: float
    light: bool


PRESETS: dict[str, ImagePreset] = {
    # 1920 × 1080 pixels, dark like the wall, type twice the screen size.
    "wall": ImagePreset(960, 540, 2.0, light=False),
    # 2250 pixels wide: 19 cm, the text width of an A4 page, at 300 dpi; light for paper.
    "print": ImagePreset(720, 405, PRINT_SCALE, light=True),
    # Vector, for documents: the print layout.
    "document": ImagePreset(720, 405, 1.0, light=True),
}


class ExportError(Exception):
    """An image could not be made (no browser, a render that failed or timed out)."""


class _ImageServer:
    """One Chromium with kaleido's plotly page, driven from its own event-loop thread.

    Any thread may call `render`: calls are handed to the loop and wait for their result, so
    Streamlit's script threads and download callbacks share the browser safely. A browser that
    died is replaced on the next call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido = None
        self.starts = 0

    def _start(self) -> None:
        import kaleido

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="image-export", daemon=True)
        thread.start()

        async def open_browser():
            # mathjax=False: kaleido would otherwise load MathJax from a CDN; nothing leaves the intranet.
            browser = kaleido.Kaleido(n=IMAGE_TABS, timeout=IMAGE_TIMEOUT_S, mathjax=False)
            await browser.open()
            return browser

        try:
            self._kaleido = asyncio.run_coroutine_threadsafe(open_browser(), loop).result(STARTUP_TIMEOUT_S)
        except Exception as exc:
            loop.call_soon_threadsafe(loop.stop)
            raise ExportError(f"无法启动图片导出浏览器：{exc}") from exc
        self._loop, self._thread = loop, thread
        self.starts += 1

    def _ready(self) -> tuple:
        with self._lock:
            if self._loop is None:
                self._start()
            return self._loop, self._kaleido

    def render(self, spec: dict, opts: dict) -> bytes:
        for attempt in (1, 2):
            loop, browser = self._ready()
            future = asyncio.run_coroutine_threadsafe(browser.calc_fig(spec, opts=opts), loop)
            try:
                return future.result(IMAGE_TIMEOUT_S + 5)
            except Exception as exc:
                future.cancel()
                if attempt == 2 or self._alive():
                    raise ExportError(f"图片导出失败：{exc}") from exc
                self.stop()  # the browser died: start a fresh one and try once more
        raise AssertionError("unreachable")

    def _alive(self) -> bool:
        process = getattr(self._kaleido, "subprocess", None)
        return process is not None and process.poll() is None

    def browser_pid(self) -> int | None:
        process = getattr(self._kaleido, "subprocess", None)
        return process.pid if process is not None else None

    def stop(self) -> None:
        with self._lock:
            loop, browser = self._loop, self._kaleido
            self._loop = self._thread = self._kaleido = None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(browser.close(), loop).result(15)
        except Exception:  # noqa: BLE001 - closing a browser that is already gone
            pass
        loop.call_soon_threadsafe(loop.stop)


_server = _ImageServer()
atexit.register(_server.stop)


def warm_up() -> None:
    """Start the image browser now rather than on the first export."""
    _server._ready()


def image_browser_pid() -> int | None:
    """The process id of the image browser, None before the first export (for checks and tests)."""
    return _server.browser_pid()


PAPER = {
    "ink": PAPER_INK,
    "muted": charts.PAPER_MUTED,
    "grid": charts.PAPER_GRID,
    "background": charts.PAPER_BACKGROUND,
}


def styled_for_export(
    fig: go.Figure, light: bool, title: str | None = None, subtitle: str | None = None
) -> go.Figure:
    """A copy of a page figure in the export look: light for paper, dark and opaque for the wall.

    Only colours change, the title (`title`, followed by the figure's own when it has one, so that a
    picture says where and what it shows) and a `subtitle` line (the period) are added, and the axes make
    room for their labels: the builder's layout stays.
    """
    copy = go.Figure(fig)
    # The project's template, not the process's default (Streamlit's, in the app), and axes that make
    # room for their labels: an export from the app and one from the command line are the same picture.
    copy.update_layout(template=charts.TEMPLATE)
    copy.update_xaxes(automargin=True)
    copy.update_yaxes(automargin=True)
    if not copy.layout.font.family:
        copy.update_layout(font_family=charts.FONT)  # CJK first, so Chinese never depends on fallback
    if title or subtitle:
        ink = PAPER_INK if light else charts.INK
        own = copy.layout.title.text  # already plotly text (charts.themed)
        text = charts.plotly_text(title) if title else own
        if title and own and own not in text:
            text = f"{text} · {own}"
        heading = {"text": text, "font": {"size": 16, "color": ink}}
        if subtitle:
            muted = PAPER["muted"] if light else charts.MUTED
            heading["subtitle"] = {"text": charts.plotly_text(subtitle), "font": {"size": 12, "color": muted}}
        copy.update_layout(title={**heading, "x": 0.01})
        copy.update_layout(margin={"t": max(copy.layout.margin.t or 0, 68 if subtitle else 44)})
    if not light:
        copy.update_layout(paper_bgcolor=WALL_BACKGROUND, plot_bgcolor=WALL_BACKGROUND)
    else:
        charts.on_paper(copy)
    copy.update_layout(width=None, height=None, autosize=True)
    return copy


def _height_for(fig: go.Figure, base: int) -> int:
    """Taller than the preset when horizontal bars need room for every label (long rankings)."""
    bars = [
        len(trace.y)
        for trace in fig.data
        if trace.type == "bar" and trace.orientation == "h" and trace.y is not None
    ]
    if not bars:
        return base
    return int(min(max(base, 80 + 22 * max(bars)), 4 * base))


def figure_image(
    fig: go.Figure,
    fmt: str = "png",
    preset: str = "wall",
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
    subtitle: str | None = None,
) -> bytes:
    """PNG or SVG bytes of a plotly figure, rendered by the shared browser.

    `preset`: "wall" (1920 px wide, dark), "print" (2250 px wide = 19 cm at 300 dpi, light) or
    "document" (light, for SVG in documents). `title` and `subtitle` (the period) head the picture.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown image format: {fmt}")
    look = PRESETS[preset]
    styled = styled_for_export(fig, look.light, title, subtitle)
    opts = {
        "format": fmt,
        "width": width or look.width,
        # The builder's own height when it asked for room (one row per region), else the preset's.
        "height": height or max(_height_for(styled, look.height), fig.layout.height or 0),
        "scale": look.scale if fmt == "png" else 1,
    }
    return _server.render(styled.to_dict(), opts)


def period_line(start: object, end: object, compared: str, lang: str = "zh") -> str:
    """The period a chart or sheet shows and the one it is compared with: '统计时段：2024-01-01 至
    2024-12-31（同比 2023-01-01 至 2023-12-31）'. `compared` is that second part, already worded."""
    shown = t("download_period", lang).format(start=str(start), end=str(end))
    return f"{shown}（{compared}）" if lang == "zh" else f"{shown} ({compared})"


# --------------------------------------------------------------------------------- tables

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
ENUM_COLUMNS = (
    "category",
    "status",
    "source",
    "satisfaction",
    "resolution_level",
    "building_type",
    "usage",
    "residence_type",
    "gender",
    "entity_type",
    "level",
    "kind",
    "tag",
)
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "code": ("区划代码", "Code"),
    "name": ("名称", "Name"),
    "cell": ("H3单元", "H3 cell"),
    "grids": ("网格数", "Grids"),
    "count": ("数量", "Count"),
}


def column_label(column: str, lang: str = "zh") -> str:
    """A readable header for a query column: the KPI label, the map metric's or the UI's, else as is."""
    if column in COLUMN_LABELS:
        zh, en = COLUMN_LABELS[column]
        return en if lang == "en" else zh
    if column in KPI_LABELS:
        return kpi_label(column, lang)
    if f"metric_{column}" in UI:
        return t(f"metric_{column}", lang)
    if column in UI:
        return t(column, lang)
    return column


# What a query column holds, where its name alone says so: the number format of its cells in a workbook.
COUNT_COLUMNS = {
    "total",
    "resolved",
    "events",
    "overdue",
    "residents",
    "households",
    "floating",
    "elderly",
    "units",
    "rented",
    "vacant",
    "villages",
    "shareholders",
    "grids",
    "count",
    "rank",
    "age_start",
}
MONEY_COLUMNS = {
    "operating_income",
    "previous_operating_income",
    "total_income",
    "operating_profit",
    "dividends",
    "dividends_per_shareholder",
}
RATE_COLUMNS = {"share", "growth", "share_of_rated", "cumulative_share"}
# Number formats by kind; `percent` is a rate written in percentage points (85.3), a cell holds the fraction.
KIND_FORMATS = {
    "rate": "0.0%",
    "percent": "0.0%",
    "count": "#,##0",
    "money": "#,##0.00",
    "hours": "#,##0.0",
    "number": "#,##0.0",
    "month": "yyyy-mm",
    "time": "yyyy-mm-dd hh:mm",
}
RATE_COLUMN = re.compile(r"(rate|share)(_|$)")


def column_kind(column: str) -> str | None:
    """The kind of a query column by its name (rate, count, money, hours, month), None when it says nothing."""
    if column == "month":
        return "month"
    if column in RATE_COLUMNS or RATE_COLUMN.search(column):
        return "rate"
    if column in COUNT_COLUMNS:
        return "count"
    if column in MONEY_COLUMNS:
        return "money"
    if column.endswith("_hours"):
        return "hours"
    return None


def readable(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A query frame with readable headers and enumerated codes as labels, for people to open.

    A count the gate hid is its shown text ("<5") in place of the number, as on the page; the kinds of
    the columns go along (`attrs["kinds"]`, label → kind) for the workbook's number formats."""
    out = frame.copy()
    for column in [c for c in out.columns if str(c).endswith("_shown")]:
        number = str(column).removesuffix("_shown")
        if number in out.columns:
            hidden = out[number].isna()
            if hidden.any():
                out[number] = out[number].astype(object).where(~hidden, out[column])
        out = out.drop(columns=column)
    for column in out.columns:
        if column in ENUM_COLUMNS:
            out[column] = [enum_label(v, lang) if isinstance(v, str) else v for v in out[column]]
    kinds = {column_label(str(c), lang): column_kind(str(c)) for c in out.columns if column_kind(str(c))}
    out = out.rename(columns={c: column_label(str(c), lang) for c in out.columns})
    out.attrs["kinds"] = kinds
    return out


def _safe_text(value: object) -> object:
    if isinstance(value, str):
        return neutralize_formula(_CONTROL_CHARACTERS.sub("", value))
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which no header or text cell starts a formula (SPEC section 7)."""
    out = frame.copy()
    out.columns = [_safe_text(str(c)) for c in out.columns]
    for position, column in enumerate(out.columns):
        series = out.iloc[:, position]
        if (
            series.dtype == object
            or pd.api.types.is_string_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype)
        ):
            out[column] = series.astype(object).map(_safe_text)
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a BOM (so Excel reads the Chinese), formulas neutralised."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def _excel_value(value: object) -> object:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, (list, tuple, dict, set)):
        value = str(value)
    return _safe_text(value)


def _sheet_title(name: str, taken: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'") or "Sheet"
    title = title[:31]
    base, n = title, 2
    while title.lower() in taken:
        suffix = f"_{n}"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(title.lower())
    return title


def _display_width(value: object) -> int:
    text = str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _typed_for_excel(frame: pd.DataFrame, percent: set[str]) -> tuple[pd.DataFrame, list[str | None]]:
    """The frame as cells hold it, and each column's number format: by its kind (`attrs["kinds"]` of
    `readable` and `charts.data_table`) where known, else by its name and values."""
    kinds: dict = frame.attrs.get("kinds", {})
    headers: dict = frame.attrs.get("headers", {})
    out = frame.copy()
    formats: list[str | None] = []
    for position, column in enumerate(frame.columns):
        series = frame.iloc[:, position]
        kind = kinds.get(column)
        if column in percent or (kind is None and RATE_COLUMN.search(str(column))):
            kind = "rate"
        if kind == "percent":
            out[column] = pd.to_numeric(series, errors="coerce") / 100
        elif kind in ("month", "time") and not pd.api.types.is_datetime64_any_dtype(series):
            out[column] = pd.to_datetime(series, errors="coerce")
        if kind in KIND_FORMATS:
            formats.append(KIND_FORMATS[kind])
        elif pd.api.types.is_datetime64_any_dtype(series):
            formats.append(
                "yyyy-mm-dd hh:mm" if (series.dt.time.astype(str) != "00:00:00").any() else "yyyy-mm-dd"
            )
        elif pd.api.types.is_float_dtype(series):
            whole = series.dropna()
            formats.append("#,##0" if len(whole) and (whole == whole.round()).all() else "#,##0.00")
        elif pd.api.types.is_integer_dtype(series):
            formats.append("#,##0")
        else:
            formats.append(None)
    return out.rename(columns=headers), formats


def xlsx_bytes(
    sheets: pd.DataFrame | Mapping[str, pd.DataFrame],
    percent_columns: Mapping[str, list[str]] | None = None,
    cell_formats: Mapping[str, list[dict[str, str]]] | None = None,
    captions: Mapping[str, Sequence[str]] | None = None,
) -> bytes:
    """An Excel workbook, one sheet per frame (sheet name → frame), formulas neutralised.

    Rates are fractions shown as percentages (columns named like `*_rate`/`*_share`, listed in
    `percent_columns[sheet]`, or of kind rate), counts without decimals, months as months: the kinds
    come with the frame (`attrs["kinds"]`, see `readable`). `cell_formats[sheet][row]` maps a column to
    the number format of that row's cell (for a sheet whose rows mix counts, rates and amounts).
    `captions[sheet]`: lines above the header (what the sheet shows, its period).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    if isinstance(sheets, pd.DataFrame):
        sheets = {"data": sheets}
    book = Workbook(write_only=True)
    taken: set[str] = set()
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DCE6F1")
    for name, given in sheets.items():
        sheet = book.create_sheet(_sheet_title(name, taken))
        frame, formats = _typed_for_excel(given, set((percent_columns or {}).get(name, [])))
        caption = list((captions or {}).get(name, ()))
        sample = frame.head(200)
        for index, column in enumerate(frame.columns):
            widest = max([_display_width(column)] + [_display_width(v) for v in sample.iloc[:, index]])
            letter = _column_letter(index + 1)
            sheet.column_dimensions[letter].width = min(60, max(8, widest + 2))
        sheet.freeze_panes = f"A{len(caption) + 2}"
        for number, line in enumerate(caption):
            cell = WriteOnlyCell(sheet, value=_safe_text(str(line)))
            cell.font = Font(bold=number == 0, size=12 if number == 0 else 10)
            sheet.append([cell])
        header = []
        for column in frame.columns:
            cell = WriteOnlyCell(sheet, value=_safe_text(str(column)))
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(vertical="center")
            header.append(cell)
        sheet.append(header)
        by_cell = (cell_formats or {}).get(name)
        for number, row in enumerate(frame.itertuples(index=False, name=None)):
            cells = []
            for column, value, column_format in zip(frame.columns, row, formats, strict=True):
                cell = WriteOnlyCell(sheet, value=_excel_value(value))
                number_format = (by_cell[number].get(column) if by_cell else None) or column_format
                if number_format and not isinstance(cell.value, str):
                    cell.number_format = number_format
                cells.append(cell)
            sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


# ------------------------------------------------------------------------------ static map

# Light to dark for paper; the wall uses the dashboard map's own ramps.
PRINT_SEQUENTIAL = [
    (239, 246, 255),
    (191, 219, 254),
    (96, 165, 250),
    (37, 99, 235),
    (30, 64, 175),
    (23, 37, 84),
]
PRINT_OVERDUE = [(254, 243, 199), (251, 146, 60), (185, 28, 28)]
WALL_OVERDUE = [(40, 60, 90), (251, 146, 60), (239, 68, 68)]
MISSING_COLOR = {True: "rgb(229,231,235)", False: "rgb(70,85,105)"}
MAP_BINS = 8


def _palette(metric: str, light: bool) -> list[tuple[int, int, int]]:
    if metric == "resolution_rate":
        return maps.DIVERGING
    if metric == "overdue":
        return PRINT_OVERDUE if light else WALL_OVERDUE
    return PRINT_SEQUENTIAL if light else maps.SEQUENTIAL


def _color_at(palette: list[tuple[int, int, int]], position: float) -> str:
    stops = np.linspace(0, 1, len(palette))
    channels = [round(float(np.interp(position, stops, [c[i] for c in palette]))) for i in range(3)]
    return f"rgb({channels[0]},{channels[1]},{channels[2]})"


def _scale_bounds(values: np.ndarray, metric: str) -> tuple[float, float]:
    """The value range the colours span: the same rule as the on-screen map."""
    if metric == "resolution_rate":
        return 0.5, 1.0
    finite = values[np.isfinite(values)]
    top = float(np.quantile(finite, 0.95)) if len(finite) else 1.0
    return 0.0, top if top > 0 else 1.0


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry.get("type") == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []


def static_map(
    cells: pd.DataFrame,
    labels: pd.DataFrame,
    metric: str = "events",
    lang: str = "zh",
    light: bool = True,
    boundaries: pd.DataFrame | None = None,
    title: str | None = None,
) -> go.Figure:
    """The region map as a plotly figure: H3 cells as filled polygons, children labelled; no tiles.

    Takes the frames of `queries.map_cells` and `queries.child_positions`, like the on-screen map.
    """
    if cells.empty:
        return charts.empty_figure(t("no_events", lang))
    values = cells[metric].astype(float).to_numpy()
    low, high = _scale_bounds(values, metric)
    scaled = np.clip((values - low) / (high - low), 0, 1)
    bins = np.minimum(np.floor(np.nan_to_num(scaled) * MAP_BINS), MAP_BINS - 1).astype(int)
    bins[np.isnan(values)] = -1
    palette = _palette(metric, light)
    edge = "rgba(255,255,255,0.6)" if light else "rgba(10,22,40,0.6)"
    fig = go.Figure()
    for bin_index in sorted(set(bins.tolist())):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for cell in cells["cell"].to_numpy()[bins == bin_index]:
            ring = h3.cell_to_boundary(str(cell))
            xs += [lng for _, lng in ring] + [ring[0][1], None]
            ys += [lat for lat, _ in ring] + [ring[0][0], None]
        color = MISSING_COLOR[light] if bin_index < 0 else _color_at(palette, (bin_index + 0.5) / MAP_BINS)
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            fill="toself",
            fillcolor=color,
            line={"width": 0.4, "color": edge},
            hoverinfo="skip",
            showlegend=False,
        )
    if boundaries is not None and not boundaries.empty:
        import json

        xs, ys = [], []
        for geometry in boundaries["geometry"]:
            for ring in _rings(json.loads(geometry)):
                xs += [p[0] for p in ring] + [None]
                ys += [p[1] for p in ring] + [None]
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"width": 1.2, "color": "#475569" if light else "#94c5ff"},
            hoverinfo="skip",
            showlegend=False,
        )
    percent = metric == "resolution_rate"
    factor = 100 if percent else 1
    fig.add_scatter(
        x=[None],
        y=[None],
        mode="markers",
        showlegend=False,
        hoverinfo="skip",
        marker={
            "colorscale": [
                [i / (len(palette) - 1), _color_at(palette, i / (len(palette) - 1))]
                for i in range(len(palette))
            ],
            "cmin": low * factor,
            "cmax": high * factor,
            "color": [low * factor],
            "showscale": True,
            "colorbar": {
                "title": {"text": t(f"metric_{metric}", lang), "side": "right"},
                "thickness": 12,
                "len": 0.6,
                "ticksuffix": "%" if percent else "",
                # whole numbers for counts: a legend of 0.5 events reads oddly
                **(
                    {}
                    if percent or metric == "density"
                    else {"tickformat": ",d", **({"dtick": 1} if high <= 8 else {})}
                ),
            },
        },
    )
    named = labels.dropna(subset=["lon", "lat"]) if not labels.empty else labels
    if not named.empty:
        fig.add_scatter(
            x=named["lon"],
            y=named["lat"],
            mode="text",
            text=named["name"],
            showlegend=False,
            hoverinfo="skip",
            textfont={
                "size": 11,
                "color": "#111827" if light else "#f1f5f9",
                "shadow": "0 0 3px #ffffff" if light else "0 0 3px #0a1628",
            },
        )
    lat_mid = float(np.mean([h3.cell_to_latlng(str(cell))[0] for cell in cells["cell"].head(200)]))
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(
        visible=False,
        showgrid=False,
        scaleanchor="x",
        scaleratio=1 / max(math.cos(math.radians(lat_mid)), 0.1),
    )
    charts.themed(fig, title=title, light=light)
    fig.update_layout(showlegend=False, margin={"l": 4, "r": 4, "t": 40 if title else 4, "b": 4})
    return fig
