{#- One row per model variant with inference runs: the statistics of fct_model_efficiency, divided
    out of the additive columns of fct_model_efficiency_daily (`daily`), joined to dim_models
    (`models`). `since`: a SQL date expression; only days on or after it count (null: every day).
    The rule: only runs of the variant's best energy scope (energy_scope_rank) count, energies of
    different scopes are never averaged together; of those, the complete runs (coverage 1) when
    there are any, else all of them (n_complete_runs = 0 says so). Means are sums over counts, the
    standard deviation pools the days' sums of squared deviations (Chan et al.). One SQL text for
    the mart and for `flopwatt report --since` (rpt_model_efficiency_since). -#}
{% macro model_efficiency(daily, models, since=none) -%}
with

daily as (
    select * from {{ daily }}
),

models as (
    select * from {{ models }}
),

ranked as (
    select
        *,
        sum(n_runs) over (partition by model_variant_id) as n_runs_any_meter,
        min(energy_scope_rank) over (partition by model_variant_id) as best_energy_scope_rank
    from daily
    {%- if since is not none %}
    where {{ since }} is null or run_date >= {{ since }}
    {%- endif %}
),

best_scope as (
    select
        *,
        sum(case when is_complete then n_runs else 0 end) over (
            partition by model_variant_id
        ) as n_complete_runs
    from ranked
    where energy_scope_rank = best_energy_scope_rank
),

used as (
    select
        *,
        energy_per_inference_j_sum / nullif(energy_per_inference_j_count, 0)
            as energy_per_inference_j_day_mean,
        sum(energy_per_inference_j_sum) over (partition by model_variant_id)
        / nullif(sum(energy_per_inference_j_count) over (partition by model_variant_id), 0)
            as energy_per_inference_j_mean
    from best_scope
    where is_complete or n_complete_runs = 0
),

aggregated as (
    select
        model_variant_id,
        model_name,
        weights,
        max(profile_choice_max) as profile_choice,
        cast(max(n_runs_any_meter) as bigint) as n_runs,
        cast(max(n_complete_runs) as bigint) as n_complete_runs,
        case when min(meter_kind) = max(meter_kind) then max(meter_kind) end as meter_kind,
        max(energy_scope) as energy_scope,
        max(energy_per_inference_j_mean) as energy_per_inference_j_mean,
        case when sum(energy_per_inference_j_count) > 1 then
            sqrt(
                sum(
                    energy_per_inference_j_ssd
                    + energy_per_inference_j_count
                    * (energy_per_inference_j_day_mean - energy_per_inference_j_mean)
                    * (energy_per_inference_j_day_mean - energy_per_inference_j_mean)
                ) / (sum(energy_per_inference_j_count) - 1)
            )
        end as energy_per_inference_j_std,
        sum(energy_kwh_sum) / nullif(sum(energy_kwh_count), 0) as energy_kwh_mean,
        sum(energy_j_sum) / sum(data_span_s_sum) as mean_power_w,
        sum(time_per_inference_ms_sum) / nullif(sum(time_per_inference_ms_count), 0)
            as time_per_inference_ms_mean,
        sum(co2_g_per_inference_sum) / nullif(sum(co2_g_per_inference_count), 0) * 1000
            as co2_g_per_1000_inferences,
        sum(co2_g_sum) / nullif(sum(co2_g_count), 0) as co2_g_mean,
        sum(co2_g_sum) / sum(energy_kwh_sum) as carbon_intensity_g_per_kwh,
        case
            when min(carbon_source_min) = max(carbon_source_max) then max(carbon_source_max)
            else 'mixed'
        end as carbon_source,
        {%- for part in ['gpu', 'cpu', 'dram', 'wall'] %}
        sum({{ part }}_energy_per_inference_j_sum)
        / nullif(sum({{ part }}_energy_per_inference_j_count), 0) as {{ part }}_energy_per_inference_j_mean
        {{- ',' if not loop.last }}
        {%- endfor %}
    from used
    group by model_variant_id, model_name, weights
)

select
    aggregated.model_variant_id,
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
    case
        when models.gflops > 0 then aggregated.energy_per_inference_j_mean / models.gflops
    end as energy_per_gflop_j_mean,
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
    on aggregated.model_variant_id = models.model_variant_id
{%- endmacro %}

{#- The date `flopwatt report --since` asks for: the DuckDB session variable flopwatt_since (null
    when unset, e.g. during dbt build). Spark has no session variable here: always null. -#}
{% macro report_since_date() -%}
    {{ return(adapter.dispatch('report_since_date', 'flopwatt')()) }}
{%- endmacro %}

{% macro default__report_since_date() -%}
    cast(getvariable('flopwatt_since') as date)
{%- endmacro %}

{% macro spark__report_since_date() -%}
    cast(null as date)
{%- endmacro %}
