-- one row per device, in its latest state, with its place
with devices as (
    select * from stg_devices
),

grids as (
    select code, lon, lat from regions where level = 'grid'
),

final as (
    select
        -- ids
        devices.device_id,
        devices.grid_code,
        substr(devices.grid_code, 1, 6) as district_code,
        substr(devices.grid_code, 1, 9) as township_code,
        substr(devices.grid_code, 1, 12) as community_code,
        -- what
        devices.device_type,
        devices.status,
        -- timestamps
        devices.installed_at,
        -- place
        coalesce(devices.lon, grids.lon) as lon,
        coalesce(devices.lat, grids.lat) as lat
    from devices
    left join grids
        on grids.code = devices.grid_code
)

select * from final
order by grid_code, device_id
