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
        coalesce(events.due_at, events.reported_at + sla_hours.hours * interval 1 hour) as due_at_effective,
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
        -- measures: flags and an integer duration keep the KPI scan free of text comparisons
        timed.status <> 'cancelled' as is_counted,
        timed.status = 'resolved' as is_resolved,
        timed.category = 'dispute' as is_dispute,
        timed.satisfaction is not null as is_rated,
        case when timed.status = 'resolved'
            then date_diff('millisecond', timed.reported_at, timed.resolved_at) end as ms_to_resolve,
        case when timed.status = 'resolved'
            then date_diff('millisecond', timed.reported_at, timed.resolved_at) / 3600000.0::double end as hours_to_resolve,
        timed.status = 'resolved' and timed.resolved_at <= timed.due_at_effective as resolved_on_time,
        timed.status in ('pending', 'in_progress') as is_open,
        timed.status = 'resolved' and timed.resolution_level in ('grid', 'community', 'township')
            as resolved_grassroots,
        coalesce(timed.satisfaction in ('satisfied', 'basically_satisfied'), false) as satisfied,
        -- place
        coalesce(timed.lon, grids.lon) as lon,
        coalesce(timed.lat, grids.lat) as lat
    from timed
    left join grids
        on grids.code = timed.grid_code
)

-- clustered by district, then time: zone maps skip what a region and period do not touch
select * from final
order by district_code, reported_at
