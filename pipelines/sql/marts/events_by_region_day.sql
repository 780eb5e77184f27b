-- one row per region (the city and every level below it) per day of report, counting non-cancelled events
with counted as (
    select * from events where is_counted
),

final as (
    select
        coalesce(grid_code, community_code, township_code, district_code, {{ city_code }}) as region_code,
        reported_date,
        count(*) as total,
        count(*) filter (where is_resolved) as resolved,
        count(*) filter (where resolved_on_time) as resolved_on_time,
        count(*) filter (where is_dispute) as disputes,
        count(*) filter (where is_dispute and resolved_grassroots) as disputes_grassroots,
        count(*) filter (where is_rated) as rated,
        count(*) filter (where satisfied) as satisfied
    from counted
    group by reported_date, rollup (district_code, township_code, community_code, grid_code)
)

select
    -- the code as a number: zone maps on it are exact (on text they keep 8 bytes), so a region's
    -- days, stored together, are found without an index
    region_code::bigint as region_number,
    *
from final
order by region_number, reported_date
