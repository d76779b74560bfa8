-- The reference study's published inference table (model, GFLOPS, empirical (kWh), kg CO2e,
-- top1score, top5score), computed the correct way: energy integrated over each run's own window
-- (not sum(W) x 3 s), UTC run times, each model's own CO2. One row per model with inference runs:
-- its profile with the most runs. empirical (kWh) is the mean energy of one run; top1score /
-- top5score are accuracies in % (the study's "score" = 100 - error).
with

model_efficiency as (
    select * from {{ ref('fct_model_efficiency') }}
),

one_per_model as (
    select
        *,
        row_number() over (
            partition by model_name order by n_runs desc, weights asc nulls first
        ) as preference
    from model_efficiency
)

select
    model_name as model,
    gflops as {{ quoted_alias('GFLOPS') }},
    energy_kwh_mean as {{ quoted_alias('empirical (kWh)') }},
    co2_g_mean / 1000 as {{ quoted_alias('kg CO2e') }},
    top1_acc_pct as top1score,
    top5_acc_pct as top5score
from one_per_model
where preference = 1
