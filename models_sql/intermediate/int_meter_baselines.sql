-- Idle baseline power per meter (W). When the meter has idle runs (phase = 'idle') with data:
-- their energy over their time with data ('idle_runs'). Else the median power of the readings that
-- lie outside every run of the meter but within baseline_window_s of one ('outside_runs'); for
-- counters the power is that of the interval after the reading. Meters with neither: no row.
with

run_bounds as (
    select * from {{ ref('int_run_bounds') }}
),

run_energy as (
    select * from {{ ref('int_run_energy') }}
),

energy_curve as (
    select * from {{ ref('int_energy_curve') }}
),

idle_runs as (
    select
        run_energy.meter_id,
        sum(run_energy.energy_j) / sum(run_energy.data_end_us - run_energy.data_start_us) * 1e6 as baseline_power_w,
        count(*) as n_points
    from run_energy
    inner join run_bounds
        on
            run_energy.run_id = run_bounds.run_id
            and run_energy.meter_id = run_bounds.meter_id
    where run_bounds.phase = 'idle' and run_energy.has_data
    group by run_energy.meter_id
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
    where meter_id is not null
),

first_starts as (
    select
        meter_id,
        min(start_us) as first_start_us
    from run_bounds
    where meter_id is not null
    group by meter_id
),

readings as (
    select
        meter_id,
        ts_us,
        power_w
    from energy_curve
    where power_w is not null
),

readings_with_runs as (
    {{ asof_join(
        left='readings',
        right='run_starts',
        by=['meter_id'],
        left_ts='ts_us',
        right_ts='start_us',
        right_columns=['max_end_us', 'next_start_us'],
    ) }}
),

outside_readings as (
    select
        readings_with_runs.meter_id,
        readings_with_runs.power_w
    from readings_with_runs
    inner join first_starts
        on readings_with_runs.meter_id = first_starts.meter_id
    where
        -- not inside a run: no run started yet, or all that started have ended
        coalesce(readings_with_runs.max_end_us <= readings_with_runs.ts_us, true)
        and (
            readings_with_runs.ts_us - readings_with_runs.max_end_us <= {{ baseline_window_us() }}
            or coalesce(readings_with_runs.next_start_us, first_starts.first_start_us) - readings_with_runs.ts_us
            <= {{ baseline_window_us() }}
        )
),

-- The exact median without a median aggregate (which holds every value in memory: 100M readings
-- ran out of it): count each distinct power, accumulate the counts in power order (a grouping and
-- a sort, both of which spill), and read the k-th values off the cumulative counts.
power_counts as (
    select
        meter_id,
        power_w,
        count(*) as n_readings
    from outside_readings
    group by meter_id, power_w
),

cumulated_counts as (
    select
        meter_id,
        power_w,
        sum(n_readings) over (
            partition by meter_id order by power_w rows between unbounded preceding and current row
        ) as cum_readings,
        sum(n_readings) over (partition by meter_id) as total_readings
    from power_counts
),

outside_runs as (
    -- median = mean of the k1-th and k2-th smallest, k1 = floor((n + 1) / 2), k2 = floor(n / 2) + 1
    select
        meter_id,
        (
            min(case when cum_readings >= {{ int_div('total_readings + 1', 2) }} then power_w end)
            + min(case when cum_readings >= {{ int_div('total_readings', 2) }} + 1 then power_w end)
        ) / 2 as baseline_power_w,
        max(total_readings) as n_points
    from cumulated_counts
    group by meter_id
)

select
    coalesce(idle_runs.meter_id, outside_runs.meter_id) as meter_id,
    coalesce(idle_runs.baseline_power_w, outside_runs.baseline_power_w) as baseline_power_w,
    case when idle_runs.meter_id is not null then 'idle_runs' else 'outside_runs' end as baseline_method,
    coalesce(idle_runs.n_points, outside_runs.n_points) as baseline_points
from idle_runs
full outer join outside_runs
    on idle_runs.meter_id = outside_runs.meter_id
