-- one row per region with every KPI figure that does not depend on the period: what kpis() looks up
with population as (
    select * from population_by_region
),

housing as (
    select * from housing_by_region
),

by_birth_year as (
    select region_code, birth_year, sum(residents) as residents
    from residents_by_region_age
    group by region_code, birth_year
),

birth_years as (
    select region_code, min(birth_year) as first_birth_year, max(birth_year) as last_birth_year
    from by_birth_year
    group by region_code
),

every_year as (
    select
        birth_years.region_code,
        birth_years.first_birth_year,
        unnest(range(birth_years.first_birth_year, birth_years.last_birth_year + 1)) as birth_year
    from birth_years
),

-- residents born in or before each year, one element per year from the region's first: the elderly
-- at any date are one element of it
born_by as (
    select
        region_code,
        first_birth_year,
        list(residents_born_by order by birth_year) as residents_born_by
    from (
        select
            every_year.region_code,
            every_year.first_birth_year,
            every_year.birth_year,
            sum(coalesce(by_birth_year.residents, 0)) over (
                partition by every_year.region_code order by every_year.birth_year
            )::bigint as residents_born_by
        from every_year
        left join by_birth_year
            on by_birth_year.region_code = every_year.region_code
            and by_birth_year.birth_year = every_year.birth_year
    )
    group by region_code, first_birth_year
),

economy as (
    select
        coalesce(village_code, township_code, district_code, {{ city_code }}) as region_code,
        year,
        count(*) as villages,
        sum(operating_income) as operating_income,
        count(*) filter (where operating_income >= 50000) as villages_ge_50k,
        count(*) filter (where operating_income >= 100000) as villages_ge_100k,
        count(*) filter (where operating_profit >= 100000) as villages_profit_ge_100k
    from collective_economy
    group by year, rollup (district_code, township_code, village_code)
),

economy_by_year as (
    select
        region_code,
        list(
            {
                'year': year,
                'villages': villages,
                'operating_income': operating_income,
                'villages_ge_50k': villages_ge_50k,
                'villages_ge_100k': villages_ge_100k,
                'villages_profit_ge_100k': villages_profit_ge_100k
            }
            order by year
        ) as economy_by_year
    from economy
    group by region_code
),

final as (
    select
        population.region_code,
        -- population
        population.residents,
        population.households,
        population.floating,
        population.elderly_alone,
        population.low_income,
        population.disabled,
        population.veteran,
        population.left_behind_child,
        population.extreme_poverty,
        born_by.first_birth_year,
        coalesce(born_by.residents_born_by, []) as residents_born_by,
        -- housing
        housing.units,
        housing.rented,
        housing.vacant,
        -- collective economy, by year
        coalesce(economy_by_year.economy_by_year, []) as economy_by_year
    from population
    join housing
        on housing.region_code = population.region_code
    left join born_by
        on born_by.region_code = population.region_code
    left join economy_by_year
        on economy_by_year.region_code = population.region_code
)

select * from final
order by region_code
