{#- Spark implementation of macros/engine/numeric.sql: nanvl returns its second argument for NaN. -#}
{% macro spark__nan_to_null(expr) -%}
    nanvl({{ expr }}, cast(null as double))
{%- endmacro %}
