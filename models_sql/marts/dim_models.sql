-- One row per model variant (model_name, weights), keyed by model_variant_id (macro
-- model_variant_id), known from FLOP profiles, accuracy scores or runs; weights is null for a
-- profile loaded from a file without weights. Models that lack FLOPs or accuracy are kept
-- with nulls (fct_data_quality counts them). MACs are stored, FLOPs = 2 x MACs.
-- Accuracy of a row: the accuracy_dataset score of the same weights, else (weights null on either
-- side) the model's score without weights, else its default_weights score.
with

flop_profiles as (
    select
        *,
        {{ model_variant_id('model_name', 'weights') }} as model_variant_id
    from {{ ref('stg_raw__flop_profiles') }}
),

accuracy_scores as (
    select * from {{ ref('stg_raw__accuracy_scores') }}
    where dataset = {{ sql_literal(energy_var('accuracy_dataset')) }}
),

runs as (
    select * from {{ ref('stg_raw__runs') }}
),

model_keys as (
    select
        model_name,
        weights
    from flop_profiles
    union
    select
        model_name,
        weights
    from accuracy_scores
    where
        not exists (
            -- accuracy without weights belongs to the model's profiles when it has any
            select 1 from flop_profiles
            where
                flop_profiles.model_name = accuracy_scores.model_name
                and accuracy_scores.weights is null
        )
    union
    select
        model_name,
        weights
    from runs
    where not exists (
        select 1 from flop_profiles
        where flop_profiles.model_name = runs.model_name
    )
    and not exists (
        select 1 from accuracy_scores
        where accuracy_scores.model_name = runs.model_name
    )
),

accuracy_candidates as (
    select
        model_keys.model_name,
        model_keys.weights,
        accuracy_scores.top1_acc_pct,
        accuracy_scores.top5_acc_pct,
        accuracy_scores.top1_err_pct,
        accuracy_scores.top5_err_pct,
        accuracy_scores.accuracy_source,
        row_number() over (
            partition by model_keys.model_name, model_keys.weights
            order by
                case
                    when accuracy_scores.weights = model_keys.weights then 1
                    when accuracy_scores.weights is null and model_keys.weights is null then 1
                    when accuracy_scores.weights is null then 2
                    when accuracy_scores.weights = {{ sql_literal(energy_var('default_weights')) }} then 3
                    else 4
                end,
                accuracy_scores.weights
        ) as preference,
        case
            when accuracy_scores.weights = model_keys.weights then 1
            when accuracy_scores.weights is null and model_keys.weights is null then 1
            when accuracy_scores.weights is null then 2
            when
                model_keys.weights is null
                and accuracy_scores.weights = {{ sql_literal(energy_var('default_weights')) }}
                then 3
        end as match_rank
    from model_keys
    inner join accuracy_scores
        on model_keys.model_name = accuracy_scores.model_name
),

accuracy_chosen as (
    select
        *,
        {{ model_variant_id('model_name', 'weights') }} as model_variant_id
    from accuracy_candidates
    where preference = 1 and match_rank is not null
),

model_variants as (
    select
        *,
        {{ model_variant_id('model_name', 'weights') }} as model_variant_id
    from model_keys
)

select
    model_variants.model_variant_id,
    model_variants.model_name,
    model_variants.weights,
    nullif({{ regex_group('model_variants.model_name', '^(wide_resnet|[a-z]+)') }}, '') as family,
    flop_profiles.input_size,
    flop_profiles.macs,
    flop_profiles.macs_thop,
    flop_profiles.macs_counter,
    2 * flop_profiles.macs / 1e9 as gflops,
    2 * flop_profiles.macs_thop / 1e9 as gflops_thop,
    flop_profiles.params,
    flop_profiles.published_macs,
    flop_profiles.published_params,
    flop_profiles.profile_source as macs_source,
    accuracy_chosen.top1_acc_pct,
    accuracy_chosen.top5_acc_pct,
    accuracy_chosen.top1_err_pct,
    accuracy_chosen.top5_err_pct,
    accuracy_chosen.accuracy_source,
    -- training compute: ~3 x forward FLOPs per image x ImageNet-1K train images
    3 * 2 * flop_profiles.macs * 1281167 as flops_per_epoch,
    3 * 2 * flop_profiles.macs * 1281167 / (1e15 * 86400) as pf_days_per_epoch
from model_variants
left join flop_profiles
    on model_variants.model_variant_id = flop_profiles.model_variant_id
left join accuracy_chosen
    on model_variants.model_variant_id = accuracy_chosen.model_variant_id
