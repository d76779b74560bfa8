-- One row per meter with data: the span of its energy curve (first and last reading), its zone and
-- its sampling: the median interval between readings and the gap limit derived from it
-- (int_energy_curve; null gap limit: the meter reports changes only, no interval is too long).
-- Its host: a meter registered without a host is its own host (host_id = meter_id).
-- The median interval is that of the intervals int_energy_curve's gap limit is derived from, exact,
-- from the bucket counts of int_meter_interval_counts (macros/median.sql).
-- Incremental (macros/incremental.sql): a build recomputes the meters whose curve was rewritten or
-- whose registration changed (stg_raw__meters.changed_load_id) since the last, from the rewritten
-- rows only: a curve continued from its last processed reading keeps its first reading, and its
-- count and last reading are those of its last row (reading_index counts every point).
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='meter_id',
) }}
{%- set watermark = '(select coalesce(max(through_load_id), 0) from ' ~ this ~ ')' %}
with

meters as (
    select
        meter_id,
        meter_kind,
        zone,
        host_id,
        changed_load_id
    from {{ ref('stg_raw__meters') }}
),

rewritten as (
    -- per meter, the curve rows computed since the last build (all of them in a full build)
    select
        meter_id,
        min(reading_index) as first_rewritten_index,
        min(ts_us) as first_rewritten_us,
        max(reading_index) as readings_count,
        max(ts_us) as last_us,
        min(curve_kind) as curve_kind,
        max(gap_limit_us) as gap_limit_us,
        bool_or(reports_changes_only) as reports_changes_only
    from {{ ref('int_energy_curve') }}
    {%- if is_incremental() %}
    where through_load_id > {{ watermark }}
    {%- endif %}
    group by meter_id
),

stored as (
    {%- if is_incremental() %}
    select * from {{ this }}
    {%- else %}
        -- a full build has nothing stored
        select
            meter_id,
            curve_kind,
            first_rewritten_us as first_us,
            last_us,
            readings_count,
            gap_limit_us,
            reports_changes_only
        from rewritten
        where false
    {%- endif %}
),

computed_meters as (
    select meter_id from rewritten
    {%- if is_incremental() %}
    union
    select stored.meter_id
    from stored
    inner join meters
        on stored.meter_id = meters.meter_id
    where meters.changed_load_id > {{ watermark }}
    {%- endif %}
),

spans as (
    -- a meter without rewritten rows (its registration changed) keeps its span and sampling
    select
        computed_meters.meter_id,
        coalesce(rewritten.curve_kind, stored.curve_kind) as curve_kind,
        case
            when rewritten.first_rewritten_index = 1 then rewritten.first_rewritten_us
            else stored.first_us
        end as first_us,
        coalesce(rewritten.last_us, stored.last_us) as last_us,
        coalesce(rewritten.readings_count, stored.readings_count) as readings_count,
        case when rewritten.meter_id is null then stored.gap_limit_us else rewritten.gap_limit_us end
            as gap_limit_us,
        coalesce(rewritten.reports_changes_only, stored.reports_changes_only) as reports_changes_only
    from computed_meters
    left join rewritten
        on computed_meters.meter_id = rewritten.meter_id
    left join stored
        on computed_meters.meter_id = stored.meter_id
),

{#- the intervals of the recomputed meters, read by reference (a CTE read twice would be
    materialised) for the exact median's second pass -#}
{%- set intervals -%}
(
    select
        curve_intervals.meter_id,
        curve_intervals.next_ts_us - curve_intervals.ts_us as interval_us
    from {{ ref('int_energy_curve') }} as curve_intervals
    {%- if is_incremental() %}
    inner join computed_meters
        on curve_intervals.meter_id = computed_meters.meter_id
    {%- endif %}
    where curve_intervals.next_ts_us is not null and not curve_intervals.is_gap_marker
)
{%- endset %}
{%- set interval_counts -%}
(
    select
        interval_counts.meter_id,
        interval_counts.bucket,
        interval_counts.n_bucket
    from {{ ref('int_meter_interval_counts') }} as interval_counts
    {%- if is_incremental() %}
    inner join computed_meters
        on interval_counts.meter_id = computed_meters.meter_id
    {%- endif %}
)
{%- endset %}

{{ exact_median_ctes(intervals, 'meter_id', 'interval_us', 'interval', bucket_counts=interval_counts) }}

select
    spans.meter_id,
    spans.curve_kind,
    spans.first_us,
    spans.last_us,
    spans.readings_count,
    interval_medians.median_value as median_interval_us,
    spans.gap_limit_us,
    spans.reports_changes_only,
    meters.meter_kind,
    coalesce(meters.zone, upper('{{ energy_var('default_zone') }}')) as zone,
    coalesce(meters.host_id, spans.meter_id) as host_id,
    {{ latest_load_id() }} as through_load_id
from spans
left join interval_medians
    on spans.meter_id = interval_medians.meter_id
left join meters
    on spans.meter_id = meters.meter_id
