-- one row per region per building type per usage per decade built
with housing as (
    select
        grid_code,
        building_type,
        usage,
        area_m2,
        built_year // 10 * 10 as built_decade,
        substr(grid_code, 1, 6) as district_code,
        substr(grid_code, 1, 9) as township_code,
        substr(grid_code, 1, 12) as community_code
    from stg_housing
),

final as (
    select
        coalesce(grid_code, community_code, township_code, district_code, {{ city_code }}) as region_code,
        building_type,
        usage,
        built_decade,
        count(*) as units,
        sum(area_m2) as area_m2
    from housing
    group by building_type, usage, built_decade, rollup (district_code, township_code, community_code, grid_code)
)

select * from final
order by region_code
