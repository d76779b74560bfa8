{#- The output columns fct_run_meter_energy (one meter's part of a run) and fct_run_energy (the
    run's total) share, each named and defined once, in the marts' order. Both select from a
    relation with energy_j, data_span_s and each column named here (is_complete never null). -#}

{#- The energy and the mean power over the data span (null when the span is empty). -#}
{% macro run_energy_columns() -%}
    energy_j,
    energy_j / 3.6e6 as energy_kwh,
    case when data_span_s > 0 then energy_j / data_span_s end as mean_power_w
{%- endmacro %}

{#- Data quality (readings, largest gap, the gap limit, coverage), the idle baseline and the net
    energy above it over the data span, and carbon. -#}
{% macro run_quality_baseline_carbon_columns() -%}
    readings_count,
    max_gap_s,
    gap_limit_s,
    coverage_ratio,
    is_complete,
    has_overlap,
    baseline_power_w,
    baseline_method,
    baseline_issue,
    energy_j - baseline_power_w * data_span_s as net_energy_j,
    {{ run_carbon_columns() }}
{%- endmacro %}

{#- The carbon of a run or run-meter: its zone, intensity, CO2 and where the intensity came from. -#}
{% macro run_carbon_columns() -%}
    zone,
    carbon_intensity_g_per_kwh,
    co2_g,
    carbon_method,
    carbon_source,
    carbon_data_year
{%- endmacro %}

{#- The leading columns of a (run, meter) row: fct_run_meter_energy's, stored in that order by
    int_run_meter_energy. -#}
{% macro run_meter_key_columns() -%}
    run_id,
    meter_id,
    host_id,
    meter_source,
    meter_kind,
    meter_role,
    energy_basis,
    counted_in_total,
    duration_s,
    data_span_s,
    has_data,
    spans_run
{%- endmacro %}

{#- A run's time, size and source columns (fct_run_energy's, stored by int_run_energy_totals). -#}
{% macro run_time_columns() -%}
    meter_source,
    meter_kind,
    started_at,
    ended_at,
    duration_s,
    data_span_s,
    n_inferences,
    batch_size,
    source_format,
    reported_energy_j
{%- endmacro %}

{#- A run's host, scope and per-component energies (fct_run_energy's last columns). -#}
{% macro run_component_columns() -%}
    host_id,
    energy_scope,
    unmetered_components,
    gpu_energy_j,
    cpu_energy_j,
    dram_energy_j,
    wall_energy_j,
    other_devices_energy_j
{%- endmacro %}

{#- What the run-level tables store of a run's (or a run-meter's) energy, quality and carbon; the
    fct_ views derive the rest (energy_kwh, mean power, gap limit, baseline, net energy). -#}
{% macro run_stored_energy_columns() -%}
    energy_j,
    readings_count,
    max_gap_s,
    coverage_ratio,
    is_complete,
    has_overlap,
    {{ run_carbon_columns() }}
{%- endmacro %}
