{#- Spark implementations of macros/engine/aggregates.sql. -#}

{#- Exact median with linear interpolation between the two middle values, as DuckDB's median:
    percentile() (exact; not percentile_approx), available in every Spark 3.x/4.x and Databricks. -#}
{% macro spark__median_of(expr) -%}
    percentile(cast({{ expr }} as double), 0.5)
{%- endmacro %}

{#- stddev_samp: null for fewer than two values (spark.sql.legacy.statisticalAggregate=false, the
    default, as DuckDB). -#}
{% macro spark__stddev_sample(expr) -%}
    stddev_samp(cast({{ expr }} as double))
{%- endmacro %}
