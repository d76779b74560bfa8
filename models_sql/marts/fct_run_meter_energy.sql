-- One row per (run, meter) that saw the run: int_run_meter_energy (energy, coverage, gaps, carbon
-- and the meter's part in the run's total; its header gives meter_role, energy_basis and
-- counted_in_total) with the meter's gap limit and idle baseline (int_meter_run_values), and the
-- net energy above that baseline over the data span.
-- A view: the meter's values move with each of its new readings, and joining them here keeps an
-- incremental build from rewriting every run of the meter.
{{ config(materialized='view') }}
with

run_meter_energy as (
    select * from {{ ref('int_run_meter_energy') }}
),

meter_values as (
    select * from {{ ref('int_meter_run_values') }}
),

measured as (
    select
        run_meter_energy.*,
        meter_values.gap_limit_s,
        meter_values.baseline_power_w,
        meter_values.baseline_method,
        meter_values.baseline_issue
    from run_meter_energy
    left join meter_values
        on run_meter_energy.meter_id = meter_values.meter_id
)

select
    {{ run_meter_key_columns() }},
    {{ run_energy_columns() }},
    {{ run_quality_baseline_carbon_columns() }}
from measured
