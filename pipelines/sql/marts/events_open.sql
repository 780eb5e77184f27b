-- one row per event still open (pending or in progress), with its deadline
with events_open as (
    select
        event_id,
        grid_code,
        district_code,
        reported_date,
        reported_at,
        due_at,
        category,
        status
    from events
    where is_open
)

select * from events_open
order by grid_code, reported_at
