"""Housing: units by type, usage and age, children's rental and vacancy, map cells."""

from __future__ import annotations

import os

import pandas as pd

from dashboard.queries.common import map_resolution, region_range
from dashboard.queries.connections import _fetch_df
from dashboard.queries.gate import regional


@regional("code")
def housing_mix(db: str | os.PathLike, code: str, building_type: str | None = None) -> pd.DataFrame:
    """The region's housing units by building type and usage."""
    code = str(code)
    return _fetch_df(
        db,
        """
        select building_type, usage, sum(units) as units, sum(area_m2) as area_m2
        from housing_by_region_type
        where region_code = $region
          and ($building_type::varchar is null or building_type = $building_type)
        group by all
        order by all
        """,
        {"region": code, "building_type": building_type},
    )


@regional("code")
def housing_age(db: str | os.PathLike, code: str, building_type: str | None = None) -> pd.DataFrame:
    """The region's housing units by decade built (NA: unknown) and building type."""
    code = str(code)
    return _fetch_df(
        db,
        """
        select built_decade, building_type, sum(units) as units
        from housing_by_region_type
        where region_code = $region
          and ($building_type::varchar is null or building_type = $building_type)
        group by all
        order by built_decade nulls last, building_type
        """,
        {"region": code, "building_type": building_type},
    )


@regional("code")
def housing_by_child(db: str | os.PathLike, code: str, building_type: str | None = None) -> pd.DataFrame:
    """Each child region's housing units with its rental share and vacancy rate."""
    code = str(code)
    return _fetch_df(
        db,
        """
        with counted as (
            select
                region_code as code,
                sum(units) as units,
                sum(units) filter (where usage = 'rented') as rented,
                sum(units) filter (where usage = 'vacant') as vacant
            from housing_by_region_type
            where region_code in (select code from regions where parent_code = $region)
              and ($building_type::varchar is null or building_type = $building_type)
            group by 1
        )

        select
            regions.code,
            regions.name,
            regions.level,
            coalesce(counted.units, 0) as units,
            coalesce(counted.rented, 0) as rented,
            coalesce(counted.vacant, 0) as vacant,
            counted.rented / nullif(counted.units, 0) as rental_share,
            counted.vacant / nullif(counted.units, 0) as vacancy_rate
        from regions
        left join counted using (code)
        where regions.parent_code = $region
        order by regions.code
        """,
        {"region": code, "building_type": building_type},
    )


@regional("code")
def housing_cells(db: str | os.PathLike, code: str, building_type: str | None = None) -> pd.DataFrame:
    """Every map cell of the region with its housing units, rental share and vacancy rate."""
    code = str(code)
    lo, hi = region_range(code)
    column = f"h3_r{map_resolution(code)}"
    return _fetch_df(
        db,
        f"""
        with grids as (
            select code, {column} as cell from regions
            where level = 'grid' and code >= $lo and code < $hi
        ),

        counted as (
            select
                region_code as code,
                sum(units) as units,
                sum(units) filter (where usage = 'rented') as rented,
                sum(units) filter (where usage = 'vacant') as vacant
            from housing_by_region_type
            where region_code >= $lo and region_code < $hi
              and length(region_code) = 15
              and ($building_type::varchar is null or building_type = $building_type)
            group by 1
        )

        select
            grids.cell,
            coalesce(sum(counted.units), 0) as units,
            coalesce(sum(counted.rented), 0) as rented,
            coalesce(sum(counted.vacant), 0) as vacant,
            sum(counted.rented) / nullif(sum(counted.units), 0) as rental_share,
            sum(counted.vacant) / nullif(sum(counted.units), 0) as vacancy_rate
        from grids
        left join counted using (code)
        group by grids.cell
        order by grids.cell
        """,
        {"lo": lo, "hi": hi, "building_type": building_type},
    )
