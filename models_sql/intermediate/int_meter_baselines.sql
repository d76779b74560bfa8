-- Idle baseline power per meter (W). When the meter has idle runs (phase = 'idle') with data:
-- their energy over their time with data ('idle_runs'). Else the median power of the readings that
-- lie outside every run of the meter but within baseline_window_s of one ('outside_runs'); for
-- counters the power is that of the interval after the reading. One row per meter with runs
-- (baseline_power_w null when it has neither).
-- Incremental (macros/incremental.sql): a build recomputes only the meters whose curve was rewritten
-- or whose runs changed (count and bounds, n_runs and runs_checksum_us) since the last.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='meter_id',
) }}
with

all_run_bounds as (
    select * from {{ ref('int_run_bounds') }}
),

run_energy as (
    select * from {{ ref('int_run_energy') }}
),

all_energy_curve as (
    select * from {{ ref('int_energy_curve') }}
),

run_signatures as (
    select
        meter_id,
        count(*) as n_runs,
        sum(cast(start_us as decimal(38, 0)) + cast(end_us as decimal(38, 0))) as runs_checksum_us
    from all_run_bounds
    where meter_id is not null
    group by meter_id
),

computed_meters as (
    select run_signatures.*
    from run_signatures
    {%- if is_incremental() %}
    left join {{ this }} as previous
        on run_signatures.meter_id = previous.meter_id
    where
        previous.meter_id is null
        or run_signatures.n_runs != previous.n_runs
        or run_signatures.runs_checksum_us != previous.runs_checksum_us
        or run_signatures.meter_id in (
            select meter_id
            from all_energy_curve
            where through_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
        )
    {%- endif %}
),

run_bounds as (
    select all_run_bounds.*
    from all_run_bounds
    inner join computed_meters
        on all_run_bounds.meter_id = computed_meters.meter_id
),

energy_curve as (
    select all_energy_curve.*
    from all_energy_curve
    inner join computed_meters
        on all_energy_curve.meter_id = computed_meters.meter_id
),

idle_runs as (
    select
        run_energy.meter_id,
        sum(run_energy.energy_j) / sum(run_energy.data_end_us - run_energy.data_start_us) * 1e6 as baseline_power_w,
        count(*) as n_points
    from run_energy
    inner join run_bounds
        on run_energy.run_id = run_bounds.run_id
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
        rate_w as power_w
    from energy_curve
    where not is_gap_marker
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

{{ exact_median_ctes('outside_readings', 'meter_id', 'power_w', 'outside_power') }},

outside_runs as (
    select
        meter_id,
        median_value as baseline_power_w,
        n_values as n_points
    from outside_power_medians
)

select
    computed_meters.meter_id,
    coalesce(idle_runs.baseline_power_w, outside_runs.baseline_power_w) as baseline_power_w,
    case
        when idle_runs.meter_id is not null then 'idle_runs'
        when outside_runs.meter_id is not null then 'outside_runs'
    end as baseline_method,
    coalesce(idle_runs.n_points, outside_runs.n_points) as baseline_points,
    computed_meters.n_runs,
    computed_meters.runs_checksum_us,
    {{ latest_load_id() }} as through_load_id
from computed_meters
left join idle_runs
    on computed_meters.meter_id = idle_runs.meter_id
left join outside_runs
    on computed_meters.meter_id = outside_runs.meter_id
