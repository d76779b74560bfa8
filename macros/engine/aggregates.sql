{#- Exact median of a numeric expression (an aggregate). -#}
{% macro median_of(expr) -%}
    {{ return(adapter.dispatch('median_of', 'flopwatt')(expr)) }}
{%- endmacro %}

{% macro default__median_of(expr) -%}
    median({{ expr }})
{%- endmacro %}

{#- Sample standard deviation (n - 1), null for fewer than two values. -#}
{% macro stddev_sample(expr) -%}
    {{ return(adapter.dispatch('stddev_sample', 'flopwatt')(expr)) }}
{%- endmacro %}

{% macro default__stddev_sample(expr) -%}
    stddev_samp({{ expr }})
{%- endmacro %}
