-- one row per region per birth year per gender: the age structure at every level
with residents as (
    select
        grid_code,
        gender,
        birth_year,
        substr(grid_code, 1, 6) as district_code,
        substr(grid_code, 1, 9) as township_code,
        substr(grid_code, 1, 12) as community_code
    from stg_residents
),

final as (
    select
        coalesce(grid_code, community_code, township_code, district_code, {{ city_code }}) as region_code,
        birth_year,
        gender,
        count(*) as residents
    from residents
    group by birth_year, gender, rollup (district_code, township_code, community_code, grid_code)
)

select * from final
order by region_code, birth_year, gender
