-- one row per region (city, district, township) per month per category per status
with reported as (
    select * from events
),

final as (
    select
        coalesce(township_code, district_code, {{ city_code }}) as region_code,
        date_trunc('month', reported_date)::date as month,
        category,
        status,
        count(*) as events,
        count(*) filter (where resolved_on_time) as resolved_on_time,
        count(*) filter (where resolved_grassroots) as resolved_grassroots,
        count(*) filter (where satisfaction is not null) as rated,
        count(*) filter (where satisfied) as satisfied
    from reported
    group by month, category, status, rollup (district_code, township_code)
)

select * from final
order by region_code, month
