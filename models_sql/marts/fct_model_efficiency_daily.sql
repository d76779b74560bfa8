-- One row per (model variant, UTC day a run started, energy scope, meter kind, complete or not) of the inference
-- runs with energy, the runs attributed to a profile by fct_run_energy's rule. Every measure is
-- additive (sums, counts, sums of squared deviations), so any set of days adds up to the figures of
-- fct_model_efficiency over those days: macros/model_efficiency.sql divides the same sums for the
-- whole history (fct_model_efficiency) and for `flopwatt report --since` (rpt_model_efficiency_since).
with

run_energy as (
    select * from {{ ref('fct_run_energy') }}
),

inference_runs as (
    select
        model_name,
        case when profile_choice = 'none' then weights else weights_resolved end as weights,
        cast(started_at as date) as run_date,
        energy_scope,
        meter_kind,
        coalesce(is_complete, false) as is_complete,
        profile_choice,
        energy_j,
        energy_kwh,
        data_span_s,
        energy_per_inference_j,
        time_per_inference_ms,
        co2_g,
        co2_g / n_inferences as co2_g_per_inference,
        gpu_energy_j / n_inferences as gpu_energy_per_inference_j,
        cpu_energy_j / n_inferences as cpu_energy_per_inference_j,
        dram_energy_j / n_inferences as dram_energy_per_inference_j,
        wall_energy_j / n_inferences as wall_energy_per_inference_j,
        carbon_source
    from run_energy
    where phase = 'inference' and energy_j is not null
),

grouped as (
    select
        *,
        avg(energy_per_inference_j) over (
            partition by model_name, weights, run_date, energy_scope, meter_kind, is_complete
        ) as energy_per_inference_j_day_mean
    from inference_runs
)

select
    {{ model_variant_id('model_name', 'weights') }} as model_variant_id,
    model_name,
    weights,
    run_date,
    energy_scope,
    {{ energy_scope_rank('energy_scope') }} as energy_scope_rank,
    meter_kind,
    is_complete,
    count(*) as n_runs,
    max(profile_choice) as profile_choice_max,
    sum(energy_j) as energy_j_sum,
    sum(data_span_s) as data_span_s_sum,
    sum(energy_kwh) as energy_kwh_sum,
    count(energy_kwh) as energy_kwh_count,
    sum(energy_per_inference_j) as energy_per_inference_j_sum,
    count(energy_per_inference_j) as energy_per_inference_j_count,
    -- sum of squared deviations from this row's own mean: combined over rows by Chan's formula
    sum(
        (energy_per_inference_j - energy_per_inference_j_day_mean)
        * (energy_per_inference_j - energy_per_inference_j_day_mean)
    ) as energy_per_inference_j_ssd,
    sum(time_per_inference_ms) as time_per_inference_ms_sum,
    count(time_per_inference_ms) as time_per_inference_ms_count,
    sum(co2_g) as co2_g_sum,
    count(co2_g) as co2_g_count,
    sum(co2_g_per_inference) as co2_g_per_inference_sum,
    count(co2_g_per_inference) as co2_g_per_inference_count,
    sum(gpu_energy_per_inference_j) as gpu_energy_per_inference_j_sum,
    count(gpu_energy_per_inference_j) as gpu_energy_per_inference_j_count,
    sum(cpu_energy_per_inference_j) as cpu_energy_per_inference_j_sum,
    count(cpu_energy_per_inference_j) as cpu_energy_per_inference_j_count,
    sum(dram_energy_per_inference_j) as dram_energy_per_inference_j_sum,
    count(dram_energy_per_inference_j) as dram_energy_per_inference_j_count,
    sum(wall_energy_per_inference_j) as wall_energy_per_inference_j_sum,
    count(wall_energy_per_inference_j) as wall_energy_per_inference_j_count,
    min(carbon_source) as carbon_source_min,
    max(carbon_source) as carbon_source_max
from grouped
group by model_name, weights, run_date, energy_scope, meter_kind, is_complete
