-- One row per run: energy from the cumulative curve (int_run_energy), idle baseline, carbon, and the
-- model profile the run is attributed to. Runs without a meter or without data are kept (null
-- energy, is_complete = false).
-- Profile of a run (profile_choice): 'exact' (the run's weights), else the model's default_weights
-- row ('default_weights', IMAGENET1K_V1), else its profile loaded without weights ('file_profile'),
-- else its first other weights ('first_available'); 'no_profile' when dim_models knows the model
-- without any FLOP profile, 'none' when it does not know it.
with

run_bounds as (
    select * from {{ ref('int_run_bounds') }}
),

run_energy as (
    select * from {{ ref('int_run_energy') }}
),

run_carbon as (
    select * from {{ ref('int_run_carbon') }}
),

meter_baselines as (
    select * from {{ ref('int_meter_baselines') }}
),

meter_spans as (
    select * from {{ ref('int_meter_spans') }}
),

meters as (
    select * from {{ ref('stg_raw__meters') }}
),

models as (
    select * from {{ ref('dim_models') }}
),

profile_candidates as (
    select
        run_bounds.run_id,
        models.weights as weights_resolved,
        models.gflops,
        case
            when models.weights = run_bounds.weights then 'exact'
            when models.weights = {{ sql_literal(energy_var('default_weights')) }} then 'default_weights'
            when models.weights is null and models.macs is not null then 'file_profile'
            -- a model known only from runs (or accuracy): no FLOP profile to attribute
            when models.weights is null then 'no_profile'
            else 'first_available'
        end as profile_choice,
        row_number() over (
            partition by run_bounds.run_id
            order by
                case
                    when models.weights = run_bounds.weights then 1
                    when models.weights = {{ sql_literal(energy_var('default_weights')) }} then 2
                    when models.weights is null then 3
                    else 4
                end,
                models.weights
        ) as preference
    from run_bounds
    inner join models
        on run_bounds.model_name = models.model_name
),

profiles as (
    select * from profile_candidates
    where preference = 1
),

joined as (
    select
        run_bounds.run_id,
        run_bounds.model_name,
        run_bounds.weights,
        profiles.weights_resolved,
        coalesce(profiles.profile_choice, 'none') as profile_choice,
        run_bounds.phase,
        run_bounds.meter_id,
        run_bounds.meter_source,
        coalesce(meters.meter_kind, meter_spans.meter_kind) as meter_kind,
        run_bounds.started_at,
        run_bounds.ended_at,
        run_bounds.duration_us / 1e6 as duration_s,
        run_bounds.n_inferences,
        run_bounds.batch_size,
        run_bounds.source_format,
        run_bounds.measured_energy_j as reported_energy_j,
        run_energy.energy_j,
        (run_energy.data_end_us - run_energy.data_start_us) / 1e6 as data_span_s,
        run_energy.readings_count,
        run_energy.max_gap_us / 1e6 as max_gap_s,
        meter_spans.gap_limit_us / 1e6 as gap_limit_s,
        run_energy.covered_us / cast(run_bounds.duration_us as double) as coverage_ratio,
        run_energy.has_data and run_energy.covered_us = run_bounds.duration_us as is_complete,
        run_bounds.has_overlap,
        profiles.gflops,
        meter_baselines.baseline_power_w,
        meter_baselines.baseline_method,
        meter_baselines.baseline_issue,
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
        on run_bounds.run_id = run_energy.run_id
    left join run_carbon
        on run_bounds.run_id = run_carbon.run_id
    left join meter_baselines
        on run_bounds.meter_id = meter_baselines.meter_id
    left join meter_spans
        on run_bounds.meter_id = meter_spans.meter_id
    left join meters
        on run_bounds.meter_id = meters.meter_id
    left join profiles
        on run_bounds.run_id = profiles.run_id
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
    energy_j,
    energy_j / 3.6e6 as energy_kwh,
    case when data_span_s > 0 then energy_j / data_span_s end as mean_power_w,
    energy_j / n_inferences as energy_per_inference_j,
    duration_s * 1000 / n_inferences as time_per_inference_ms,
    case when gflops > 0 then energy_j / n_inferences / gflops end as energy_per_gflop_j,
    readings_count,
    max_gap_s,
    gap_limit_s,
    coverage_ratio,
    coalesce(is_complete, false) as is_complete,
    has_overlap,
    baseline_power_w,
    baseline_method,
    baseline_issue,
    energy_j - baseline_power_w * data_span_s as net_energy_j,
    zone,
    carbon_intensity_g_per_kwh,
    co2_g,
    carbon_method,
    carbon_source,
    carbon_data_year
from joined
