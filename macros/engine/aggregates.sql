{#- Sample standard deviation (n - 1), null for fewer than two values. -#}
{% macro stddev_sample(expr) -%}
    {{ return(adapter.dispatch('stddev_sample', 'flopwatt')(expr)) }}
{%- endmacro %}

{% macro default__stddev_sample(expr) -%}
    stddev_samp({{ expr }})
{%- endmacro %}

{#- stddev_samp: null for fewer than two values (spark.sql.legacy.statisticalAggregate=false, the
    default, as DuckDB). -#}
{% macro spark__stddev_sample(expr) -%}
    stddev_samp(cast({{ expr }} as double))
{%- endmacro %}
