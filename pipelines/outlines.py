"""Region outlines at every level: real ones where they exist, derived ones that tile their parent below.

The city and its 38 districts ship with the project (data/reference/chongqing_outlines.geojson, WGS84).
No public outline exists below the district, so each region's children get one derived from their
positions: the Voronoi cells of the children's seats, clipped to the parent's outline. The children
of a parent therefore tile it exactly (no gap, no overlap), township inside district, community
inside township, grid inside community. A `boundaries.geojson` in the input folder overrides both:
its outlines are taken as given, and their siblings are derived in what of the parent they leave.

Every position is WGS84, like the input's lon/lat. Geometry is shapely's (GEOS); nothing here is
hand-written geometry.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely import Geometry

from pipelines.contract import CITY_CODE

SHIPPED_FILE = Path(__file__).resolve().parent.parent / "data" / "reference" / "chongqing_outlines.geojson"
# Coordinates are kept to 5 decimals (about 1 m): plenty for a wall, small for a browser.
DECIMALS = 5
KM_PER_DEGREE = 111.32
# Chongqing lies between 28° and 32.5° N: a degree of longitude is cos(30°) of a degree of latitude.
MIDDLE_LATITUDE = 30.0
LEVEL_ORDER = ("city", "district", "township", "community", "grid")
# Derived by `build` and stored; a community's grids (about ten) are derived when they are shown,
# which costs milliseconds, where deriving all hundred thousand grids would cost every build seconds.
STORED_DERIVED_LEVELS = ("township", "community")
COLUMNS = (
    "code",
    "level",
    "source",
    "geometry",
    "label_lon",
    "label_lat",
    "area_km2",
    "lon_min",
    "lat_min",
    "lon_max",
    "lat_max",
)


def shipped() -> dict[str, Geometry]:
    """The outlines shipped with the project: the city (code 50) and its districts, by code."""
    collection = json.loads(SHIPPED_FILE.read_text(encoding="utf-8"))
    return {
        str(feature["properties"]["code"]): shapely.from_geojson(json.dumps(feature["geometry"]))
        for feature in collection["features"]
    }


def from_geojson(geometry: dict) -> Geometry:
    """A GeoJSON geometry as a valid shapely polygonal geometry (overlapping parts merged)."""
    shape = shapely.make_valid(shapely.from_geojson(json.dumps(geometry)))
    return _polygonal(shape)


def _polygonal(shape: Geometry) -> Geometry:
    """Only the polygons of a geometry (an intersection may leave slivers of lines and points)."""
    if shape.geom_type in ("Polygon", "MultiPolygon"):
        return shape
    parts = [p for p in shapely.get_parts(shape) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def rounded(shapes: np.ndarray) -> np.ndarray:
    """Coordinates rounded to 1e-5 degrees: a vertex two tiles share is rounded alike, so tiles stay tiles."""
    shapes = shapely.transform(shapes, lambda xy: np.round(xy, DECIMALS))
    broken = np.flatnonzero(~shapely.is_valid(shapes))  # a sliver folded by the rounding
    shapes[broken] = [_polygonal(shapely.make_valid(shape)) for shape in shapes[broken]]
    return shapes


def derive_children(
    parent: Geometry, sites: dict[str, tuple[float, float]], taken: Geometry | None = None
) -> dict[str, Geometry]:
    """Outlines for children at `sites` (code -> lon, lat) that tile `parent` minus `taken`."""
    return derive_level([(parent, sites, taken)])


def derive_level(
    families: list[tuple[Geometry, dict[str, tuple[float, float]], Geometry | None]],
) -> dict[str, Geometry]:
    """For each (parent outline, children's sites, outlines already taken), outlines that tile the parent.

    Each child gets the part of its parent nearer its site than any sibling's (a Voronoi cell,
    computed with longitude scaled by the cosine of the city's latitude so that distances are true), less
    what siblings given their own outline take. A child whose cell misses the parent gets none.
    Sites that coincide are spread apart by a few metres. All families are computed at once.
    """
    families = [(p, s, t) for p, s, t in families if s and not p.is_empty]
    if not families:
        return {}
    areas = np.array(
        [p if t is None or t.is_empty else _polygonal(shapely.difference(p, t)) for p, _, t in families]
    )
    codes = [list(s) for _, s, _ in families]
    points = [
        np.array([s[c] for c in cs], dtype=float).reshape(-1, 2)
        for (_, s, _), cs in zip(families, codes, strict=True)
    ]
    points = _spread(points)
    scale = math.cos(math.radians(MIDDLE_LATITUDE))
    bounds = shapely.bounds(areas)
    margin = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]) + 1.0
    frames = shapely.box(
        bounds[:, 0] * scale - margin,
        bounds[:, 1] - margin,
        bounds[:, 2] * scale + margin,
        bounds[:, 3] + margin,
    )
    many = np.array([len(p) > 1 for p in points])
    out: dict[str, Geometry] = {}
    for family in np.flatnonzero(~many):
        out[codes[family][0]] = areas[family]
    if many.any():
        chosen = np.flatnonzero(many)
        flat = np.vstack([points[f] for f in chosen]) * [scale, 1.0]
        owner = np.repeat(np.arange(len(chosen)), [len(points[f]) for f in chosen])
        seeds = shapely.multipoints(shapely.points(flat), indices=owner)
        diagrams = shapely.voronoi_polygons(seeds, extend_to=frames[chosen], ordered=True)
        cells, index = shapely.get_parts(diagrams, return_index=True)
        cells = shapely.transform(cells, lambda xy: xy / [scale, 1.0])
        clipped = shapely.intersection(cells, areas[chosen][index])
        names = [code for f in chosen for code in codes[f]]
        kinds = shapely.get_type_id(clipped)
        for code, cell, kind in zip(names, clipped, kinds, strict=True):
            cell = cell if kind in (3, 6) else _polygonal(cell)  # 3, 6: Polygon, MultiPolygon
            if not cell.is_empty and cell.area > 0:
                out[code] = cell
    return out


def _spread(families: list[np.ndarray]) -> list[np.ndarray]:
    """Each family's points with coinciding ones moved apart by metres in a fixed pattern, so that
    each has its own cell."""
    if not families:
        return families
    flat = np.vstack(families)
    owner = np.repeat(np.arange(len(families)), [len(f) for f in families])
    keys = np.column_stack([owner, np.round(flat * 1e6)])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    repeated = np.flatnonzero(first[inverse.ravel()] != np.arange(len(flat)))
    if not len(repeated):
        return families
    seen: dict[int, int] = {}
    for i in repeated:
        n = seen[int(inverse.ravel()[i])] = seen.get(int(inverse.ravel()[i]), 0) + 1
        angle = n * 2.399963  # the golden angle: no two land on one spot
        flat[i] += [1e-4 * math.sqrt(n) * math.cos(angle), 1e-4 * math.sqrt(n) * math.sin(angle)]
    return np.split(flat, np.cumsum([len(f) for f in families])[:-1])


def region_sites(regions: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Where each region is for deriving outlines: its own position, else the mean of its grids'."""
    located = regions.dropna(subset=["lon", "lat"])
    own = located[located["has_own_position"].astype(bool)]
    sites = dict(zip(own["code"].astype(str), zip(own["lon"], own["lat"], strict=True), strict=True))
    grids = located[located["level"] == "grid"]
    for length in (12, 9, 6):
        means = grids.groupby(grids["code"].str[:length])[["lon", "lat"]].mean()
        for code, lon, lat in zip(means.index, means["lon"], means["lat"], strict=True):
            sites.setdefault(str(code), (float(lon), float(lat)))
    return sites


def build_outlines(regions: pd.DataFrame, given: dict[str, Geometry] | None = None) -> pd.DataFrame:
    """An outline for every region that can have one, from the top down (columns `COLUMNS`).

    `regions` has code, level, parent_code, lon, lat, has_own_position; `given` outlines (from the input
    folder) win over shipped ones, shipped ones over derived ones.
    """
    given = dict(given or {})
    reference = shipped()
    sites = region_sites(regions)
    outline: dict[str, Geometry] = {}
    source: dict[str, str] = {}
    by_level = {level: regions[regions["level"] == level] for level in LEVEL_ORDER}
    for code in [CITY_CODE, *by_level["district"]["code"]]:
        if code in given:
            outline[code], source[code] = given[code], "input"
        elif code in reference:
            outline[code], source[code] = reference[code], "shipped"
    for level in STORED_DERIVED_LEVELS:
        families = []
        members: dict[str, list[str]] = {}
        for code, parent in zip(by_level[level]["code"], by_level[level]["parent_code"], strict=True):
            members.setdefault(str(parent), []).append(str(code))
        for parent, codes in members.items():
            mine = {c: given[c] for c in codes if c in given}
            for code, shape in mine.items():
                outline[code], source[code] = shape, "input"
            if parent in outline:
                taken = shapely.union_all(list(mine.values())) if mine else None
                families.append(
                    (outline[parent], {c: sites[c] for c in codes if c not in mine and c in sites}, taken)
                )
        derived = derive_level(families)
        shapes = rounded(np.array(list(derived.values())))
        for code, shape in zip(derived, shapes, strict=True):
            outline[code], source[code] = shape, "derived"
    return outline_frame(outline, source, regions.set_index("code")["level"].to_dict())


def outline_frame(
    outline: dict[str, Geometry], source: dict[str, str], levels: dict[str, str]
) -> pd.DataFrame:
    """The outlines as rows: GeoJSON text, a point inside for the label, area in km², bounds."""
    codes = list(outline)
    if not codes:
        return pd.DataFrame(columns=list(COLUMNS))
    shapes = np.array([outline[c] for c in codes])
    bounds = shapely.bounds(shapes)
    level = np.array([levels.get(c, "city") for c in codes])
    labels = label_points(shapes, level != "grid")
    mid_lat = (bounds[:, 1] + bounds[:, 3]) / 2
    area = shapely.area(shapes) * KM_PER_DEGREE**2 * np.cos(np.radians(mid_lat))
    return pd.DataFrame(
        {
            "code": codes,
            "level": level,
            "source": [source[c] for c in codes],
            "geometry": [shapely.to_geojson(s) for s in shapes],
            "label_lon": shapely.get_x(labels).round(6),
            "label_lat": shapely.get_y(labels).round(6),
            "area_km2": area.round(4),
            "lon_min": bounds[:, 0],
            "lat_min": bounds[:, 1],
            "lon_max": bounds[:, 2],
            "lat_max": bounds[:, 3],
        }
    )


def label_points(shapes: np.ndarray, deep: np.ndarray) -> np.ndarray:
    """For each outline a point inside it for its name: where `deep`, the point deepest inside its
    largest part (where a name reads best); elsewhere (grids, many and small) any point inside."""
    points = shapely.point_on_surface(shapes)
    chosen = np.flatnonzero(deep)
    if len(chosen):
        largest = []
        for shape in shapes[chosen]:
            parts = shapely.get_parts(shape)
            largest.append(parts[int(np.argmax(shapely.area(parts)))] if len(parts) > 1 else shape)
        largest = np.array(largest)
        spans = shapely.bounds(largest)
        tolerance = np.maximum(spans[:, 2] - spans[:, 0], spans[:, 3] - spans[:, 1]) / 100 + 1e-7
        points[chosen] = shapely.get_point(shapely.maximum_inscribed_circle(largest, tolerance), 0)
    return points


def feature_collection(rows: pd.DataFrame) -> dict:
    """Rows with code, name and geometry (GeoJSON text) as a GeoJSON FeatureCollection."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": str(row.code), "name": str(row.name)},
                "geometry": json.loads(row.geometry),
            }
            for row in rows.itertuples()
        ],
    }
