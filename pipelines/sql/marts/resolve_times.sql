-- one row per resolved event of the city, clustered by duration bucket: the median reads one bucket
with resolved as (
    select
        reported_date,
        -- quarter-octave buckets of the duration, as in resolve_time_histogram
        floor(log2(greatest(ms_to_resolve, 1)) * 4)::integer as bucket,
        ms_to_resolve
    from events
    where is_counted
      and is_resolved
)

select * from resolved
order by bucket, ms_to_resolve
