{#- A floating-point value with NaN turned into null: a missing metric is null, never NaN (NaN
    compares greater than every number in DuckDB and Spark, so it would pass for a huge value). -#}
{% macro nan_to_null(expr) -%}
    {{ return(adapter.dispatch('nan_to_null', 'flopwatt')(expr)) }}
{%- endmacro %}

{% macro default__nan_to_null(expr) -%}
    case when isnan({{ expr }}) then null else {{ expr }} end
{%- endmacro %}

{% macro spark__nan_to_null(expr) -%}
    nanvl({{ expr }}, cast(null as double))
{%- endmacro %}
