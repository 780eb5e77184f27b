-- one row per region (the city and every level below it) per day per change of its overdue backlog
-- (kind 'overdue': events that fell overdue unresolved, +1 each; kind 'resolved': overdue ones resolved, -1 each)
with counted as (
    select
        district_code,
        township_code,
        community_code,
        grid_code,
        -- at the end of this day the event is reported and past its deadline
        greatest(reported_at, due_at)::date as overdue_date,
        resolved_at::date as resolved_date
    from events
    where is_counted
      and due_at is not null
),

backlogged as (
    -- resolved by the end of the day it fell due: never in the backlog at the end of a day
    select * from counted
    where resolved_date is null
       or resolved_date > overdue_date
),

changes as (
    select district_code, township_code, community_code, grid_code,
        overdue_date as change_date, 'overdue' as kind, 1 as change
    from backlogged
    union all
    select district_code, township_code, community_code, grid_code,
        resolved_date as change_date, 'resolved' as kind, -1 as change
    from backlogged
    where resolved_date is not null
),

final as (
    select
        coalesce(grid_code, community_code, township_code, district_code, {{ city_code }}) as region_code,
        change_date,
        kind,
        sum(change)::bigint as change
    from changes
    group by change_date, kind, rollup (district_code, township_code, community_code, grid_code)
)

-- the backlog at the end of a day is the sum of a region's changes up to that day: its rows, stored
-- together by number and day, are read without an index
select
    region_code::bigint as region_number,
    *
from final
order by region_number, change_date
