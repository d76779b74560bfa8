-- The readings an 'outside_runs' idle baseline is taken from (int_meter_baselines): per meter with
-- runs, the readings (gap markers excepted) that lie outside every run of the meter but within
-- baseline_window_s of one, with the power of the interval after the reading (for counters, the
-- power of the counter step) and support_us, its covered time up to the next run's start.
-- Incremental (macros/idle_readings.sql): the rows of a meter depend on its readings and on the runs
-- around them, so an append of readings and runs after the processed ones recomputes only the
-- meter's tail: from its curve's first rewritten reading, or from the last reading at or before
-- baseline_window_s ahead of the first new run, whichever is earlier. A meter whose earlier runs
-- changed (a run added before the last processed one, a run's bounds re-loaded) is recomputed
-- whole; a pre-hook deletes what is recomputed, so a tail that now has no idle reading is emptied.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    pre_hook='{{ idle_readings_delete_replaced() }}',
) }}
{%- set plan = idle_readings_increment() if is_incremental() else none %}

with

run_bounds as (
    select
        meter_id,
        start_us,
        end_us
    from {{ ref('int_run_bounds') }}
    where
        meter_id is not null
        and {{ 'true' if plan is none else idle_readings_plan_filter(plan, none) }}
),

energy_curve as (
    select
        meter_id,
        ts_us,
        next_ts_us,
        rate_w,
        is_covered
    from {{ ref('int_energy_curve') }}
    where
        not is_gap_marker
        and {{ 'true' if plan is none else idle_readings_plan_filter(plan, 'ts_us') }}
),

run_starts as (
    -- per meter, runs by start with the latest end so far (runs may overlap) and the next start
    select
        meter_id,
        start_us,
        max(end_us) over (
            partition by meter_id order by start_us, end_us rows between unbounded preceding and current row
        ) as max_end_us,
        lead(start_us) over (partition by meter_id order by start_us, end_us) as next_start_us
    from run_bounds
),

first_starts as (
    select
        meter_id,
        min(start_us) as first_start_us
    from run_bounds
    group by meter_id
),

readings as (
    select
        meter_id,
        ts_us,
        rate_w as power_w,
        case when is_covered then next_ts_us end as covered_until_us
    from energy_curve
),

readings_with_runs as (
    -- each reading with the latest run started at or before it
    {{ asof_join('readings', 'run_starts', ['meter_id'], 'ts_us', 'start_us', ['max_end_us', 'next_start_us']) }}
),

readings_between_runs as (
    select
        readings_with_runs.meter_id,
        readings_with_runs.ts_us,
        readings_with_runs.power_w,
        readings_with_runs.covered_until_us,
        readings_with_runs.max_end_us,
        -- the start of the next run: the first run when none has started yet
        case
            when readings_with_runs.max_end_us is null then first_starts.first_start_us
            else readings_with_runs.next_start_us
        end as following_start_us
    from readings_with_runs
    inner join first_starts
        on readings_with_runs.meter_id = first_starts.meter_id
)

select
    meter_id,
    ts_us,
    power_w,
    -- the covered time after the reading, up to the next run's start (none after an uncovered
    -- interval: least() would skip the null and count up to the run)
    case
        when covered_until_us is null then 0
        else least(covered_until_us, coalesce(following_start_us, covered_until_us)) - ts_us
    end as support_us,
    {{ latest_load_id() }} as through_load_id
from readings_between_runs
where
    -- not inside a run: no run started yet, or all that started have ended
    coalesce(max_end_us <= ts_us, true)
    and (
        ts_us - max_end_us <= {{ baseline_window_us() }}
        or following_start_us - ts_us <= {{ baseline_window_us() }}
    )
