-- One row per model variant (model_name, weights) that has inference runs with energy, the runs
-- attributed to a profile by fct_run_energy's rule. Statistics over the variant's complete runs
-- (coverage 1) when it has any, else over all its runs with energy (n_complete_runs = 0 says so),
-- and only over runs of its best meter kind (wall > gpu > cpu_package > dram > estimate, the macro
-- meter_kind_rank): energies of different meter kinds are never averaged together. Divided out of
-- the additive columns of fct_model_efficiency_daily by macros/model_efficiency.sql, the same SQL
-- that `flopwatt report --since` reads through rpt_model_efficiency_since.
{{ model_efficiency(ref('fct_model_efficiency_daily'), ref('dim_models')) }}
