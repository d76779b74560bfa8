-- annual grid intensity: one row per (zone, year, source), the most recent load wins
with

source as (
    select * from {{ source('raw', 'carbon_intensity') }}
),

renamed as (
    select
        upper(zone) as zone,
        zone_name,
        year as data_year,
        g_per_kwh,
        source as carbon_source,
        source_version,
        load_id
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by zone, data_year, carbon_source order by load_id desc
        ) as load_rank
    from renamed
)

select
    zone,
    zone_name,
    data_year,
    g_per_kwh,
    carbon_source,
    source_version,
    load_id
from ranked
where load_rank = 1
