{#- Spark implementation of macros/incremental.sql: the energy models are plain tables on Spark,
    rebuilt in full every build (is_incremental() is false there); see docs/spark.md. -#}
{% macro spark__incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
