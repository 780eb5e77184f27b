"""Population: special care, the age pyramid, residence types, children's shares, density cells.

Counts come back as they are; the gate hides the small ones (SPEC section 7) before a page sees them."""

from __future__ import annotations

import os

import pandas as pd

from dashboard.queries.common import (
    AGE_BAND_YEARS,
    OLDEST_AGE_BAND,
    DateLike,
    _as_date,
    map_resolution,
    region_range,
)
from dashboard.queries.connections import _fetch_df
from dashboard.queries.gate import regional
from pipelines.contract import TAGS


@regional("code")
def special_care(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """The region's residents per special-care tag."""
    code = str(code)
    frame = _fetch_df(
        db,
        f"select {', '.join(TAGS)} from population_by_region where region_code = ?",
        [code],
    )
    if frame.empty:
        return pd.DataFrame({"tag": pd.Series(dtype=str), "residents": pd.Series(dtype="Int64")})
    return pd.DataFrame({"tag": list(TAGS), "residents": [int(frame[tag].iloc[0]) for tag in TAGS]})


@regional("code")
def special_care_by_child(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """Each child region's residents per special-care tag, one row per child and tag."""
    code = str(code)
    frame = _fetch_df(
        db,
        f"""
        select regions.code, regions.name, regions.level, {", ".join(f"people.{tag}" for tag in TAGS)}
        from regions
        join population_by_region as people
            on people.region_code = regions.code
        where regions.parent_code = ?
        order by regions.code
        """,
        [code],
    )
    long = frame.melt(
        id_vars=["code", "name", "level"], value_vars=list(TAGS), var_name="tag", value_name="residents"
    )
    order = {tag: number for number, tag in enumerate(TAGS)}
    long = long.sort_values(["code", "tag"], key=lambda s: s.map(order) if s.name == "tag" else s)
    return long.reset_index(drop=True)


@regional("code")
def age_pyramid(db: str | os.PathLike, code: str, end: DateLike) -> pd.DataFrame:
    """Residents by five-year age band and gender, ages counted as year(end) − birth year (85+ together)."""
    code = str(code)
    year = _as_date(end).year
    frame = _fetch_df(
        db,
        """
        select
            least(($year - birth_year) // $band * $band, $oldest) as age_start,
            gender,
            sum(residents) as residents
        from residents_by_region_age
        where region_code = $region
          and birth_year <= $year
        group by all
        order by age_start, gender
        """,
        {"region": code, "year": year, "band": AGE_BAND_YEARS, "oldest": OLDEST_AGE_BAND},
    )
    frame["age_start"] = frame["age_start"].astype(int)
    frame["residents"] = frame["residents"].astype(int)
    frame.insert(
        0,
        "age_group",
        [f"{a}+" if a >= OLDEST_AGE_BAND else f"{a}-{a + AGE_BAND_YEARS - 1}" for a in frame["age_start"]],
    )
    return frame


@regional("code")
def population_composition(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """The region's residents by residence type, with each type's share."""
    code = str(code)
    frame = _fetch_df(
        db,
        """
        unpivot (select registered, floating, overseas from population_by_region where region_code = ?)
        on registered, floating, overseas
        into name residence_type value residents
        """,
        [code],
    )
    total = frame["residents"].sum()
    frame["share"] = frame["residents"] / total if total else float("nan")
    return frame


@regional("code")
def population_by_child(db: str | os.PathLike, code: str, end: DateLike) -> pd.DataFrame:
    """Each child region's residents with its elderly (age ≥ 60 in year(end)) and floating shares."""
    code = str(code)
    return _fetch_df(
        db,
        """
        with kids as (
            select code, name, level from regions where parent_code = $region
        ),

        elderly as (
            select region_code as code, sum(residents) as elderly
            from residents_by_region_age
            where region_code in (select code from kids)
              and birth_year <= $elderly_born_by
            group by 1
        )

        select
            kids.code,
            kids.name,
            kids.level,
            people.residents,
            people.households,
            people.floating,
            coalesce(elderly.elderly, 0)::bigint as elderly,
            coalesce(elderly.elderly, 0) / nullif(people.residents, 0) as elderly_share,
            people.floating / nullif(people.residents, 0) as floating_share
        from kids
        join population_by_region as people
            on people.region_code = kids.code
        left join elderly using (code)
        order by kids.code
        """,
        {"region": code, "elderly_born_by": _as_date(end).year - 60},
    )


@regional("code")
def population_cells(db: str | os.PathLike, code: str) -> pd.DataFrame:
    """Every map cell of the region with its residents and their density (per km²); a snapshot, so the map
    stays the same when the period changes."""
    code = str(code)
    lo, hi = region_range(code)
    resolution = map_resolution(code)
    frame = _fetch_df(
        db,
        f"""
        with grids as (
            select code, h3_r{resolution} as cell from regions
            where level = 'grid' and code >= $lo and code < $hi
        ),

        people as (
            select region_code as code, residents from population_by_region
            where level = 'grid' and region_code >= $lo and region_code < $hi
        )

        select grids.cell, count(*) as grids, coalesce(sum(people.residents), 0) as residents
        from grids
        left join people using (code)
        group by grids.cell
        order by grids.cell
        """,
        {"lo": lo, "hi": hi},
    )
    import h3

    frame["density"] = frame["residents"] / h3.average_hexagon_area(resolution, unit="km^2")
    return frame
