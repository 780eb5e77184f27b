"""Regions: one region, its children and ancestors, names, positions, outlines, build facts."""

from __future__ import annotations

import datetime as dt
import os

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
    """Each child of the region at the centre of its grids, for labels on the map."""
    child_length = {2: 6, 6: 9, 9: 12, 12: 15}.get(len(code), len(code))
    lo, hi = region_range(code)
    return _fetch_df(
        db,
        """
        with placed as (
            select substr(code, 1, $child_length) as code, avg(lon) as lon, avg(lat) as lat,
                min(lon) as lon_min, max(lon) as lon_max, min(lat) as lat_min, max(lat) as lat_max
            from regions
            where level = 'grid' and code >= $lo and code < $hi
            group by 1
        )
        select regions.code, regions.name, placed.lon, placed.lat,
            placed.lon_min, placed.lon_max, placed.lat_min, placed.lat_max
        from placed
        join regions using (code)
        order by regions.code
        """,
        {"child_length": child_length, "lo": lo, "hi": hi},
    )


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
