-- Idle baseline power per meter (W). When the meter has idle runs (phase = 'idle') with data:
-- their energy over their time with data ('idle_runs'). Else the median power of the readings that
-- lie outside every run of the meter but within baseline_window_s of one ('outside_runs'); for
-- counters the power is that of the interval after the reading. Meters with neither: no row.
-- An 'outside_runs' baseline needs support: at least baseline_min_readings readings whose covered
-- intervals, cut at the next run's start, add up to at least baseline_min_s (baseline_support_s).
-- Else baseline_power_w is null and baseline_issue says why ('too_few_readings', 'too_short', or
-- both): one reading at a run's end instant is no baseline. Idle runs are taken as declared.
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
        power_w,
        case when is_covered then next_ts_us end as covered_until_us
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
),

outside_readings as (
    select
        meter_id,
        power_w,
        -- the covered time after the reading, up to the next run's start
        coalesce(least(covered_until_us, coalesce(following_start_us, covered_until_us)) - ts_us, 0)
            as support_us
    from readings_between_runs
    where
        -- not inside a run: no run started yet, or all that started have ended
        coalesce(max_end_us <= ts_us, true)
        and (
            ts_us - max_end_us <= {{ baseline_window_us() }}
            or following_start_us - ts_us <= {{ baseline_window_us() }}
        )
),

supports as (
    select
        meter_id,
        sum(support_us) as support_us
    from outside_readings
    group by meter_id
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

outside_medians as (
    -- median = mean of the k1-th and k2-th smallest, k1 = floor((n + 1) / 2), k2 = floor(n / 2) + 1
    select
        meter_id,
        (
            min(case when cum_readings >= {{ int_div('total_readings + 1', 2) }} then power_w end)
            + min(case when cum_readings >= {{ int_div('total_readings', 2) }} + 1 then power_w end)
        ) / 2 as median_power_w,
        max(total_readings) as n_points
    from cumulated_counts
    group by meter_id
),

outside_runs as (
    select
        outside_medians.meter_id,
        outside_medians.median_power_w,
        outside_medians.n_points,
        supports.support_us,
        case
            when
                outside_medians.n_points < {{ energy_var('baseline_min_readings') }}
                and supports.support_us < {{ baseline_min_us() }}
                then 'too_few_readings, too_short'
            when outside_medians.n_points < {{ energy_var('baseline_min_readings') }} then 'too_few_readings'
            when supports.support_us < {{ baseline_min_us() }} then 'too_short'
        end as baseline_issue
    from outside_medians
    inner join supports
        on outside_medians.meter_id = supports.meter_id
)

select
    coalesce(idle_runs.meter_id, outside_runs.meter_id) as meter_id,
    case
        when idle_runs.meter_id is not null then idle_runs.baseline_power_w
        when outside_runs.baseline_issue is null then outside_runs.median_power_w
    end as baseline_power_w,
    case when idle_runs.meter_id is not null then 'idle_runs' else 'outside_runs' end as baseline_method,
    coalesce(idle_runs.n_points, outside_runs.n_points) as baseline_points,
    case when idle_runs.meter_id is null then outside_runs.support_us / 1e6 end as baseline_support_s,
    case when idle_runs.meter_id is null then outside_runs.baseline_issue end as baseline_issue
from idle_runs
full outer join outside_runs
    on idle_runs.meter_id = outside_runs.meter_id
