-- cumulative counter readings in J, as read (wraps and resets are undone in intermediate) (one row per
-- (meter, instant), the most recent load wins: macros/latest_load_series.sql)
{%- set renamed -%}
(
    select
        meter_id,
        measured_at,
        energy_j as counter_j,
        counter_range_j,
        load_id,
        line_number
    from {{ source('raw', 'energy_counters') }}
)
{%- endset %}

with

{{ latest_load_series_ctes(renamed, 'meter_id', 'measured_at') }}

select * from latest
