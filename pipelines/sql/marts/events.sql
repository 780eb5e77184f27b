-- one row per event, in its latest state, with its deadline and handling time
with events as (
    select * from stg_events
),

grids as (
    select code, lon, lat from regions where level = 'grid'
),

timed as (
    select
        events.*,
        coalesce(events.due_at, events.reported_at + to_hours(sla_hours.hours)) as due_at_effective,
        events.due_at is null as due_from_sla
    from events
    left join sla_hours
        on sla_hours.category = events.category
),

final as (
    select
        -- ids
        timed.event_id,
        timed.grid_code,
        substr(timed.grid_code, 1, 6) as district_code,
        substr(timed.grid_code, 1, 9) as township_code,
        substr(timed.grid_code, 1, 12) as community_code,
        -- what
        timed.category,
        timed.source,
        timed.status,
        timed.resolution_level,
        timed.satisfaction,
        timed.description,
        -- timestamps
        timed.reported_at,
        timed.reported_at::date as reported_date,
        timed.accepted_at,
        timed.resolved_at,
        timed.due_at_effective as due_at,
        timed.due_from_sla,
        -- measures
        case when timed.status = 'resolved'
            then epoch(timed.resolved_at - timed.reported_at) / 3600.0 end as hours_to_resolve,
        timed.status = 'resolved' and timed.resolved_at <= timed.due_at_effective as resolved_on_time,
        timed.status in ('pending', 'in_progress') as is_open,
        timed.resolution_level in ('grid', 'community', 'township') as resolved_grassroots,
        timed.satisfaction in ('satisfied', 'basically_satisfied') as satisfied,
        -- place
        coalesce(timed.lon, grids.lon) as lon,
        coalesce(timed.lat, grids.lat) as lat
    from timed
    left join grids
        on grids.code = timed.grid_code
)

select * from final
order by grid_code, reported_at
