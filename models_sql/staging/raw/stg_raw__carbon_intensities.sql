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

latest as (
    {{ latest_load('renamed', partition_by=['zone', 'data_year', 'carbon_source']) }}
)

select * from latest
