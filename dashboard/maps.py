"""Map builders: plain functions from DataFrames to a pydeck Deck. No Streamlit calls here.

The map draws on a blank local style: no tile server, no request to any other host.
"""

from __future__ import annotations

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


def cell_colors(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """RGBA per cell: rates on a red-to-green scale, counts and densities on a sequential one."""
    values = frame[metric].astype(float).to_numpy()
    if metric == "resolution_rate":
        return _ramp(np.clip((values - 0.5) / 0.5, 0, 1), DIVERGING)
    finite = values[np.isfinite(values)]
    top = np.quantile(finite, 0.95) if len(finite) else 1.0
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
    if not labels.empty:
        placed = labels.dropna(subset=["lon", "lat"])
        names = inert_frame(placed[["code", "name", "lon", "lat"]].assign(tip=tooltip_text(placed, None)))
        # deck.gl draws only the characters it is given; pydeck must pass them as a plain string.
        character_set = pdk.types.String(
            "".join(sorted(set("".join(names["name"].astype(str))) | set("0123456789")))
        )
        layers.append(
            pdk.Layer(
                "TextLayer",
                data=names,
                id="labels",
                get_position="[lon, lat]",
                get_text="name",
                get_size=16,
                get_color=[235, 245, 255, 255],
                # The browser's default sans-serif (Noto Sans CJK here): a named family shrinks the atlas.
                character_set=character_set,
                background=True,
                get_background_color=[6, 20, 40, 170],
                background_padding=[4, 2],
                pickable=True,
            )
        )
    if not labels.empty and labels["lon_min"].notna().any():
        view = view_for(
            labels["lon_min"].min(),
            labels["lon_max"].max(),
            labels["lat_min"].min(),
            labels["lat_max"].max(),
            width,
            height,
        )
    else:
        view = pdk.ViewState(longitude=107.8, latitude=30.0, zoom=6.2)
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
