-- one row per region (the city and every level below it) with its housing units, a snapshot
with housing as (
    select
        grid_code,
        usage,
        area_m2,
        substr(grid_code, 1, 6) as district_code,
        substr(grid_code, 1, 9) as township_code,
        substr(grid_code, 1, 12) as community_code
    from stg_housing
),

counted as (
    select
        coalesce(grid_code, community_code, township_code, district_code, {{ city_code }}) as region_code,
        count(*) as units,
        count(*) filter (where usage = 'rented') as rented,
        count(*) filter (where usage = 'vacant') as vacant,
        count(*) filter (where usage = 'owner_occupied') as owner_occupied,
        count(*) filter (where usage = 'business') as business,
        sum(area_m2) as area_m2
    from housing
    group by rollup (district_code, township_code, community_code, grid_code)
),

final as (
    select
        regions.code as region_code,
        regions.level,
        regions.parent_code,
        coalesce(counted.units, 0) as units,
        coalesce(counted.rented, 0) as rented,
        coalesce(counted.vacant, 0) as vacant,
        coalesce(counted.owner_occupied, 0) as owner_occupied,
        coalesce(counted.business, 0) as business,
        coalesce(counted.area_m2, 0) as area_m2
    from regions
    left join counted
        on counted.region_code = regions.code
)

select * from final
order by region_code
