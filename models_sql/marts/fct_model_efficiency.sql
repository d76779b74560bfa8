-- One row per model variant (model_name, weights) that has inference runs with energy, the runs
-- attributed to a profile by fct_run_energy's rule. Statistics over the variant's complete runs
-- (coverage 1) when it has any, else over all its runs with energy (n_complete_runs = 0 says so),
-- and only over runs of its best energy scope (wall > components > gpu_only > cpu_package_only >
-- dram_only > estimate, fct_run_energy's total; the macro energy_scope_rank): energies of different
-- scopes are never averaged together. Per-component means (gpu, cpu, dram, wall) over the same
-- runs. Divided out of the additive columns of fct_model_efficiency_daily by
-- macros/model_efficiency.sql, the same SQL that `flopwatt report --since` reads through
-- rpt_model_efficiency_since.
{{ model_efficiency(ref('fct_model_efficiency_daily'), ref('dim_models')) }}
