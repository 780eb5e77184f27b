-- one row per village per year with its collective-economy accounts
with accounts as (
    select * from stg_collective_economy
),

villages as (
    select code, name, district_code, township_code, township_name, district_name
    from regions
    where level = 'community'
),

final as (
    select
        -- ids
        accounts.village_code,
        accounts.year,
        villages.name as village_name,
        villages.district_code,
        villages.township_code,
        villages.district_name,
        villages.township_name,
        -- accounts (yuan)
        accounts.operating_income,
        accounts.total_income,
        accounts.operating_profit,
        accounts.dividends,
        accounts.shareholders,
        accounts.entity_type,
        accounts.dividends / nullif(accounts.shareholders, 0) as dividends_per_shareholder,
        previous.operating_income as previous_operating_income
    from accounts
    join villages
        on villages.code = accounts.village_code
    left join accounts as previous
        on previous.village_code = accounts.village_code
        and previous.year = accounts.year - 1
)

select * from final
order by village_code, year
