-- One row per set of meters counted in some run's total (int_run_energy_totals.counted_meter_ids):
-- what the meters' own values that move with every new reading make of that set, for
-- fct_run_energy: the largest gap limit, the summed idle baseline (null when a meter has none), its
-- method ('mixed' when they differ) and issue. A set's members are read from one run counting it.
-- Rebuilt every time: a few rows (one per host and combination of meters, not per run).
with

set_runs as (
    select
        counted_meter_ids,
        min(run_id) as run_id
    from {{ ref('int_run_energy_totals') }}
    where counted_meter_ids is not null
    group by counted_meter_ids
),

members as (
    select
        set_runs.counted_meter_ids,
        run_meter_energy.meter_id
    from set_runs
    inner join {{ ref('int_run_meter_energy') }} as run_meter_energy
        on set_runs.run_id = run_meter_energy.run_id
    where run_meter_energy.counted_in_total
),

meter_values as (
    select * from {{ ref('int_meter_run_values') }}
)

select
    members.counted_meter_ids,
    max(meter_values.gap_limit_s) as gap_limit_s,
    case
        when count(*) = count(meter_values.baseline_power_w) then sum(meter_values.baseline_power_w)
    end as baseline_power_w,
    case
        when min(meter_values.baseline_method) < max(meter_values.baseline_method) then 'mixed'
        else max(meter_values.baseline_method)
    end as baseline_method,
    max(meter_values.baseline_issue) as baseline_issue
from members
left join meter_values
    on members.meter_id = meter_values.meter_id
group by members.counted_meter_ids
