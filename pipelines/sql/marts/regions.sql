-- one row per region: the city, its districts, townships, communities and grids
with source as (
    select * from stg_regions
),

located as (
    -- a region without coordinates is placed at its nearest ancestor's
    select
        source.*,
        coalesce(source.lon, community.lon, township.lon, district.lon) as placed_lon,
        coalesce(source.lat, community.lat, township.lat, district.lat) as placed_lat,
        source.lon is not null and source.lat is not null as has_own_position
    from source
    left join source as district
        on district.code = substr(source.code, 1, 6) and length(source.code) > 6
    left join source as township
        on township.code = substr(source.code, 1, 9) and length(source.code) > 9
    left join source as community
        on community.code = substr(source.code, 1, 12) and length(source.code) > 12
),

named as (
    select
        located.*,
        district.name as district_name,
        township.name as township_name
    from located
    left join source as district
        on district.code = substr(located.code, 1, 6)
    left join source as township
        on township.code = substr(located.code, 1, 9) and length(located.code) >= 9
),

city as (
    select
        {{ city_code }} as code,
        {{ city_name }} as name,
        'city' as level,
        0 as depth,
        null::varchar as parent_code,
        'city' as kind,
        avg(lon) as lon,
        avg(lat) as lat,
        true as has_own_position,
        null::varchar as district_code,
        null::varchar as township_code,
        null::varchar as community_code,
        null::varchar as district_name,
        null::varchar as township_name,
        null::varchar as h3_r6,
        null::varchar as h3_r8,
        null::varchar as h3_r9
    from source
    where level = 'district'
),

final as (
    select * from city
    -- columns in the same order as the city's: a plain union runs on every engine
    union all
    select
        code,
        name,
        level,
        case level when 'district' then 1 when 'township' then 2 when 'community' then 3 else 4 end as depth,
        coalesce(parent_code, {{ city_code }}) as parent_code,
        kind,
        placed_lon as lon,
        placed_lat as lat,
        has_own_position,
        substr(code, 1, 6) as district_code,
        case when length(code) >= 9 then substr(code, 1, 9) end as township_code,
        case when length(code) >= 12 then substr(code, 1, 12) end as community_code,
        district_name,
        township_name,
        -- map cells of a grid at the resolutions the map draws
        case when level = 'grid' then yp_h3(placed_lat, placed_lon, 6) end as h3_r6,
        case when level = 'grid' then yp_h3(placed_lat, placed_lon, 8) end as h3_r8,
        case when level = 'grid' then yp_h3(placed_lat, placed_lon, 9) end as h3_r9
    from named
)

select * from final
order by code
