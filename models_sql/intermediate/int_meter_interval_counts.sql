-- Per meter, how many of its intervals between consecutive points of int_energy_curve (outages,
-- the intervals after a gap marker, left out) fall in each bucket of macros/median.sql: the first
-- pass of int_meter_spans' exact median interval, kept so that an append counts its new intervals
-- only. One row per (meter, bucket), and one row with a null bucket and n_bucket 0 per meter, so
-- that a recomputed meter's rows are always all replaced.
-- Incremental: for a meter whose curve was continued from its last processed reading (that
-- reading had no interval), the stored counts plus those of the rewritten rows; for a meter
-- rebuilt from its first reading, those of its rows.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='meter_id',
) }}
{#- the curve rows computed since the last build (all of them in a full build) -#}
{%- set rewritten_rows -%}
(
    select
        meter_id,
        reading_index,
        next_ts_us - ts_us as interval_us,
        is_gap_marker
    from {{ ref('int_energy_curve') }}
    {%- if is_incremental() %}
    where through_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
    {%- endif %}
)
{%- endset %}
with

rewritten_meters as (
    select
        meter_id,
        min(reading_index) as first_rewritten_index
    from {{ rewritten_rows }} as rewritten_rows
    group by meter_id
),

new_counts as (
    {{ bucket_counts_select(
        '(select meter_id, interval_us from ' ~ rewritten_rows ~ ' as rows_with_interval where not is_gap_marker)',
        'meter_id', 'interval_us') }}
),

counts as (
    select
        meter_id,
        bucket,
        n_bucket
    from new_counts
    {%- if is_incremental() %}
    union all
    select
        stored.meter_id,
        stored.bucket,
        stored.n_bucket
    from {{ this }} as stored
    inner join rewritten_meters
        on stored.meter_id = rewritten_meters.meter_id
    where rewritten_meters.first_rewritten_index > 1 and stored.bucket is not null
    {%- endif %}
    union all
    select
        meter_id,
        cast(null as bigint) as bucket,
        cast(0 as bigint) as n_bucket
    from rewritten_meters
)

select
    meter_id,
    bucket,
    cast(sum(n_bucket) as bigint) as n_bucket,
    {{ latest_load_id() }} as through_load_id
from counts
group by meter_id, bucket
