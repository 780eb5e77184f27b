"""Regions: one region, its children and ancestors, names, positions, outlines, build facts."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd

from dashboard.queries.common import Period, _child_length, map_resolution, region_range, twelve_months_ending
from dashboard.queries.connections import QueryError, _fetch_df, _fetch_one
from dashboard.queries.gate import general, regional


@regional("code")
def region(db: str | os.PathLike, code: str) -> dict:
    """One region's row of the regions mart; QueryError when it does not exist."""
    code = str(code).strip()
    row = _fetch_one(db, "select * from regions where code = ?", [code])
    if not row:
        raise QueryError(f"区划代码 {code} 不存在")
    return row


@general
def build_info(db: str | os.PathLike) -> dict:
    """When and from what the database was published."""
    return _fetch_one(db, "select * from build_info")


@general
def default_period(db: str | os.PathLike) -> Period:
    """The 12 months ending on the day of the latest event (today when there are no events)."""
    latest = build_info(db).get("latest_event_date") or dt.date.today()
    return twelve_months_ending(latest)


@regional("code")
def children(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """The regions one level below `code`, by code."""
    return _fetch_df(
        db,
        "select code, name, level, kind, lon, lat from regions where parent_code = ? order by code",
        [str(code)],
    )


@regional("code")
def ancestors(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """The region and every region above it, from the city down."""
    prefixes = sorted({str(code)[:n] for n in (2, 6, 9, 12, 15) if n <= len(str(code))}, key=len)
    return _fetch_df(
        db,
        "select code, name, level from regions where code in (select unnest(?::varchar[])) order by depth",
        [prefixes],
    )


@regional("codes")
def region_names(db: str | os.PathLike, codes: list[str]) -> dict[str, str]:
    """code -> name for the given codes."""
    if not codes:
        return {}
    frame = _fetch_df(
        db, "select code, name from regions where code in (select unnest(?::varchar[]))", [codes]
    )
    return dict(zip(frame["code"], frame["name"], strict=True))


@regional("code")
def child_positions(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """Each child of the region where its name goes on the map, with its extent and size: inside its
    outline where it has one (its bounds, its area in km²), else at the centre of its grids."""
    child_length = {2: 6, 6: 9, 9: 12, 12: 15}.get(len(code), len(code))
    lo, hi = region_range(code)
    placed = _fetch_df(
        db,
        """
        with placed as (
            select substr(code, 1, $child_length) as code, avg(lon) as lon, avg(lat) as lat,
                min(lon) as lon_min, max(lon) as lon_max, min(lat) as lat_min, max(lat) as lat_max,
                count(*) as grids
            from regions
            where level = 'grid' and code >= $lo and code < $hi
            group by 1
        )
        select regions.code, regions.name, placed.lon, placed.lat,
            placed.lon_min, placed.lon_max, placed.lat_min, placed.lat_max, placed.grids
        from placed
        join regions using (code)
        order by regions.code
        """,
        {"child_length": child_length, "lo": lo, "hi": hi},
    )
    shapes = child_outlines(db, code)
    if shapes.empty or placed.empty:
        return placed.assign(area_km2=np.nan)
    outlined = placed.merge(shapes.drop(columns=["name", "geometry"]), on="code", how="left")
    has = outlined["label_lon"].notna()
    outlined.loc[has, "lon"] = outlined.loc[has, "label_lon"]
    outlined.loc[has, "lat"] = outlined.loc[has, "label_lat"]
    for bound in ("lon_min", "lat_min", "lon_max", "lat_max"):
        outlined.loc[has, bound] = outlined.loc[has, f"outline_{bound}"]
    return outlined[[*placed.columns, "area_km2"]]


# A region's children are drawn with about this many pixels across it, at most: simpler outlines
# than that cannot be told apart, and the browser gets a fraction of the data.
OUTLINE_PIXELS = 1200


@regional("code")
def child_outlines(db: str | os.PathLike, code: str, simplified: bool = True) -> pd.DataFrame:
    """The outlines of the region's children as GeoJSON text (code, name, geometry, label_lon,
    label_lat, area_km2, outline_lon_min … outline_lat_max), simplified for the browser unless not
    `simplified`.

    Those `build` stored (given, shipped or derived); children below a stored outline without one of
    their own (a community's grids) get theirs derived here, which takes milliseconds."""
    code = str(code)
    frame = _fetch_df(
        db,
        """
        select regions.code, regions.name, regions.level, regions.lon, regions.lat,
            regions.has_own_position, boundaries.geometry, boundaries.source
        from regions
        left join boundaries using (code)
        where regions.parent_code = $code
        order by regions.code
        """,
        {"code": code},
    )
    columns = ["code", "name", "geometry", "label_lon", "label_lat", "area_km2"] + [
        f"outline_{b}" for b in ("lon_min", "lat_min", "lon_max", "lat_max")
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    import shapely

    from pipelines import outlines

    shapes = {
        row.code: shapely.from_geojson(row.geometry)
        for row in frame.itertuples()
        if isinstance(row.geometry, str)
    }
    missing = frame[~frame["code"].isin(list(shapes))]
    if len(missing):
        parent = _fetch_one(db, "select geometry from boundaries where code = ?", [code])
        if parent:
            sites = _grid_sites(db, code, missing)
            taken = shapely.union_all(list(shapes.values())) if shapes else None
            derived = outlines.derive_children(shapely.from_geojson(parent["geometry"]), sites, taken)
            shapes.update(zip(derived, outlines.rounded(np.array(list(derived.values()))), strict=True))
    if not shapes:
        return pd.DataFrame(columns=columns)
    codes = [c for c in frame["code"] if c in shapes]
    shown = np.array([shapes[c] for c in codes])
    shown = _simplified(shown) if simplified else shown
    rows = outlines.outline_frame(
        dict(zip(codes, shown, strict=True)),
        dict.fromkeys(codes, ""),
        dict(zip(frame["code"], frame["level"], strict=True)),
    )
    rows = rows.rename(columns={b: f"outline_{b}" for b in ("lon_min", "lat_min", "lon_max", "lat_max")})
    return rows.merge(frame[["code", "name"]], on="code")[columns]


def _grid_sites(db: str | os.PathLike, code: str, children: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Where each child lies for deriving its outline: its own position, else the centre of its grids."""
    lo, hi = region_range(code)
    grids = _fetch_df(
        db,
        "select code, lon, lat from regions where level = 'grid' and code >= ? and code < ?",
        [lo, hi],
    )
    from pipelines import outlines

    everything = pd.concat([children, grids.assign(level="grid", has_own_position=False)])
    sites = outlines.region_sites(everything)
    return {c: sites[c] for c in children["code"] if c in sites}


def _simplified(shapes: np.ndarray) -> np.ndarray:
    """The outlines simplified together (shared borders stay shared) to about a pixel of a wall map."""
    import shapely

    bounds = shapely.total_bounds(shapes)
    tolerance = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / OUTLINE_PIXELS
    try:
        simpler = shapely.coverage_simplify(shapes, tolerance)
    except shapely.errors.GEOSException:  # not a clean coverage (given outlines may overlap): as they are
        return shapes
    keep = shapely.is_valid(simpler) & ~shapely.is_empty(simpler)
    return np.where(keep, simpler, shapes)


@regional("codes")
def boundaries(db: str | os.PathLike, codes: list[str]) -> pd.DataFrame:
    """GeoJSON outlines of the given regions, when the input folder supplied them."""
    if not codes:
        return pd.DataFrame(columns=["code", "geometry"])
    return _fetch_df(
        db, "select code, geometry from boundaries where code in (select unnest(?::varchar[]))", [codes]
    )


@regional("code")
def cell_children(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """Each map cell of the region with the child region holding most of its grids: where a click drills."""
    code = str(code)
    lo, hi = region_range(code)
    column = f"h3_r{map_resolution(code)}"
    return _fetch_df(
        db,
        f"""
        with grids as (
            select {column} as cell, substr(code, 1, $child_length) as child
            from regions
            where level = 'grid' and code >= $lo and code < $hi
        ),

        counted as (
            select cell, child, count(*) as grids from grids group by all
        ),

        dominant as (
            select cell, first(child order by grids desc, child) as code from counted group by cell
        )

        select dominant.cell, dominant.code, regions.name
        from dominant
        join regions using (code)
        order by dominant.cell
        """,
        {"lo": lo, "hi": hi, "child_length": _child_length(code)},
    )


@regional("code")
def grid_cells(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """Each grid under the region with the map cell it lies in (at the region's map resolution)."""
    code = str(code)
    lo, hi = region_range(code)
    return _fetch_df(
        db,
        f"""
        select code, h3_r{map_resolution(code)} as cell
        from regions
        where level = 'grid' and code >= $lo and code < $hi
        order by code
        """,
        {"lo": lo, "hi": hi},
    )
