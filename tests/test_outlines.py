"""Region outlines: shipped for the city and its districts, derived below so that children tile their
parent, overridden by the input folder; the map that fits them and names them without overlap."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import shapely

from dashboard import choropleth, maps
from dashboard.queries import OPERATOR, Gate, child_outlines
from pipelines import outlines
from tests.inputs import build_folder, query, run_cli, write_folder

# A child's outline may differ from its share of the parent by the rounding of its vertices to 1e-5°
# (about a metre): relative to the parent's area, a tiny township's whole border moved by that much.
AREA_TOLERANCE = 5e-3
OVERLAP_TOLERANCE = 1e-9  # square degrees, about 0.01 m²: shared borders only, no shared area
# The overview's map on a 1920 × 1080 screen: on the wall (no sidebar) and on the desk (beside it).
MAP_SIZES = {"wall": (700, 528), "desk": (540, 530)}
SHOWN = {"city": "50", "渝中区": "500103", "荣昌区": "500153", "昌州街道": "500153002"}


def stored(db) -> pd.DataFrame:
    """Every stored outline with its region's parent, as shapely geometries."""
    rows = query(
        db,
        """
        select boundaries.code, boundaries.level, boundaries.source, regions.parent_code, boundaries.geometry
        from boundaries
        join regions using (code)
        """,
    )
    frame = pd.DataFrame(rows, columns=["code", "level", "source", "parent_code", "geometry"])
    frame["shape"] = shapely.from_geojson(frame["geometry"].to_numpy())
    return frame


@pytest.fixture(scope="module")
def demo_outlines(demo_db) -> pd.DataFrame:
    """The demo database's stored outlines."""
    return stored(demo_db)


def tiling_errors(children: np.ndarray, parent: shapely.Geometry) -> tuple[float, float]:
    """(area the children's union misses or adds, relative to the parent; area they share with each other)."""
    union = shapely.union_all(children)
    gap = abs(shapely.area(shapely.symmetric_difference(union, parent))) / parent.area
    overlap = float(shapely.area(children).sum() - union.area)
    return gap, overlap


def test_the_city_has_its_38_districts_outlined_as_shipped(demo_db, demo_outlines):
    districts = demo_outlines[demo_outlines["level"] == "district"]
    assert len(districts) == 38
    assert set(districts["source"]) == {"shipped"}
    shown = child_outlines(demo_db, "50")
    assert len(shown) == 38 and shown["geometry"].str.startswith('{"type":"').all()
    city = demo_outlines.set_index("code").loc["50", "shape"]
    gap, overlap = tiling_errors(districts["shape"].to_numpy(), city)
    assert gap < 1e-6 and overlap < OVERLAP_TOLERANCE


def test_every_districts_townships_and_every_townships_communities_tile_it(demo_outlines):
    shapes = demo_outlines.set_index("code")["shape"]
    families = demo_outlines[demo_outlines["level"].isin(["township", "community"])].groupby("parent_code")
    assert families.ngroups == 38 + 1031
    worst_gap, worst_overlap = 0.0, 0.0
    for parent, family in families:
        gap, overlap = tiling_errors(family["shape"].to_numpy(), shapes[parent])
        worst_gap, worst_overlap = max(worst_gap, gap), max(worst_overlap, overlap)
    assert worst_gap < AREA_TOLERANCE
    assert worst_overlap < OVERLAP_TOLERANCE


@pytest.mark.parametrize("community", ["500153002001", "500103001001", "500231001200"])
def test_a_communitys_grids_tile_it(demo_db, demo_outlines, community):
    grids = child_outlines(demo_db, community, simplified=False)
    assert len(grids) == len(query(demo_db, "select 1 from regions where parent_code = ?", [community]))
    parent = demo_outlines.set_index("code").loc[community, "shape"]
    gap, overlap = tiling_errors(shapely.from_geojson(grids["geometry"].to_numpy()), parent)
    assert gap < AREA_TOLERANCE and overlap < OVERLAP_TOLERANCE


def test_the_demo_places_every_grid_inside_its_districts_real_outline(demo_db):
    real = outlines.shipped()
    grids = pd.DataFrame(
        query(demo_db, "select code, lon, lat from regions where level = 'grid'"),
        columns=["code", "lon", "lat"],
    )
    inside = shapely.contains_xy(
        np.array([real[code[:6]] for code in grids["code"]]), grids["lon"].to_numpy(), grids["lat"].to_numpy()
    )
    assert len(grids) > 90_000 and inside.all()


# ------------------------------------------------------------------------------------ the map


def shown_areas(db, code: str) -> pd.DataFrame:
    end = dt.date(2024, 12, 31)
    gate = Gate(OPERATOR)
    original = choropleth.ask
    choropleth.ask = lambda principal, name, *args: gate.ask(name, *args)
    try:
        return choropleth.areas(OPERATOR, str(db), code, dt.date(2024, 1, 1), end, "zh")
    finally:
        choropleth.ask = original


def drawn_labels(deck) -> pd.DataFrame:
    layer = next(layer for layer in deck.layers if layer.id == "labels")
    return pd.DataFrame(layer.data)


@pytest.mark.parametrize("size", list(MAP_SIZES))
@pytest.mark.parametrize("place", list(SHOWN))
def test_every_child_is_in_view_and_no_two_names_overlap(demo_db, place, size):
    width, height = MAP_SIZES[size]
    areas = shown_areas(demo_db, SHOWN[place])
    deck = maps.choropleth_map(
        areas, "events", width, height, font_px=choropleth.FONT_PX[size], weight="importance"
    )
    view = deck.initial_view_state
    x0, y0 = maps.to_pixels(areas["lon_min"], areas["lat_max"], view, width, height)
    x1, y1 = maps.to_pixels(areas["lon_max"], areas["lat_min"], view, width, height)
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= width).all() and (y1 <= height).all()

    labels = drawn_labels(deck)
    xs, ys = maps.to_pixels(labels["lon"], labels["lat"], view, width, height)
    sizes = [maps.label_size(name, choropleth.FONT_PX[size]) for name in labels["name"]]
    boxes = [
        shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        for x, y, (w, h) in zip(xs, ys, sizes, strict=True)
    ]
    assert all(
        0 <= b.bounds[0] and b.bounds[2] <= width and 0 <= b.bounds[1] and b.bounds[3] <= height
        for b in boxes
    )
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    # the most populous child keeps its name
    assert areas.sort_values("importance").iloc[-1]["name"] in set(labels["name"])
    if place != "city":  # a district's townships and a township's communities all fit
        assert len(labels) >= len(areas) - 3


def test_labels_keep_the_most_important_when_space_runs_out():
    view = maps.pdk.ViewState(longitude=106.5, latitude=29.5, zoom=12)
    names = pd.DataFrame(
        {
            "code": ["1", "2", "3"],
            "name": ["小的地方", "大的地方", "中的地方"],
            "lon": 106.5,
            "lat": 29.5,
            "weight": [1, 3, 2],
        }
    )
    placed = maps.place_labels(names, view, 200, 70, 16, weight="weight")
    assert list(placed["name"]) == ["大的地方", "中的地方", "小的地方"][: len(placed)]
    assert 1 <= len(placed) < 3


def test_the_legend_says_what_colours_mean_and_in_what_unit():
    areas = pd.DataFrame({"events": [0, 5, 10, np.nan]})
    stops = maps.legend_stops(areas["events"], "events")
    texts = choropleth.legend_texts(stops, "events", "zh")
    html = maps.legend_html(stops, "事件数（件）", texts, "无数据")
    assert texts[0] == "0" and texts[-1].startswith("≥")
    assert "事件数（件）" in html and "无数据" in html and html.count("background:") == len(stops) + 1
    rates = maps.legend_stops(pd.Series([0.6, 0.9]), "resolution_rate")
    assert choropleth.legend_texts(rates, "resolution_rate", "en")[-1] == "100%"


# ------------------------------------------------------------------------- input and command line

SQUARE = [[106.4, 29.4], [106.6, 29.4], [106.6, 29.6], [106.4, 29.6], [106.4, 29.4]]
WEST = [[106.4, 29.4], [106.5, 29.4], [106.5, 29.6], [106.4, 29.6], [106.4, 29.4]]


def test_an_input_boundaries_file_overrides_shipped_and_derived_outlines(tmp_path):
    folder = write_folder(tmp_path / "input", {})
    features = [
        {
            "type": "Feature",
            "properties": {"code": code},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for code, ring in (("500101", SQUARE), ("500101001", WEST))
    ]
    (folder / "boundaries.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    db = tmp_path / "yiping.duckdb"
    build_folder(folder, db)
    rows = stored(db).set_index("code")
    assert rows.loc["500101", "source"] == "input" and rows.loc["500101", "shape"].equals(
        shapely.Polygon(SQUARE)
    )
    assert rows.loc["500101001", "source"] == "input"
    assert rows.loc["500102", "source"] == "shipped"
    # the town not given takes what of the given district its given sibling leaves
    town = rows.loc["500101002"]
    assert town["source"] == "derived"
    assert (
        town["shape"].symmetric_difference(shapely.Polygon(SQUARE).difference(shapely.Polygon(WEST))).area
        < 1e-8
    )


def test_the_outlines_command_prints_the_childrens_outlines(demo_db):
    done = run_cli("outlines", "--db", str(demo_db), "--region", "500153")
    assert done.returncode == 0, done.stderr
    collection = json.loads(done.stdout)
    children = query(demo_db, "select code, name from regions where parent_code = '500153' order by code")
    assert collection["type"] == "FeatureCollection"
    assert [(f["properties"]["code"], f["properties"]["name"]) for f in collection["features"]] == children
    assert {f["geometry"]["type"] for f in collection["features"]} <= {"Polygon", "MultiPolygon"}
    unknown = run_cli("outlines", "--db", str(demo_db), "--region", "500199")
    assert unknown.returncode == 1 and "500199" in unknown.stderr and unknown.stdout == ""
