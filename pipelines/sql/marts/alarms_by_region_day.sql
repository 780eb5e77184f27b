-- one row per region (the city and every level below it) per day of alarm per device type
with raised as (
    select * from alarms
),

final as (
    select
        coalesce(grid_code, community_code, township_code, district_code, {{ city_code }}) as region_code,
        raised_date,
        device_type,
        count(*) as alarms,
        count(*) filter (where is_handled) as handled,
        count(*) filter (where is_open) as open_alarms,
        count(*) filter (where is_verified) as verified,
        count(*) filter (where is_false_alarm) as false_alarms,
        count(*) filter (where is_escalated) as escalated
    from raised
    group by raised_date, device_type, rollup (district_code, township_code, community_code, grid_code)
)

select
    -- the code as a number, as in events_by_region_day: a region's days are found by zone maps
    region_code::bigint as region_number,
    *
from final
order by region_number, raised_date
