-- one row per resolved event, clustered by grid then day of report: a region's median reads its own rows
with resolved as (
    select
        -- the grid code as a number: its zone maps are exact, where those of text keep 8 bytes,
        -- and a region's grids are the numbers between its code padded with 0s and with 9s
        grid_code::bigint as grid_number,
        reported_date,
        ms_to_resolve
    from events
    where is_counted
      and is_resolved
)

select * from resolved
order by grid_number, reported_date
