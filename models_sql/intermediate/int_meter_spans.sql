-- One row per meter with data: the span of its energy curve (first and last reading), its zone and
-- its sampling: the median interval between readings and the gap limit derived from it
-- (int_energy_curve; null gap limit: the meter reports changes only, no interval is too long).
-- Its host: a meter registered without a host is its own host (host_id = meter_id).
-- The median interval is that of the intervals int_energy_curve's gap limit is derived from.
-- Incremental (macros/incremental.sql): a build recomputes the meters whose curve was rewritten or
-- whose meters row was loaded again since the last.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='meter_id',
    on_schema_change='fail',
) }}
with

all_energy_curve as (
    select * from {{ ref('int_energy_curve') }}
),

meters as (
    select * from {{ ref('stg_raw__meters') }}
),

computed_meters as (
    select distinct meter_id
    from all_energy_curve
    {%- if is_incremental() %}
    where
        through_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
        or meter_id in (
            select meter_id
            from meters
            where load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
        )
    {%- endif %}
),

energy_curve as (
    select all_energy_curve.*
    from all_energy_curve
    inner join computed_meters
        on all_energy_curve.meter_id = computed_meters.meter_id
),

intervals as (
    select
        meter_id,
        next_ts_us - ts_us as interval_us
    from energy_curve
    where next_ts_us is not null and not is_gap_marker
),

{{ exact_median_ctes('intervals', 'meter_id', 'interval_us', 'interval') }},

spans as (
    select
        meter_id,
        min(curve_kind) as curve_kind,
        min(ts_us) as first_us,
        max(ts_us) as last_us,
        count(*) as readings_count,
        max(gap_limit_us) as gap_limit_us,
        bool_or(reports_changes_only) as reports_changes_only
    from energy_curve
    group by meter_id
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
