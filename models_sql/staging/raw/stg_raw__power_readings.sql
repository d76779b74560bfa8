-- one reading per (meter, instant): overlapping exports of the same meter are deduplicated,
-- the most recent load wins (macros/latest_load_series.sql)
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

{{ latest_load_series_ctes('renamed', 'meter_id', 'measured_at') }}

select * from latest
