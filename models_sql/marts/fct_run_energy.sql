-- One row per run: its total energy by the attribution rule of fct_run_meter_energy (the wall
-- meter when it spans the run, else the sum of the components the run used), the energy of each
-- component, idle baseline (the counted meters' baselines summed, subtracted over the run's data
-- span, the longest of theirs), carbon (the sum over the counted meters, each with its zone's
-- intensity), and the model profile the run is attributed to. For a run measured by one meter every
-- column is that meter's. Runs without a meter or without data are kept (null energy,
-- is_complete = false).
-- energy_scope: wall | components (more than one kind of component) | gpu_only | cpu_package_only |
-- dram_only | estimate; null without data. unmetered_components: of cpu_package, dram and (for a
-- run on a GPU: one with a GPU meter of its own, or a cuda device) gpu, those no counted meter
-- measured, when the total is not a wall meter.
-- Profile of a run (profile_choice): 'exact' (the run's weights), else the model's default_weights
-- row ('default_weights', IMAGENET1K_V1), else its profile loaded without weights ('file_profile'),
-- else its first other weights ('first_available'); 'no_profile' when dim_models knows the model
-- without any FLOP profile, 'none' when it does not know it.
with

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
    group by run_id
),

counted as (
    select
        *,
        case when counted_in_total then 1 else 0 end as is_counted,
        case when counted_in_total and has_data then meter_kind end as counted_kind
    from {{ ref('fct_run_meter_energy') }}
),

models as (
    select
        model_name,
        weights,
        macs,
        gflops
    from {{ ref('dim_models') }}
),

zone_intensities as (
    select
        zone,
        annual_g_per_kwh
    from {{ ref('int_zone_annual_intensity') }}
),

totals as (
    -- every aggregate over one counted meter is that meter's value
    select
        run_id,
        sum(is_counted) as n_counted,
        max(energy_basis) as energy_basis,
        max(case when counted_in_total then meter_id end) as counted_meter_id,
        count(distinct case when counted_in_total then meter_kind end) as n_counted_kinds,
        max(case when counted_in_total then meter_kind end) as counted_meter_kind,
        sum(case when counted_in_total then energy_j end) as energy_j,
        max(case when counted_in_total then data_span_s end) as data_span_s,
        sum(case when counted_in_total then readings_count end) as readings_count,
        max(case when counted_in_total then max_gap_s end) as max_gap_s,
        max(case when counted_in_total then gap_limit_s end) as gap_limit_s,
        min(case when counted_in_total then coverage_ratio end) as coverage_ratio,
        min(case when counted_in_total then case when is_complete then 1 else 0 end end) as all_complete,
        max(case when counted_in_total then case when has_overlap then 1 else 0 end end) as any_overlap,
        sum(case when counted_in_total and baseline_power_w is null then 1 else 0 end) as n_without_baseline,
        sum(case when counted_in_total then baseline_power_w end) as baseline_power_w,
        count(distinct case when counted_in_total then baseline_method end) as n_baseline_methods,
        max(case when counted_in_total then baseline_method end) as baseline_method,
        max(case when counted_in_total then baseline_issue end) as baseline_issue,
        count(distinct case when counted_in_total then zone end) as n_zones,
        max(case when counted_in_total then zone end) as zone,
        sum(case when counted_in_total and energy_j is not null and co2_g is null then 1 else 0 end)
            as n_without_co2,
        sum(case when counted_in_total then co2_g end) as co2_g,
        max(case when counted_in_total then carbon_intensity_g_per_kwh end) as carbon_intensity_g_per_kwh,
        count(distinct case when counted_in_total then carbon_method end) as n_carbon_methods,
        max(case when counted_in_total then carbon_method end) as carbon_method,
        count(distinct case when counted_in_total then carbon_source end) as n_carbon_sources,
        max(case when counted_in_total then carbon_source end) as carbon_source,
        count(distinct case when counted_in_total then carbon_data_year end) as n_carbon_years,
        max(case when counted_in_total then carbon_data_year end) as carbon_data_year,
        count(distinct counted_kind) as n_kinds_with_data,
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

profile_candidates as (
    select
        runs.run_id,
        models.weights as weights_resolved,
        models.gflops,
        case
            when models.weights = runs.weights then 'exact'
            when models.weights = {{ sql_literal(energy_var('default_weights')) }} then 'default_weights'
            when models.weights is null and models.macs is not null then 'file_profile'
            -- a model known only from runs (or accuracy): no FLOP profile to attribute
            when models.weights is null then 'no_profile'
            else 'first_available'
        end as profile_choice,
        row_number() over (
            partition by runs.run_id
            order by
                case
                    when models.weights = runs.weights then 1
                    when models.weights = {{ sql_literal(energy_var('default_weights')) }} then 2
                    when models.weights is null then 3
                    else 4
                end,
                models.weights
        ) as preference
    from runs
    inner join models
        on runs.model_name = models.model_name
),

profiles as (
    select * from profile_candidates
    where preference = 1
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
        profiles.weights_resolved,
        coalesce(profiles.profile_choice, 'none') as profile_choice,
        runs.phase,
        runs.host_id,
        case when totals.n_counted = 1 then totals.counted_meter_id end as meter_id,
        runs.meter_source,
        case when totals.n_counted_kinds = 1 then totals.counted_meter_kind end as meter_kind,
        case
            when totals.energy_basis = 'components' and totals.n_kinds_with_data = 1
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
        totals.energy_j,
        totals.gpu_energy_j,
        totals.cpu_energy_j,
        totals.dram_energy_j,
        totals.wall_energy_j,
        totals.other_devices_energy_j,
        totals.data_span_s,
        cast(coalesce(totals.readings_count, 0) as bigint) as readings_count,
        totals.max_gap_s,
        totals.gap_limit_s,
        totals.coverage_ratio,
        coalesce(totals.all_complete = 1, false) as is_complete,
        coalesce(totals.any_overlap = 1, false) as has_overlap,
        profiles.gflops,
        case when totals.n_without_baseline = 0 then totals.baseline_power_w end as baseline_power_w,
        case when totals.n_baseline_methods > 1 then 'mixed' else totals.baseline_method end as baseline_method,
        totals.baseline_issue,
        -- a run without meter data keeps the zone its file named (CodeCarbon's country)
        case when totals.n_zones > 1 then 'mixed' else coalesce(totals.zone, runs.run_zone) end as zone,
        -- the run's own reported energy (CodeCarbon) at the annual intensity of its zone
        runs.measured_energy_j / 3.6e6 * reported_zone.annual_g_per_kwh as reported_co2_g,
        case when totals.n_without_co2 = 0 then totals.co2_g end as co2_g,
        case
            when totals.n_counted = 1 then totals.carbon_intensity_g_per_kwh
            when totals.n_without_co2 = 0 and totals.energy_j > 0 then totals.co2_g / (totals.energy_j / 3.6e6)
        end as carbon_intensity_g_per_kwh,
        case when totals.n_carbon_methods > 1 then 'mixed' else totals.carbon_method end as carbon_method,
        case when totals.n_carbon_sources > 1 then 'mixed' else totals.carbon_source end as carbon_source,
        case when totals.n_carbon_years = 1 then totals.carbon_data_year end as carbon_data_year
    from runs
    inner join totals
        on runs.run_id = totals.run_id
    inner join missing
        on runs.run_id = missing.run_id
    left join zone_intensities as reported_zone
        on coalesce(runs.run_zone, case when totals.n_zones = 1 then totals.zone end) = reported_zone.zone
    left join profiles
        on runs.run_id = profiles.run_id
)

select
    run_id,
    model_name,
    weights,
    weights_resolved,
    profile_choice,
    phase,
    meter_id,
    meter_source,
    meter_kind,
    started_at,
    ended_at,
    duration_s,
    data_span_s,
    n_inferences,
    batch_size,
    source_format,
    reported_energy_j,
    reported_co2_g,
    {{ run_energy_columns() }},
    energy_j / n_inferences as energy_per_inference_j,
    duration_s * 1000 / n_inferences as time_per_inference_ms,
    case when gflops > 0 then energy_j / n_inferences / gflops end as energy_per_gflop_j,
    {{ run_quality_baseline_carbon_columns() }},
    host_id,
    energy_scope,
    unmetered_components,
    gpu_energy_j,
    cpu_energy_j,
    dram_energy_j,
    wall_energy_j,
    other_devices_energy_j
from joined
