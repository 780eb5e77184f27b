"""Village collective economy: villages ranked, children's figures, entity types, the years there are."""

from __future__ import annotations

import os

import pandas as pd

from dashboard.queries.common import _child_length, region_range
from dashboard.queries.connections import _fetch_df
from dashboard.queries.gate import general, regional


@general
def economy_years(db: str | os.PathLike) -> list[int]:
    """The years with collective-economy accounts, newest first."""
    frame = _fetch_df(db, "select distinct year from collective_economy order by year desc")
    return [int(y) for y in frame["year"]]


@regional("code")
def economy_villages(db: str | os.PathLike, code: str, year: int) -> pd.DataFrame:
    """The villages under the region with accounts for `year`, ranked by operating income, with the
    growth against their own previous year."""
    code = str(code)
    lo, hi = region_range(code)
    return _fetch_df(
        db,
        """
        select
            row_number() over (order by operating_income desc, village_code) as rank,
            village_code as code,
            village_name as name,
            township_name,
            district_name,
            entity_type,
            operating_income,
            total_income,
            operating_profit,
            previous_operating_income,
            (operating_income - previous_operating_income) / nullif(previous_operating_income, 0) as growth,
            dividends,
            shareholders,
            dividends_per_shareholder
        from collective_economy
        where village_code >= $lo and village_code < $hi
          and year = $year
        order by rank
        """,
        {"lo": lo, "hi": hi, "year": int(year)},
    )


@regional("code")
def economy_by_child(db: str | os.PathLike, code: str, year: int) -> pd.DataFrame:
    """Collective economy of `year` and the year before for each child region (each township at or below
    a township): villages, income and its growth, the shares at 5万 and 10万, dividends per shareholder."""
    code = str(code)
    lo, hi = region_range(code)
    group_length = _child_length(code) if len(code) <= 6 else 9
    return _fetch_df(
        db,
        """
        with accounts as (
            select substr(village_code, 1, $group_length) as code, *
            from collective_economy
            where village_code >= $lo and village_code < $hi
              and year in ($year, $year - 1)
        ),

        measures as (
            select
                code,
                count(*) filter (where year = $year) as villages,
                coalesce(sum(operating_income) filter (where year = $year), 0) as operating_income,
                sum(operating_income) filter (where year = $year - 1) as previous_operating_income,
                count(*) filter (where year = $year and operating_income >= 50000) as villages_ge_50k,
                count(*) filter (where year = $year and operating_income >= 100000) as villages_ge_100k,
                count(*) filter (where year = $year and operating_profit >= 100000)
                    as villages_profit_ge_100k,
                -- dividends per shareholder over the villages that report both
                sum(dividends) filter (where year = $year and dividends is not null and shareholders > 0)
                    as dividends,
                sum(shareholders) filter (where year = $year and dividends is not null and shareholders > 0)
                    as shareholders
            from accounts
            group by code
        )

        select
            regions.code,
            regions.name,
            measures.villages,
            measures.operating_income,
            measures.previous_operating_income,
            (measures.operating_income - measures.previous_operating_income)
                / nullif(measures.previous_operating_income, 0) as growth,
            measures.villages_ge_50k / nullif(measures.villages, 0) as share_ge_50k,
            measures.villages_ge_100k / nullif(measures.villages, 0) as share_ge_100k,
            measures.villages_profit_ge_100k / nullif(measures.villages, 0) as share_profit_ge_100k,
            measures.dividends,
            measures.shareholders,
            measures.dividends / nullif(measures.shareholders, 0) as dividends_per_shareholder
        from measures
        join regions using (code)
        where measures.villages > 0
        order by regions.code
        """,
        {"lo": lo, "hi": hi, "year": int(year), "group_length": group_length},
    )


@regional("code")
def economy_entities(db: str | os.PathLike, code: str, year: int) -> pd.DataFrame:
    """The villages under the region by the type of their operating entity in `year`, with their income."""
    code = str(code)
    lo, hi = region_range(code)
    return _fetch_df(
        db,
        """
        select
            coalesce(entity_type, 'other') as entity_type,
            count(*) as villages,
            sum(operating_income) as operating_income
        from collective_economy
        where village_code >= $lo and village_code < $hi
          and year = $year
        group by 1
        order by villages desc, entity_type
        """,
        {"lo": lo, "hi": hi, "year": int(year)},
    )
