-- One row per meter with data: the span of its energy curve (first and last reading), its zone and
-- its sampling: the median interval between readings and the gap limit derived from it
-- (int_energy_curve; null gap limit: the meter reports changes only, no interval is too long).
-- Its host: a meter registered without a host is its own host (host_id = meter_id).
-- The median interval is that of the intervals int_energy_curve's gap limit is derived from.
-- Incremental (macros/incremental.sql): a build recomputes the meters whose curve was rewritten or
-- whose registration changed (stg_raw__meters.changed_load_id) since the last.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='meter_id',
) }}
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

computed_meters as (
    select distinct meter_id
    from {{ ref('int_energy_curve') }}
    {%- if is_incremental() %}
    where
        through_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
        or meter_id in (
            select meter_id
            from meters
            where changed_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
        )
    {%- endif %}
),

{#- the curve is read by reference in each place (a CTE read several times would be materialised) -#}
{%- set intervals -%}
(
    select
        curve_intervals.meter_id,
        curve_intervals.next_ts_us - curve_intervals.ts_us as interval_us
    from {{ ref('int_energy_curve') }} as curve_intervals
    inner join computed_meters
        on curve_intervals.meter_id = computed_meters.meter_id
    where curve_intervals.next_ts_us is not null and not curve_intervals.is_gap_marker
)
{%- endset %}

{{ exact_median_ctes(intervals, 'meter_id', 'interval_us', 'interval') }},

spans as (
    select
        energy_curve.meter_id,
        min(energy_curve.curve_kind) as curve_kind,
        min(energy_curve.ts_us) as first_us,
        max(energy_curve.ts_us) as last_us,
        count(*) as readings_count,
        max(energy_curve.gap_limit_us) as gap_limit_us,
        bool_or(energy_curve.reports_changes_only) as reports_changes_only
    from {{ ref('int_energy_curve') }} as energy_curve
    inner join computed_meters
        on energy_curve.meter_id = computed_meters.meter_id
    group by energy_curve.meter_id
)

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
