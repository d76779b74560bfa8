-- One row per (run, meter) that saw the run (int_run_bounds): what fct_run_meter_energy reports of
-- the run, without the meter's own values that move with every new reading (its gap limit and idle
-- baseline, joined by the fct_run_meter_energy view): energy, coverage, gaps, carbon of that meter,
-- computed exactly as for a run measured by one meter, and the meter's part in the run's total (the
-- attribution rule, README "Whole-machine energy"):
--   meter_role       wall | component (cpu_package, dram, a GPU the run used) | other_device (a
--                    GPU of the host the run did not name) | estimate. A meter of unknown kind
--                    counts as a wall meter (the kind every power ingest defaults to).
--   energy_basis     what the run's total is made of, the same on every row of the run:
--                    'wall' when the run has wall meters and each one's data spans the whole run;
--                    else 'components' when a component has data for the run; else 'wall' when a
--                    wall meter has data for part of it; else 'estimate' when only an estimate
--                    has data; null when no meter has data.
--   counted_in_total the meter's energy is added into the run's total: its role is the basis
--                    (never a wall meter and its components together, never an other device; RAPL
--                    parents and children never both exist as meters). With no data at all every
--                    meter but other devices is counted (the total is then null).
-- Incremental (macros/run_level.sql): a build recomputes the runs int_run_bounds, int_run_energy or
-- int_run_carbon stored since the last (int_run_bounds stores a run again when its meters, host,
-- bounds or overlap changed, and every run loaded again), and every run when a meter's registration
-- changed since.
{{ config(**run_keyed_incremental()) }}
with
{%- if is_incremental() %}

{{ run_meter_energy_changed_runs_ctes() }},
{%- endif %}

run_bounds as (
    select
        all_run_bounds.run_id,
        all_run_bounds.meter_id,
        all_run_bounds.host_id,
        all_run_bounds.meter_source,
        all_run_bounds.is_other_device,
        all_run_bounds.started_at,
        all_run_bounds.start_us,
        all_run_bounds.end_us,
        all_run_bounds.duration_us,
        all_run_bounds.has_overlap
    from {{ ref('int_run_bounds') }} as all_run_bounds
    {%- if is_incremental() %}
    inner join changed_runs
        on all_run_bounds.run_id = changed_runs.run_id
    {%- endif %}
),

run_energy as (
    select
        run_id,
        meter_id,
        has_data,
        data_start_us,
        data_end_us,
        energy_j,
        readings_count,
        max_gap_us,
        covered_us
    from {{ ref('int_run_energy') }}
),

run_carbon as (
    select
        run_id,
        meter_id,
        zone,
        co2_g,
        carbon_intensity_g_per_kwh,
        carbon_method,
        series_source,
        annual_source,
        annual_data_year
    from {{ ref('int_run_carbon') }}
),

meters as (
    -- every meter's kind as registered (null: unknown)
    select
        meter_id,
        meter_kind
    from {{ ref('stg_raw__meters') }}
),

measured as (
    select
        run_bounds.run_id,
        run_bounds.meter_id,
        run_bounds.host_id,
        run_bounds.meter_source,
        meters.meter_kind,
        case
            when run_bounds.is_other_device then 'other_device'
            when meters.meter_kind = 'estimate' then 'estimate'
            when meters.meter_kind in ('cpu_package', 'dram', 'gpu') then 'component'
            else 'wall'
        end as meter_role,
        run_bounds.start_us,
        run_bounds.end_us,
        run_bounds.duration_us / 1e6 as duration_s,
        coalesce(run_energy.has_data, false) as has_data,
        coalesce(
            run_energy.has_data
            and run_energy.data_start_us = run_bounds.start_us
            and run_energy.data_end_us = run_bounds.end_us,
            false
        ) as spans_run,
        run_energy.energy_j,
        (run_energy.data_end_us - run_energy.data_start_us) / 1e6 as data_span_s,
        run_energy.readings_count,
        run_energy.max_gap_us / 1e6 as max_gap_s,
        run_energy.covered_us / cast(run_bounds.duration_us as double) as coverage_ratio,
        coalesce(run_energy.has_data and run_energy.covered_us = run_bounds.duration_us, false) as is_complete,
        run_bounds.has_overlap,
        run_carbon.zone,
        run_carbon.co2_g,
        run_carbon.carbon_intensity_g_per_kwh,
        run_carbon.carbon_method,
        case run_carbon.carbon_method
            when 'series' then run_carbon.series_source
            when 'annual' then run_carbon.annual_source
            when 'series+annual' then coalesce(run_carbon.series_source, 'series') || ' + ' || run_carbon.annual_source
        end as carbon_source,
        case run_carbon.carbon_method
            when 'series' then {{ year_of('run_bounds.started_at') }}
            else run_carbon.annual_data_year
        end as carbon_data_year
    from run_bounds
    inner join run_energy
        on
            run_bounds.run_id = run_energy.run_id
            and coalesce(run_bounds.meter_id, '') = coalesce(run_energy.meter_id, '')
    left join run_carbon
        on
            run_bounds.run_id = run_carbon.run_id
            and run_bounds.meter_id = run_carbon.meter_id
    left join meters
        on run_bounds.meter_id = meters.meter_id
),

run_flags as (
    select
        run_id,
        sum(case when meter_role = 'wall' then 1 else 0 end) as n_wall_meters,
        sum(case when meter_role = 'wall' and not spans_run then 1 else 0 end) as n_wall_not_spanning,
        max(case when meter_role = 'wall' and has_data then 1 else 0 end) as wall_has_data,
        max(case when meter_role = 'component' and has_data then 1 else 0 end) as component_has_data,
        max(case when meter_role = 'estimate' and has_data then 1 else 0 end) as estimate_has_data
    from measured
    group by run_id
),

based as (
    select
        measured.*,
        case
            when run_flags.n_wall_meters > 0 and run_flags.n_wall_not_spanning = 0 then 'wall'
            when run_flags.component_has_data = 1 then 'components'
            when run_flags.wall_has_data = 1 then 'wall'
            when run_flags.estimate_has_data = 1 then 'estimate'
        end as energy_basis
    from measured
    inner join run_flags
        on measured.run_id = run_flags.run_id
),

attributed as (
    select
        *,
        case
            when energy_basis is null then meter_role != 'other_device'
            when energy_basis = 'components' then meter_role = 'component'
            else meter_role = energy_basis
        end as counted_in_total
    from based
)

select
    {{ run_meter_key_columns() }},
    {{ run_stored_energy_columns() }},
    {{ latest_load_id() }} as through_load_id
from attributed
