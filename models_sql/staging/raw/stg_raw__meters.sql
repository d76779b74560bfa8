-- one row per meter: the most recent registration wins
with

source as (
    select * from {{ source('raw', 'meters') }}
),

renamed as (
    select
        meter_id,
        meter_kind,
        upper(zone) as zone,
        host_id,
        source_format,
        description,
        load_id
    from source
),

latest as (
    {{ latest_load('renamed', partition_by=['meter_id']) }}
)

select * from latest
