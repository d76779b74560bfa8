-- One row per run: int_run_energy_totals (its total energy by the attribution rule of
-- fct_run_meter_energy, the energy of each component, coverage, carbon; its header gives
-- energy_scope and unmetered_components) with what moves for many runs at once, joined here: the
-- counted meters' gap limit and idle baseline (summed, subtracted over the run's data span, the
-- longest of theirs; int_counted_meter_sets), the model profile the run is attributed to
-- (dim_models) and the annual intensity of the zone of its reported energy. For a run measured by
-- one meter every column is that meter's. Runs without a meter or without data are kept (null
-- energy, is_complete = false).
-- Profile of a run (profile_choice): 'exact' (the run's weights), else the model's default_weights
-- row ('default_weights', IMAGENET1K_V1), else its profile loaded without weights ('file_profile'),
-- else its first other weights ('first_available'); 'no_profile' when dim_models knows the model
-- without any FLOP profile, 'none' when it does not know it.
-- A view: an incremental build then rewrites only the runs whose own data changed.
{{ config(materialized='view') }}
{%- set default_weights = sql_literal(energy_var('default_weights')) %}
with

run_totals as (
    select * from {{ ref('int_run_energy_totals') }}
),

counted_meter_sets as (
    select * from {{ ref('int_counted_meter_sets') }}
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

fallback_profiles as (
    -- per model, the profile of a run whose weights have none: default weights, else the profile
    -- loaded without weights, else the first other weights
    select
        model_name,
        weights,
        gflops,
        case
            when weights = {{ default_weights }} then 'default_weights'
            when weights is null and macs is not null then 'file_profile'
            -- a model known only from runs (or accuracy): no FLOP profile to attribute
            when weights is null then 'no_profile'
            else 'first_available'
        end as profile_choice
    from (
        select
            *,
            row_number() over (
                partition by model_name
                order by
                    case
                        when weights = {{ default_weights }} then 1
                        when weights is null then 2
                        else 3
                    end,
                    weights
            ) as preference
        from models
    ) as ranked
    where preference = 1
),

joined as (
    select
        run_totals.*,
        case when exact_profiles.model_name is not null then exact_profiles.weights else fallback_profiles.weights end
            as weights_resolved,
        case
            when exact_profiles.model_name is not null then 'exact'
            else coalesce(fallback_profiles.profile_choice, 'none')
        end as profile_choice,
        case when exact_profiles.model_name is not null then exact_profiles.gflops else fallback_profiles.gflops end
            as gflops,
        -- the run's own reported energy (CodeCarbon) at the annual intensity of its zone
        run_totals.reported_energy_j / 3.6e6 * reported_zone.annual_g_per_kwh as reported_co2_g,
        counted_meter_sets.gap_limit_s,
        counted_meter_sets.baseline_power_w,
        counted_meter_sets.baseline_method,
        counted_meter_sets.baseline_issue
    from run_totals
    left join counted_meter_sets
        on run_totals.counted_meter_ids = counted_meter_sets.counted_meter_ids
    left join models as exact_profiles
        on
            run_totals.model_name = exact_profiles.model_name
            and run_totals.weights = exact_profiles.weights
    left join fallback_profiles
        on run_totals.model_name = fallback_profiles.model_name
    left join zone_intensities as reported_zone
        on run_totals.reported_zone = reported_zone.zone
)

select
    run_id,
    model_name,
    weights,
    weights_resolved,
    profile_choice,
    phase,
    meter_id,
    {{ run_time_columns() }},
    reported_co2_g,
    {{ run_energy_columns() }},
    energy_j / n_inferences as energy_per_inference_j,
    duration_s * 1000 / n_inferences as time_per_inference_ms,
    case when gflops > 0 then energy_j / n_inferences / gflops end as energy_per_gflop_j,
    {{ run_quality_baseline_carbon_columns() }},
    {{ run_component_columns() }}
from joined
