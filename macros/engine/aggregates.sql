{#- Sample standard deviation (n - 1), null for fewer than two values. -#}
{% macro stddev_sample(expr) -%}
    {{ return(adapter.dispatch('stddev_sample', 'flopwatt')(expr)) }}
{%- endmacro %}

{% macro default__stddev_sample(expr) -%}
    stddev_samp({{ expr }})
{%- endmacro %}
