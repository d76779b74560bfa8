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
    select
        *,
        row_number() over (partition by meter_id order by load_id desc) as registration_rank
    from renamed
)

select
    meter_id,
    meter_kind,
    zone,
    host_id,
    source_format,
    description,
    load_id
from latest
where registration_rank = 1
