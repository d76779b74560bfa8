-- Idle baseline power per meter (W). When the meter has idle runs (phase = 'idle') with data:
-- their energy over their time with data ('idle_runs'). Else the median power of the readings that
-- lie outside every run of the meter but within baseline_window_s of one ('outside_runs'); for
-- counters the power is that of the interval after the reading. One row per meter with runs
-- (baseline_power_w and baseline_method null when it has neither).
-- An 'outside_runs' baseline needs support: at least baseline_min_readings readings whose covered
-- intervals, cut at the next run's start, add up to at least baseline_min_s (baseline_support_s).
-- Else baseline_power_w is null and baseline_issue says why ('too_few_readings', 'too_short', or
-- both): one reading at a run's end instant is no baseline. Idle runs are taken as declared.
-- The readings outside runs, with their support, come from int_meter_idle_readings.
-- Incremental: a build recomputes only the meters whose idle readings were recomputed or whose runs
-- changed (count and bounds, n_runs and runs_checksum_us; last_start_us, the latest run start, tells
-- the next build of int_meter_idle_readings which runs are new) since the last.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='meter_id',
) }}
with

all_run_bounds as (
    select
        meter_id,
        start_us,
        end_us
    from {{ ref('int_run_bounds') }}
    where meter_id is not null
),

run_signatures as (
    select
        meter_id,
        count(*) as n_runs,
        sum(cast(start_us as decimal(38, 0)) + cast(end_us as decimal(38, 0))) as runs_checksum_us,
        max(start_us) as last_start_us
    from all_run_bounds
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
            from {{ ref('int_meter_idle_readings') }}
            where through_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
        )
    {%- endif %}
),

idle_run_energy as (
    -- the energy and the time with data of the idle runs
    select
        run_energy.meter_id,
        run_energy.energy_j,
        run_energy.data_end_us - run_energy.data_start_us as data_us
    from {{ ref('int_run_energy') }} as run_energy
    inner join {{ ref('int_run_bounds') }} as run_bounds
        on
            run_energy.run_id = run_bounds.run_id
            and run_energy.meter_id = run_bounds.meter_id
    where run_bounds.phase = 'idle' and run_energy.has_data
),

idle_runs as (
    select
        idle_run_energy.meter_id,
        sum(idle_run_energy.energy_j) / sum(idle_run_energy.data_us) * 1e6 as baseline_power_w,
        count(*) as n_points
    from idle_run_energy
    inner join computed_meters
        on idle_run_energy.meter_id = computed_meters.meter_id
    group by idle_run_energy.meter_id
),

{#- the idle readings of the recomputed meters, read by reference twice (a CTE would be
    materialised) -#}
{%- set outside_readings -%}
(
    select
        idle_readings.meter_id,
        idle_readings.power_w,
        idle_readings.support_us
    from {{ ref('int_meter_idle_readings') }} as idle_readings
    inner join computed_meters
        on idle_readings.meter_id = computed_meters.meter_id
)
{%- endset %}

supports as (
    select
        outside_readings.meter_id,
        sum(outside_readings.support_us) as support_us
    from {{ outside_readings }} as outside_readings
    group by outside_readings.meter_id
),

{{ exact_median_ctes(outside_readings, 'meter_id', 'power_w', 'outside_power') }},

outside_runs as (
    select
        outside_power_medians.meter_id,
        outside_power_medians.median_value as median_power_w,
        outside_power_medians.n_values as n_points,
        supports.support_us,
        case
            when
                outside_power_medians.n_values < {{ energy_var('baseline_min_readings') }}
                and supports.support_us < {{ baseline_min_us() }}
                then 'too_few_readings, too_short'
            when outside_power_medians.n_values < {{ energy_var('baseline_min_readings') }} then 'too_few_readings'
            when supports.support_us < {{ baseline_min_us() }} then 'too_short'
        end as baseline_issue
    from outside_power_medians
    inner join supports
        on outside_power_medians.meter_id = supports.meter_id
)

select
    computed_meters.meter_id,
    case
        when idle_runs.meter_id is not null then idle_runs.baseline_power_w
        when outside_runs.baseline_issue is null then outside_runs.median_power_w
    end as baseline_power_w,
    case
        when idle_runs.meter_id is not null then 'idle_runs'
        when outside_runs.meter_id is not null then 'outside_runs'
    end as baseline_method,
    coalesce(idle_runs.n_points, outside_runs.n_points) as baseline_points,
    case when idle_runs.meter_id is null then outside_runs.support_us / 1e6 end as baseline_support_s,
    case when idle_runs.meter_id is null then outside_runs.baseline_issue end as baseline_issue,
    computed_meters.n_runs,
    computed_meters.runs_checksum_us,
    computed_meters.last_start_us,
    {{ latest_load_id() }} as through_load_id
from computed_meters
left join idle_runs
    on computed_meters.meter_id = idle_runs.meter_id
left join outside_runs
    on computed_meters.meter_id = outside_runs.meter_id
