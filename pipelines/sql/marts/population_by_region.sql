-- one row per region (the city and every level below it) with its residents, a snapshot
with residents as (
    select
        grid_code,
        household_id,
        gender,
        residence_type,
        tags,
        substr(grid_code, 1, 6) as district_code,
        substr(grid_code, 1, 9) as township_code,
        substr(grid_code, 1, 12) as community_code
    from stg_residents
),

counted as (
    select
        coalesce(grid_code, community_code, township_code, district_code, {{ city_code }}) as region_code,
        count(*) as residents,
        count(distinct household_id) as households,
        count(*) filter (where gender = 'M') as male,
        count(*) filter (where gender = 'F') as female,
        count(*) filter (where residence_type = 'registered') as registered,
        count(*) filter (where residence_type = 'floating') as floating,
        count(*) filter (where residence_type = 'overseas') as overseas,
        count(*) filter (where list_contains(tags, 'elderly_alone')) as elderly_alone,
        count(*) filter (where list_contains(tags, 'low_income')) as low_income,
        count(*) filter (where list_contains(tags, 'disabled')) as disabled,
        count(*) filter (where list_contains(tags, 'veteran')) as veteran,
        count(*) filter (where list_contains(tags, 'left_behind_child')) as left_behind_child,
        count(*) filter (where list_contains(tags, 'extreme_poverty')) as extreme_poverty
    from residents
    group by rollup (district_code, township_code, community_code, grid_code)
),

final as (
    select
        regions.code as region_code,
        regions.level,
        regions.parent_code,
        coalesce(counted.residents, 0) as residents,
        coalesce(counted.households, 0) as households,
        coalesce(counted.male, 0) as male,
        coalesce(counted.female, 0) as female,
        coalesce(counted.registered, 0) as registered,
        coalesce(counted.floating, 0) as floating,
        coalesce(counted.overseas, 0) as overseas,
        coalesce(counted.elderly_alone, 0) as elderly_alone,
        coalesce(counted.low_income, 0) as low_income,
        coalesce(counted.disabled, 0) as disabled,
        coalesce(counted.veteran, 0) as veteran,
        coalesce(counted.left_behind_child, 0) as left_behind_child,
        coalesce(counted.extreme_poverty, 0) as extreme_poverty
    from regions
    left join counted
        on counted.region_code = regions.code
)

select * from final
order by region_code
