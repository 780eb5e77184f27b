-- one row per alarm, in its latest state, with its device's place and type and its handling time
with alarms as (
    select * from stg_alarms
),

devices as (
    select device_id, device_type, grid_code from devices
),

final as (
    select
        -- ids
        alarms.alarm_id,
        alarms.device_id,
        alarms.event_id,
        devices.grid_code,
        substr(devices.grid_code, 1, 6) as district_code,
        substr(devices.grid_code, 1, 9) as township_code,
        substr(devices.grid_code, 1, 12) as community_code,
        -- the grid code as a number: zone maps on it are exact, so a region's alarms are a range
        devices.grid_code::bigint as grid_number,
        -- what
        devices.device_type,
        alarms.status,
        alarms.outcome,
        -- timestamps
        alarms.raised_at,
        alarms.raised_at::date as raised_date,
        alarms.handled_at,
        -- measures: flags and an integer duration keep the KPI scan free of text comparisons
        alarms.status = 'handled' as is_handled,
        alarms.status = 'open' as is_open,
        alarms.status = 'handled' and alarms.outcome is not null as is_verified,
        alarms.status = 'handled' and alarms.outcome = 'false_alarm' as is_false_alarm,
        alarms.event_id is not null as is_escalated,
        case when alarms.status = 'handled'
            then date_diff('millisecond', alarms.raised_at, alarms.handled_at) end as ms_to_handle
    from alarms
    join devices
        on devices.device_id = alarms.device_id
)

-- clustered by grid, then time: a region's alarms of a period are one range of row groups
select * from final
order by grid_number, raised_at
