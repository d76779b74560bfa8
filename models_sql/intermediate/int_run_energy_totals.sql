-- One row per run: what fct_run_energy reports of the run from its own data (the view joins in the
-- counted meters' gap limits and baselines, the FLOP profile and the reported zone's intensity):
-- its total energy by the attribution rule of int_run_meter_energy (the wall meter when it spans
-- the run, else the sum of the components the run used), the energy of each component, coverage,
-- carbon (the sum over the counted meters, each with its zone's intensity), and counted_meter_ids,
-- the counted meters (sorted, ' + '-separated: fct_run_energy's key to their baselines).
-- energy_scope: wall | components (more than one kind of component) | gpu_only | cpu_package_only |
-- dram_only | estimate; null without data. unmetered_components: of cpu_package, dram and (for a
-- run on a GPU: one with a GPU meter of its own, or a cuda device) gpu, those no counted meter
-- measured, when the total is not a wall meter.
-- Incremental (macros/run_level.sql): a build recomputes the runs int_run_meter_energy recomputed
-- since the last (runs loaded again among them).
{{ config(**run_keyed_incremental()) }}
with
{%- if is_incremental() %}

{{ run_totals_changed_runs_ctes() }},
{%- endif %}

runs as (
    -- the run's own columns (the same on each of its int_run_bounds rows)
    select
        run_id,
        max(model_name) as model_name,
        max(weights) as weights,
        max(phase) as phase,
        max(started_at) as started_at,
        max(ended_at) as ended_at,
        max(duration_us) as duration_us,
        max(n_inferences) as n_inferences,
        max(batch_size) as batch_size,
        max(device) as device,
        max(source_format) as source_format,
        max(measured_energy_j) as measured_energy_j,
        max(run_zone) as run_zone,
        max(meter_source) as meter_source,
        max(host_id) as host_id
    from {{ ref('int_run_bounds') }}
    {%- if is_incremental() %}
    where run_id in (select run_id from changed_runs)
    {%- endif %}
    group by run_id
),

counted as (
    select
        *,
        case when counted_in_total then 1 else 0 end as is_counted,
        case when counted_in_total and has_data then meter_kind end as counted_kind
    from {{ ref('int_run_meter_energy') }}
    {%- if is_incremental() %}
    where run_id in (select run_id from changed_runs)
    {%- endif %}
),

totals as (
    -- every aggregate over one counted meter is that meter's value; min(x) = max(x): one distinct x,
    -- min(x) < max(x): several (count(distinct) per group costs a hash table per group)
    select
        run_id,
        sum(is_counted) as n_counted,
        max(energy_basis) as energy_basis,
        max(case when counted_in_total then meter_id end) as counted_meter_id,
        {{ sorted_set_string('case when counted_in_total then meter_id end', ' + ') }} as counted_meter_ids,
        min(case when counted_in_total then meter_kind end)
        = max(case when counted_in_total then meter_kind end) as has_one_counted_kind,
        max(case when counted_in_total then meter_kind end) as counted_meter_kind,
        sum(case when counted_in_total then energy_j end) as energy_j,
        max(case when counted_in_total then data_span_s end) as data_span_s,
        sum(case when counted_in_total then readings_count end) as readings_count,
        max(case when counted_in_total then max_gap_s end) as max_gap_s,
        min(case when counted_in_total then coverage_ratio end) as coverage_ratio,
        min(case when counted_in_total then case when is_complete then 1 else 0 end end) as all_complete,
        max(case when counted_in_total then case when has_overlap then 1 else 0 end end) as any_overlap,
        min(case when counted_in_total then zone end) as min_zone,
        max(case when counted_in_total then zone end) as zone,
        sum(case when counted_in_total and energy_j is not null and co2_g is null then 1 else 0 end)
            as n_without_co2,
        sum(case when counted_in_total then co2_g end) as co2_g,
        max(case when counted_in_total then carbon_intensity_g_per_kwh end) as carbon_intensity_g_per_kwh,
        min(case when counted_in_total then carbon_method end)
        < max(case when counted_in_total then carbon_method end) as has_mixed_carbon_methods,
        max(case when counted_in_total then carbon_method end) as carbon_method,
        min(case when counted_in_total then carbon_source end)
        < max(case when counted_in_total then carbon_source end) as has_mixed_carbon_sources,
        max(case when counted_in_total then carbon_source end) as carbon_source,
        min(case when counted_in_total then carbon_data_year end)
        = max(case when counted_in_total then carbon_data_year end) as has_one_carbon_year,
        max(case when counted_in_total then carbon_data_year end) as carbon_data_year,
        min(counted_kind) = max(counted_kind) as has_one_kind_with_data,
        max(counted_kind) as kind_with_data,
        max(case when counted_kind = 'cpu_package' then 1 else 0 end) as has_cpu,
        max(case when counted_kind = 'dram' then 1 else 0 end) as has_dram,
        max(case when counted_kind = 'gpu' then 1 else 0 end) as has_gpu,
        max(case when meter_role = 'component' and meter_kind = 'gpu' then 1 else 0 end) as uses_gpu_meter,
        sum(case when meter_role = 'component' and meter_kind = 'gpu' then energy_j end) as gpu_energy_j,
        sum(case when meter_role = 'component' and meter_kind = 'cpu_package' then energy_j end) as cpu_energy_j,
        sum(case when meter_role = 'component' and meter_kind = 'dram' then energy_j end) as dram_energy_j,
        sum(case when meter_role = 'wall' then energy_j end) as wall_energy_j,
        sum(case when meter_role = 'other_device' then energy_j end) as other_devices_energy_j
    from counted
    group by run_id
),

missing as (
    -- ', kind' for each component no counted meter measured (the leading ', ' is cut below)
    select
        run_id,
        case
            when energy_basis in ('components', 'estimate')
                then
                    case when has_cpu = 1 then '' else ', cpu_package' end
                    || case when has_dram = 1 then '' else ', dram' end
                    || case when has_gpu = 1 or gpu_run = 0 then '' else ', gpu' end
        end as missing_list
    from (
        select
            totals.*,
            case
                when totals.uses_gpu_meter = 1 or lower(runs.device) like 'cuda%' then 1
                else 0
            end as gpu_run
        from totals
        inner join runs
            on totals.run_id = runs.run_id
    ) as flagged
),

joined as (
    select
        runs.run_id,
        runs.model_name,
        runs.weights,
        runs.phase,
        runs.host_id,
        case when totals.n_counted = 1 then totals.counted_meter_id end as meter_id,
        totals.counted_meter_ids,
        runs.meter_source,
        case when totals.has_one_counted_kind then totals.counted_meter_kind end as meter_kind,
        case
            when totals.energy_basis = 'components' and totals.has_one_kind_with_data
                then totals.kind_with_data || '_only'
            else totals.energy_basis
        end as energy_scope,
        case when missing.missing_list != '' then substr(missing.missing_list, 3) end as unmetered_components,
        runs.started_at,
        runs.ended_at,
        runs.duration_us / 1e6 as duration_s,
        runs.n_inferences,
        runs.batch_size,
        runs.source_format,
        runs.measured_energy_j as reported_energy_j,
        -- the zone of the run's reported energy: the one its file named, else its meters' only zone
        coalesce(runs.run_zone, case when totals.min_zone = totals.zone then totals.zone end) as reported_zone,
        totals.energy_j,
        totals.gpu_energy_j,
        totals.cpu_energy_j,
        totals.dram_energy_j,
        totals.wall_energy_j,
        totals.other_devices_energy_j,
        totals.data_span_s,
        cast(coalesce(totals.readings_count, 0) as bigint) as readings_count,
        totals.max_gap_s,
        totals.coverage_ratio,
        coalesce(totals.all_complete = 1, false) as is_complete,
        coalesce(totals.any_overlap = 1, false) as has_overlap,
        -- a run without meter data keeps the zone its file named (CodeCarbon's country)
        case when totals.min_zone < totals.zone then 'mixed' else coalesce(totals.zone, runs.run_zone) end as zone,
        case when totals.n_without_co2 = 0 then totals.co2_g end as co2_g,
        case
            when totals.n_counted = 1 then totals.carbon_intensity_g_per_kwh
            when totals.n_without_co2 = 0 and totals.energy_j > 0 then totals.co2_g / (totals.energy_j / 3.6e6)
        end as carbon_intensity_g_per_kwh,
        case when totals.has_mixed_carbon_methods then 'mixed' else totals.carbon_method end as carbon_method,
        case when totals.has_mixed_carbon_sources then 'mixed' else totals.carbon_source end as carbon_source,
        case when totals.has_one_carbon_year then totals.carbon_data_year end as carbon_data_year
    from runs
    inner join totals
        on runs.run_id = totals.run_id
    inner join missing
        on runs.run_id = missing.run_id
)

select
    run_id,
    model_name,
    weights,
    phase,
    meter_id,
    counted_meter_ids,
    {{ run_time_columns() }},
    reported_zone,
    {{ run_stored_energy_columns() }},
    {{ run_component_columns() }},
    {{ latest_load_id() }} as through_load_id
from joined
