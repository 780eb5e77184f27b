"""Map builders: plain functions from DataFrames to a pydeck Deck. No Streamlit calls here.

The map draws on a blank local style: no tile server, no request to any other host.
"""

from __future__ import annotations

import html
import json
import math
import re

import numpy as np
import pandas as pd
import pydeck as pdk

# Served by Streamlit's static folder (server.enableStaticServing): a one-layer background style.
LOCAL_STYLE = "app/static/map_style.json"

# Low to high, on the dark background.
SEQUENTIAL = [(12, 52, 86), (14, 86, 128), (16, 127, 166), (34, 172, 194), (134, 219, 224), (236, 252, 203)]
# Bad to good, for rates.
DIVERGING = [(239, 68, 68), (251, 146, 60), (250, 204, 21), (163, 230, 53), (52, 211, 153)]
# The map's front end reads every string of the deck, data included, and takes one starting `@@` as
# code: `@@=` an expression, `@@#` a constant (a region named `@@#GL.ONE` replaced the map by an
# error). A zero-width space in front keeps such a name as text and invisible.
DECK_CODE_PREFIX = "@@"
INERT = "\u200b"
TOOLTIP_STYLE = {"backgroundColor": "#0a1628", "color": "#e2ecf7", "whiteSpace": "pre-line"}
_FIELD = re.compile(r"\{(\w+)\}")
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def inert(value: object) -> object:
    """A string the map's front end would run as code, made plain text; anything else unchanged."""
    if isinstance(value, str) and value.startswith(DECK_CODE_PREFIX):
        return INERT + value
    return value


def inert_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with `inert` applied to every text column, for data sent to the map."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(inert)
    return frame


def _shown(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):,.2f}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return str(value)


def tooltip_text(frame: pd.DataFrame, template: str | None) -> pd.Series:
    """Plain tooltip text per row: its own `tip`, else `template` filled from the row, else its name.

    The map's front end escapes every value it puts into an HTML tooltip, so HTML in a value shows
    as tags; the tooltip is therefore plain text (lines, no markup), which it shows as written. A
    template's `<br/>` becomes a line break; a row lacking a template field shows its name instead
    of the bare `{field}`.
    """
    if "tip" in frame.columns:
        return frame["tip"].fillna("").astype(str)
    if frame.empty:
        return pd.Series("", index=frame.index, dtype=str)
    names = (
        frame["name"].fillna("").astype(str) if "name" in frame.columns else pd.Series("", index=frame.index)
    )
    fields = _FIELD.findall(template or "")
    if not template or not set(fields) <= set(frame.columns):
        return names
    lines = _TAG.sub("", _LINE_BREAK.sub("\n", template))
    return frame.apply(lambda row: _FIELD.sub(lambda m: _shown(row[m.group(1)]), lines), axis=1).astype(str)


def _ramp(values: np.ndarray, colors: list[tuple[int, int, int]]) -> np.ndarray:
    """Colours for values already scaled to [0, 1]; NaN gets a dim grey."""
    stops = np.linspace(0, 1, len(colors))
    palette = np.array(colors, dtype=float)
    out = np.empty((len(values), 4), dtype=int)
    for channel in range(3):
        out[:, channel] = np.interp(np.nan_to_num(values, nan=0.0), stops, palette[:, channel]).round()
    out[:, 3] = 210
    missing = np.isnan(values)
    out[missing] = (70, 85, 105, 140)
    return out


def scale_top(values: np.ndarray) -> float:
    """The value a count or density scale tops out at: the 95th percentile, so one outlier does not
    wash out the rest."""
    finite = values[np.isfinite(values)]
    return float(np.quantile(finite, 0.95)) if len(finite) else 1.0


def cell_colors(frame: pd.DataFrame, metric: str, top: float | None = None) -> np.ndarray:
    """RGBA per cell: rates on a red-to-green scale, counts and densities on a sequential one up to
    `top` (by default `scale_top` of the values)."""
    values = frame[metric].astype(float).to_numpy()
    if metric == "resolution_rate":
        return _ramp(np.clip((values - 0.5) / 0.5, 0, 1), DIVERGING)
    top = scale_top(values) if top is None else top
    scaled = np.clip(values / top, 0, 1) if top > 0 else np.zeros_like(values)
    if metric == "overdue":
        return _ramp(scaled, [(40, 60, 90), (251, 146, 60), (239, 68, 68)])
    return _ramp(scaled, SEQUENTIAL)


def view_for(
    lon_min: float, lon_max: float, lat_min: float, lat_max: float, width: int = 900, height: int = 560
) -> pdk.ViewState:
    """A view that fits the box in a map of the given pixel size."""
    lon_span = max(lon_max - lon_min, 0.01)
    lat_span = max(lat_max - lat_min, 0.01)
    lat_mid = (lat_min + lat_max) / 2
    zoom_lon = math.log2(width * 360 / (lon_span * 512))
    zoom_lat = math.log2(height * 360 / (lat_span / math.cos(math.radians(lat_mid)) * 512))
    zoom = max(3.0, min(zoom_lon, zoom_lat, 15.0) - 0.15)
    return pdk.ViewState(longitude=(lon_min + lon_max) / 2, latitude=lat_mid, zoom=zoom, pitch=0, bearing=0)


def region_map(
    cells: pd.DataFrame,
    metric: str,
    labels: pd.DataFrame,
    boundaries: pd.DataFrame | None = None,
    height: int = 560,
    width: int = 900,
    tooltip_html: str | None = None,
) -> pdk.Deck:
    """Grids as H3 hexagons coloured by `metric`, the children labelled in Chinese, outlines if given."""
    layers: list[pdk.Layer] = []
    data = cells.copy()
    if not data.empty:
        colors = cell_colors(data, metric)
        data["r"], data["g"], data["b"], data["a"] = colors.T
        data["value"] = data[metric].astype(float).round(4)
        data["tip"] = tooltip_text(data, tooltip_html)
        layers.append(
            pdk.Layer(
                "H3HexagonLayer",
                # `code` (where a click drills) passes through when given.
                data=inert_frame(
                    data[
                        [
                            "cell",
                            "r",
                            "g",
                            "b",
                            "a",
                            "value",
                            "events",
                            "residents",
                            "overdue",
                            "tip",
                            *[c for c in ("code",) if c in data.columns],
                        ]
                    ]
                ),
                id="cells",
                get_hexagon="cell",
                get_fill_color="[r, g, b, a]",
                stroked=False,
                extruded=False,
                pickable=True,
                auto_highlight=True,
            )
        )
    if boundaries is not None and not boundaries.empty:
        features = [
            {"type": "Feature", "properties": {"code": inert(row.code)}, "geometry": json.loads(row.geometry)}
            for row in boundaries.itertuples()
        ]
        layers.append(
            pdk.Layer(
                "GeoJsonLayer",
                data={"type": "FeatureCollection", "features": features},
                id="boundaries",
                stroked=True,
                filled=False,
                get_line_color=[148, 197, 255, 200],
                line_width_min_pixels=1.5,
            )
        )
    view = fit_view(labels, width, height, margin_px=8)
    if not labels.empty:
        weight = (
            "area_km2" if "area_km2" in labels.columns else ("grids" if "grids" in labels.columns else None)
        )
        placed = place_labels(labels.assign(tip=tooltip_text(labels, None)), view, width, height, 14, weight)
        if not placed.empty:
            layers.append(label_layer(placed, 14))
    return pdk.Deck(
        layers=layers,
        initial_view_state=view,
        map_style=LOCAL_STYLE,
        map_provider=None,
        tooltip={"text": "{tip}", "style": TOOLTIP_STYLE},
        height=height,
    )


# ------------------------------------------------------------------------------ IoT points

# Device types in a fixed order and colour, the same on every map and chart.
DEVICE_COLORS = {
    "smoke_detector": (248, 113, 113),
    "door_access": (96, 165, 250),
    "bin_sensor": (52, 211, 153),
    "parking_sensor": (251, 191, 36),
    "high_throw_camera": (167, 139, 250),
    "gas_detector": (244, 114, 182),
    "water_sensor": (34, 211, 238),
}
STATUS_COLORS = {"online": (52, 211, 153), "offline": (251, 146, 60), "retired": (100, 116, 139)}
OPEN_ALARM_COLOR = (239, 68, 68)
HANDLED_ALARM_COLOR = (250, 204, 21)


def _points(frame: pd.DataFrame, colors: dict[str, tuple[int, int, int]], column: str) -> pd.DataFrame:
    data = frame.copy()
    rgb = np.array([colors.get(value, (148, 163, 184)) for value in data[column]], dtype=int).reshape(-1, 3)
    data["r"], data["g"], data["b"] = rgb.T
    return data


def alarm_layer(points: pd.DataFrame) -> pdk.Layer:
    """Devices that raised alarms (`queries.alarm_points`, with a `tip`): red and ringed where an alarm
    is still open, small dim amber where all are handled, larger with more alarms; open ones on top."""
    data = points.sort_values(["open_alarms", "alarms"], kind="stable").copy()
    is_open = data["open_alarms"].to_numpy() > 0
    rgb = np.where(is_open[:, None], OPEN_ALARM_COLOR, HANDLED_ALARM_COLOR)
    data["r"], data["g"], data["b"] = rgb.T
    data["a"] = np.where(is_open, 255, 120)
    data["ring"] = np.where(is_open, 255, 0)
    grown = np.sqrt(data["alarms"].to_numpy(dtype=float)).clip(0, 4)
    data["radius"] = np.where(is_open, 6 + grown, 1.5 + grown / 2)
    return pdk.Layer(
        "ScatterplotLayer",
        data=inert_frame(data[["code", "lon", "lat", "r", "g", "b", "a", "ring", "radius", "tip"]]),
        id="alarm_points",
        get_position="[lon, lat]",
        get_fill_color="[r, g, b, a]",
        get_radius="radius",
        radius_units=pdk.types.String("pixels"),  # a plain string, not an expression
        stroked=True,
        get_line_color="[255, 255, 255, ring]",
        line_width_units=pdk.types.String("pixels"),
        get_line_width=1.5,
        pickable=True,
    )


def under_labels(deck: pdk.Deck, layer: pdk.Layer) -> pdk.Deck:
    """The deck with `layer` drawn above its cells and outlines, under the names (which stay readable)."""
    names = [number for number, drawn in enumerate(deck.layers) if drawn.id == "labels"]
    deck.layers.insert(names[0] if names else len(deck.layers), layer)
    return deck


def device_map(
    devices: pd.DataFrame,
    color_by: str,
    labels: pd.DataFrame,
    boundaries: pd.DataFrame | None = None,
    height: int = 560,
    width: int = 900,
) -> pdk.Deck:
    """Devices (`queries.device_points`, with a `tip`) as points coloured by `color_by` (device_type or
    status), over the children's outlines and names, as `region_map` draws them."""
    deck = region_map(pd.DataFrame(), "events", labels, boundaries, height=height, width=width)
    if devices.empty:
        return deck
    colors = DEVICE_COLORS if color_by == "device_type" else STATUS_COLORS
    data = _points(devices, colors, color_by)
    layer = pdk.Layer(
        "ScatterplotLayer",
        data=inert_frame(data[["code", "lon", "lat", "r", "g", "b", "tip"]]),
        id="devices",
        get_position="[lon, lat]",
        get_fill_color="[r, g, b, 220]",
        get_radius=3,
        radius_units=pdk.types.String("pixels"),  # a plain string, not an expression
        radius_min_pixels=2,
        pickable=True,
    )
    return under_labels(deck, layer)


# ------------------------------------------------------------------------------ labels that never collide

# Region names are drawn in the browser's default sans-serif (Noto Sans CJK here): a Chinese character
# is one em wide, a Latin letter or digit about 0.6 em; the label's background adds its padding.
LABEL_PADDING = (4, 2)
LABEL_GAP = 2  # pixels kept clear between two labels
WORLD_PX = 512  # deck.gl's world at zoom 0, in pixels


def label_size(name: str, font_px: float) -> tuple[float, float]:
    """The pixel width and height of a label as the map draws it."""
    ems = sum(1.0 if ord(char) > 0x2E80 else 0.62 for char in str(name))
    return ems * font_px + 2 * LABEL_PADDING[0], 1.25 * font_px + 2 * LABEL_PADDING[1]


def _mercator(lon: np.ndarray, lat: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    scale = WORLD_PX * 2.0**zoom
    x = (np.asarray(lon, dtype=float) + 180.0) / 360.0 * scale
    phi = np.radians(np.asarray(lat, dtype=float))
    y = (1 - np.log(np.tan(math.pi / 4 + phi / 2)) / math.pi) / 2 * scale
    return x, y


def to_pixels(lon, lat, view: pdk.ViewState, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """Where positions land on a map of `width` × `height` pixels showing `view` (web Mercator)."""
    x, y = _mercator(lon, lat, view.zoom)
    cx, cy = _mercator(view.longitude, view.latitude, view.zoom)
    return x - cx + width / 2, y - cy + height / 2


def from_pixels(x, y, view: pdk.ViewState, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """The positions at pixels of the map: the inverse of `to_pixels`."""
    scale = WORLD_PX * 2.0**view.zoom
    cx, cy = _mercator(view.longitude, view.latitude, view.zoom)
    wx, wy = np.asarray(x, dtype=float) + cx - width / 2, np.asarray(y, dtype=float) + cy - height / 2
    lon = wx / scale * 360.0 - 180.0
    lat = np.degrees(2 * np.arctan(np.exp(math.pi * (1 - 2 * wy / scale))) - math.pi / 2)
    return lon, lat


def place_labels(
    labels: pd.DataFrame,
    view: pdk.ViewState,
    width: float,
    height: float,
    font_px: float,
    weight: str | None = None,
) -> pd.DataFrame:
    """The labels that fit, without overlapping, on a map of `width` × `height` pixels showing `view`.

    The most important first (the `weight` column, largest first; else in the given order): each goes
    at its position, or just above, below, right or left of it, wherever its box stays on the map and
    clear of the boxes already placed; a label with no such place is left out. The kept rows come back with their
    position moved where the label went and their box in pixels (x0, y0, x1, y1).
    """
    columns = [*labels.columns, "x0", "y0", "x1", "y1"]
    placed = labels.dropna(subset=["lon", "lat"])
    if placed.empty:
        return pd.DataFrame(columns=columns)
    if weight and weight in placed.columns:
        placed = placed.assign(_w=placed[weight].astype(float).fillna(-1.0))
        placed = placed.sort_values("_w", ascending=False, kind="stable").drop(columns="_w")
    xs, ys = to_pixels(placed["lon"], placed["lat"], view, width, height)
    boxes: list[tuple[float, float, float, float]] = []
    kept: list[int] = []
    for i, (name, x, y) in enumerate(zip(placed["name"], xs, ys, strict=True)):
        w, h = label_size(name, font_px)
        # at its place, else just above, below, right or left of it
        for dx, dy in ((0.0, 0.0), (0.0, -h - LABEL_GAP), (0.0, h + LABEL_GAP), (w / 2, 0.0), (-w / 2, 0.0)):
            box = (x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2)
            on_map = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
            if on_map and not any(_overlap(box, other) for other in boxes):
                boxes.append(box)
                kept.append(i)
                break
    out = placed.iloc[kept].copy()
    if out.empty:
        return pd.DataFrame(columns=columns)
    box_array = np.array(boxes)
    out["x0"], out["y0"], out["x1"], out["y1"] = box_array.T
    out["lon"], out["lat"] = from_pixels(
        (box_array[:, 0] + box_array[:, 2]) / 2, (box_array[:, 1] + box_array[:, 3]) / 2, view, width, height
    )
    return out


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return (
        a[0] < b[2] + LABEL_GAP
        and b[0] < a[2] + LABEL_GAP
        and a[1] < b[3] + LABEL_GAP
        and b[1] < a[3] + LABEL_GAP
    )


def label_layer(placed: pd.DataFrame, font_px: float) -> pdk.Layer:
    """The placed labels as a TextLayer whose character set holds every character they use."""
    names = inert_frame(placed[["code", "name", "lon", "lat", *[c for c in ("tip",) if c in placed]]])
    # deck.gl draws only the characters it is given; pydeck must pass them as a plain string.
    character_set = pdk.types.String(
        "".join(sorted(set("".join(names["name"].astype(str))) | set("0123456789")))
    )
    return pdk.Layer(
        "TextLayer",
        data=names,
        id="labels",
        get_position="[lon, lat]",
        get_text="name",
        get_size=font_px,
        get_color=[235, 245, 255, 255],
        # The browser's default sans-serif (Noto Sans CJK here): a named family shrinks the atlas.
        character_set=character_set,
        background=True,
        get_background_color=[6, 20, 40, 190],
        background_padding=list(LABEL_PADDING),
        pickable=True,
    )


# ---------------------------------------------------------------------------------- the choropleth

# What each map metric is counted in, for its legend.
METRIC_UNITS = {
    "events": "unit_events",
    "overdue": "unit_events",
    "resolution_rate": "unit_rate",
    "density": "unit_density",
    "alarms": "unit_alarms",
}
MISSING_RGBA = (70, 85, 105, 140)


def fit_view(frame: pd.DataFrame, width: float, height: float, margin_px: float = 0.0) -> pdk.ViewState:
    """A view in which every row's extent (lon_min … lat_max) is in sight with `margin_px` to spare."""
    known = frame.dropna(subset=["lon_min", "lon_max", "lat_min", "lat_max"]) if not frame.empty else frame
    if known.empty:
        return pdk.ViewState(longitude=107.8, latitude=30.0, zoom=6.2)
    return view_for(
        float(known["lon_min"].min()),
        float(known["lon_max"].max()),
        float(known["lat_min"].min()),
        float(known["lat_max"].max()),
        max(width - 2 * margin_px, 50),
        max(height - 2 * margin_px, 50),
    )


def polygon_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per polygon of each outline (a MultiPolygon gives several), with its rings as `polygon`."""
    rows = []
    for record in frame.to_dict("records"):
        geometry = json.loads(record.pop("geometry"))
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        rows += [{**record, "polygon": polygon} for polygon in polygons]
    return pd.DataFrame(rows)


def choropleth_map(
    areas: pd.DataFrame,
    metric: str,
    width: float,
    height: float,
    font_px: float = 16,
    weight: str | None = None,
    cells: pd.DataFrame | None = None,
    interactive: bool = True,
) -> pdk.Deck:
    """The region's children as their outlines, filled by `metric`, named where the names fit.

    `areas` holds code, name, geometry (GeoJSON text), lon, lat (where the name goes), lon_min …
    lat_max, the metric, and `tip` (the hover text). With `cells`, the grids' hexagons are drawn
    over the outlines as a finer layer and the outlines keep only their borders. Not `interactive`:
    no zooming or panning (the wall, where nobody can use them).
    """
    layers: list[pdk.Layer] = []
    view = fit_view(areas, width, height, margin_px=8)
    if not areas.empty:
        data = areas.copy()
        data["r"], data["g"], data["b"], data["a"] = cell_colors(data, metric).T
        if cells is not None and not cells.empty:
            data["a"] = 0
        data["tip"] = data["tip"] if "tip" in data.columns else tooltip_text(data, None)
        keep = ["code", "name", "geometry", "r", "g", "b", "a", "tip"]
        layers.append(
            pdk.Layer(
                "PolygonLayer",
                data=inert_frame(polygon_rows(data[keep])),
                id="areas",
                get_polygon="polygon",
                get_fill_color="[r, g, b, a]",
                get_line_color=[190, 220, 255, 230],
                line_width_min_pixels=1.2,
                stroked=True,
                filled=True,
                pickable=True,
                auto_highlight=True,
                highlight_color=[255, 255, 255, 60],
            )
        )
    if cells is not None and not cells.empty:
        layers.insert(0, hexagon_layer(cells, metric))
    if not areas.empty:
        placed = place_labels(areas, view, width, height, font_px, weight)
        if not placed.empty:
            layers.append(label_layer(placed, font_px))
    return pdk.Deck(
        layers=layers,
        initial_view_state=view,
        map_style=LOCAL_STYLE,
        map_provider=None,
        tooltip={"text": "{tip}", "style": TOOLTIP_STYLE},
        height=int(height),
        views=[pdk.View(type="MapView", controller=interactive)],
    )


def hexagon_layer(cells: pd.DataFrame, metric: str) -> pdk.Layer:
    """The grids' H3 cells coloured by `metric`, or by events where the cells have no such figure (alarms
    are counted by region, not by cell): the map's finer layer."""
    data = cells.copy()
    data["r"], data["g"], data["b"], data["a"] = cell_colors(data, metric if metric in data else "events").T
    data["tip"] = data["tip"] if "tip" in data.columns else tooltip_text(data, None)
    return pdk.Layer(
        "H3HexagonLayer",
        data=inert_frame(
            data[["cell", "r", "g", "b", "a", "tip", *[c for c in ("code",) if c in data.columns]]]
        ),
        id="cells",
        get_hexagon="cell",
        get_fill_color="[r, g, b, a]",
        stroked=False,
        extruded=False,
        pickable=True,
        auto_highlight=True,
    )


def legend_stops(values: pd.Series, metric: str, steps: int = 5) -> list[tuple[str, float]]:
    """(CSS colour, value) at evenly spaced points of the colour scale `cell_colors` gives these values."""
    numbers = values.astype(float).to_numpy()
    if metric == "resolution_rate":
        points, top = np.linspace(0.5, 1.0, steps), None
    else:
        top = scale_top(numbers)
        points = np.linspace(0.0, top if top > 0 else 1.0, steps)
    if metric != "resolution_rate":
        # whole numbers for counts, each once: a scale up to 3 events reads 0, 1, 2, 3
        points = np.unique(np.round(points)) if top >= 1 else points
    colors = cell_colors(pd.DataFrame({metric: points}), metric, top=top)
    return [(f"rgb({r},{g},{b})", float(v)) for (r, g, b, _), v in zip(colors, points, strict=True)]


def legend_html(
    stops: list[tuple[str, float]], title: str, texts: list[str], missing: str | None, font_px: float = 13
) -> str:
    """The legend as one line of HTML: its title, a swatch per stop with its text, and the colour of
    places without a value. Every text is escaped."""
    swatch = "display:inline-block;width:1.6em;height:0.8em;margin:0 0.25em 0 0.7em;vertical-align:middle"
    parts = [f'<span style="font-weight:600">{html.escape(title)}</span>']
    for (color, _), text in zip(stops, texts, strict=True):
        parts.append(f'<span style="{swatch};background:{color}"></span>{html.escape(text)}')
    if missing:
        grey = "rgb({},{},{})".format(*MISSING_RGBA[:3])
        parts.append(f'<span style="{swatch};background:{grey}"></span>{html.escape(missing)}')
    return (
        f'<div class="yp-map-legend" style="font-size:{font_px}px;line-height:1.6;white-space:nowrap;'
        f'overflow:hidden;text-overflow:ellipsis">{"".join(parts)}</div>'
    )
