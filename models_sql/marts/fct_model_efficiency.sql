-- One row per (model_name, weights) that has inference runs with energy, the runs attributed to a
-- profile by fct_run_energy's rule. Statistics are over the model's complete runs (coverage 1)
-- when it has any, else over all its runs with energy (n_complete_runs = 0 says so), and only over
-- runs of the model's best energy scope (wall > components > gpu_only > cpu_package_only >
-- dram_only > estimate, fct_run_energy's total): energies of different scopes are never averaged
-- together. Per-component means (gpu, cpu_package, dram, wall) are over the same runs.
with

run_energy as (
    select * from {{ ref('fct_run_energy') }}
),

models as (
    select * from {{ ref('dim_models') }}
),

inference_runs as (
    select
        *,
        case when profile_choice = 'none' then weights else weights_resolved end as model_weights,
        case energy_scope
            when 'wall' then 1
            when 'components' then 2
            when 'gpu_only' then 3
            when 'cpu_package_only' then 4
            when 'dram_only' then 5
            when 'estimate' then 6
            else 7
        end as scope_rank
    from run_energy
    where phase = 'inference' and energy_j is not null
),

ranked as (
    select
        *,
        min(scope_rank) over (partition by model_name, model_weights) as best_scope_rank,
        count(*) over (partition by model_name, model_weights) as n_runs,
        sum(case when is_complete then 1 else 0 end) over (
            partition by model_name, model_weights
        ) as n_complete_runs_any_meter
    from inference_runs
),

used as (
    select
        *,
        sum(case when is_complete then 1 else 0 end) over (partition by model_name, model_weights)
            as n_complete_runs
    from ranked
    where scope_rank = best_scope_rank
),

aggregated as (
    select
        model_name,
        model_weights as weights,
        max(profile_choice) as profile_choice,
        max(n_runs) as n_runs,
        cast(max(n_complete_runs) as bigint) as n_complete_runs,
        max(meter_kind) as meter_kind,
        max(energy_scope) as energy_scope,
        avg(energy_per_inference_j) as energy_per_inference_j_mean,
        avg(gpu_energy_j / n_inferences) as gpu_energy_per_inference_j_mean,
        avg(cpu_energy_j / n_inferences) as cpu_energy_per_inference_j_mean,
        avg(dram_energy_j / n_inferences) as dram_energy_per_inference_j_mean,
        avg(wall_energy_j / n_inferences) as wall_energy_per_inference_j_mean,
        {{ stddev_sample('energy_per_inference_j') }} as energy_per_inference_j_std,
        avg(energy_kwh) as energy_kwh_mean,
        sum(energy_j) / sum(data_span_s) as mean_power_w,
        avg(time_per_inference_ms) as time_per_inference_ms_mean,
        avg(co2_g / n_inferences) * 1000 as co2_g_per_1000_inferences,
        avg(co2_g) as co2_g_mean,
        sum(co2_g) / sum(energy_kwh) as carbon_intensity_g_per_kwh,
        case when count(distinct carbon_source) = 1 then max(carbon_source) else 'mixed' end as carbon_source
    from used
    where is_complete or n_complete_runs = 0
    group by model_name, model_weights
)

select
    aggregated.model_name,
    aggregated.weights,
    models.family,
    models.gflops,
    models.params,
    models.top1_acc_pct,
    models.top5_acc_pct,
    models.top1_err_pct,
    models.top5_err_pct,
    aggregated.n_runs,
    aggregated.n_complete_runs,
    aggregated.meter_kind,
    aggregated.energy_per_inference_j_mean,
    aggregated.energy_per_inference_j_std,
    aggregated.energy_kwh_mean,
    aggregated.mean_power_w,
    aggregated.time_per_inference_ms_mean,
    aggregated.co2_g_per_1000_inferences,
    aggregated.co2_g_mean,
    case when models.gflops > 0 then aggregated.energy_per_inference_j_mean / models.gflops end as j_per_gflop,
    aggregated.carbon_intensity_g_per_kwh,
    aggregated.carbon_source,
    aggregated.profile_choice,
    aggregated.energy_scope,
    aggregated.gpu_energy_per_inference_j_mean,
    aggregated.cpu_energy_per_inference_j_mean,
    aggregated.dram_energy_per_inference_j_mean,
    aggregated.wall_energy_per_inference_j_mean
from aggregated
left join models
    on
        aggregated.model_name = models.model_name
        and coalesce(aggregated.weights, '') = coalesce(models.weights, '')
