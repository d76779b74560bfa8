-- One row per meter with data: the span of its energy curve (first and last reading), its zone and
-- its sampling: the median interval between readings and the gap limit derived from it
-- (int_energy_curve; null gap limit: the meter reports changes only, no interval is too long).
-- and its host (a meter registered without a host is its own host: host_id = meter_id).
with

energy_curve as (
    select * from {{ ref('int_energy_curve') }}
),

meters as (
    select * from {{ ref('stg_raw__meters') }}
),

spans as (
    select
        meter_id,
        min(curve_kind) as curve_kind,
        min(ts_us) as first_us,
        max(ts_us) as last_us,
        count(*) as readings_count,
        max(median_interval_us) as median_interval_us,
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
    spans.median_interval_us,
    spans.gap_limit_us,
    spans.reports_changes_only,
    meters.meter_kind,
    coalesce(meters.zone, upper('{{ energy_var('default_zone') }}')) as zone,
    coalesce(meters.host_id, spans.meter_id) as host_id
from spans
left join meters
    on spans.meter_id = meters.meter_id
