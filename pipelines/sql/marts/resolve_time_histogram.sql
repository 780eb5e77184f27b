-- one row per day of report per duration bucket, counting the resolved events of the whole city
with resolved as (
    select * from resolve_times
),

final as (
    select
        reported_date,
        bucket,
        count(*) as events
    from resolved
    group by reported_date, bucket
)

select * from final
order by reported_date, bucket
