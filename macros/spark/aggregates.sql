{#- Spark implementations of macros/engine/aggregates.sql. -#}

{#- stddev_samp: null for fewer than two values (spark.sql.legacy.statisticalAggregate=false, the
    default, as DuckDB). -#}
{% macro spark__stddev_sample(expr) -%}
    stddev_samp(cast({{ expr }} as double))
{%- endmacro %}
