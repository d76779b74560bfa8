-- one reading per (meter, instant): overlapping exports of the same meter are deduplicated,
-- the most recent load wins (macros/latest_load_series.sql)
{%- set renamed -%}
(
    select
        meter_id,
        measured_at,
        power_w,
        load_id,
        line_number
    from {{ source('raw', 'power_readings') }}
)
{%- endset %}

with

{{ latest_load_series_ctes(renamed, 'meter_id', 'measured_at') }}

select * from latest
