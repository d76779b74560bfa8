-- One row per meter with data: the values of the meter that every one of its runs takes, and that
-- each new reading of the meter may move: its gap limit (int_meter_spans) and idle baseline
-- (int_meter_baselines; null for a meter without runs). The fct_ views join them to the stored
-- run rows (fct_run_meter_energy per meter, int_counted_meter_sets per set of counted meters).
{{ config(materialized='view') }}
select
    meter_spans.meter_id,
    meter_spans.gap_limit_us / 1e6 as gap_limit_s,
    meter_baselines.baseline_power_w,
    meter_baselines.baseline_method,
    meter_baselines.baseline_issue
from {{ ref('int_meter_spans') }} as meter_spans
left join {{ ref('int_meter_baselines') }} as meter_baselines
    on meter_spans.meter_id = meter_baselines.meter_id
