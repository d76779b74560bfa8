-- One row per meter with data: the span of its energy curve (first and last reading), its zone and
-- its sampling: the median interval between readings and the gap limit derived from it
-- (int_energy_curve; null gap limit: the meter reports changes only, no interval is too long).
-- The median interval is that of the intervals int_energy_curve's gap limit is derived from.
with

energy_curve as (
    select * from {{ ref('int_energy_curve') }}
),

meters as (
    select * from {{ ref('stg_raw__meters') }}
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
    coalesce(meters.zone, upper('{{ energy_var('default_zone') }}')) as zone
from spans
left join interval_medians
    on spans.meter_id = interval_medians.meter_id
left join meters
    on spans.meter_id = meters.meter_id
