-- one row per region (the city and every level below it) per device type per status, counting devices
with devices as (
    select * from devices
),

final as (
    select
        coalesce(grid_code, community_code, township_code, district_code, {{ city_code }}) as region_code,
        device_type,
        status,
        count(*) as devices
    from devices
    group by device_type, status, rollup (district_code, township_code, community_code, grid_code)
)

select * from final
order by region_code, device_type, status
