-- Invariants of fct_run_energy that hold whatever the data: units agree (J vs kWh), carbon is
-- energy x intensity, per-inference and net energies follow from the totals (the baseline is
-- subtracted over the part of the run with data, the span energy_j covers), coverage is a share and
-- a complete run is fully covered. Returns the offending rows.
with

run_energy as (
    select * from {{ ref('fct_run_energy') }}
)

select *
from run_energy
where
    abs(energy_kwh * 3.6e6 - energy_j) > 1e-9 * greatest(abs(energy_j), 1)
    or abs(co2_g - energy_kwh * carbon_intensity_g_per_kwh) > 1e-9 * greatest(abs(co2_g), 1e-9)
    or abs(energy_per_inference_j * n_inferences - energy_j) > 1e-9 * greatest(abs(energy_j), 1)
    or abs(net_energy_j - (energy_j - baseline_power_w * data_span_s)) > 1e-6 * greatest(abs(energy_j), 1)
    or coverage_ratio < 0
    or coverage_ratio > 1 + 1e-12
    or (is_complete and coverage_ratio < 1 - 1e-12)
    or (is_complete and abs(data_span_s - duration_s) > 1e-6)
    or (energy_j is null and coverage_ratio > 0)
