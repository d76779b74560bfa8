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
    zone,
    carbon_intensity_g_per_kwh,
    co2_g,
    carbon_method,
    carbon_source,
    carbon_data_year
{%- endmacro %}
