-- one reading per (meter, instant): overlapping exports of the same meter are deduplicated,
-- the most recent load wins
with

source as (
    select * from {{ source('raw', 'power_readings') }}
),

renamed as (
    select
        meter_id,
        measured_at,
        power_w,
        load_id,
        line_number
    from source
),

latest as (
    {{ latest_load('renamed', partition_by=['meter_id', 'measured_at']) }}
)

select * from latest
