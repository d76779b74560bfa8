{#- The energy models' dbt vars. Their defaults live in one place, the `vars:` of dbt_project.yml
    (with a line on each); override them with --vars. energy_var() reads one, failing at compile
    time for a name dbt_project.yml does not declare and for an energy_integration other than
    zoh or trapezoid. -#}
{% macro energy_var(name) -%}
    {%- if not var.has_var(name) -%}
        {{ exceptions.raise_compiler_error("unknown energy var " ~ name ~ " (declare it under vars: in dbt_project.yml)") }}
    {%- endif -%}
    {%- set value = var(name) -%}
    {%- if name == 'energy_integration' and value not in ['zoh', 'trapezoid'] -%}
        {{ exceptions.raise_compiler_error("var energy_integration must be zoh or trapezoid, not " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- max_gap_s in integer microseconds -#}
{% macro max_gap_us() -%}
    {{ return((energy_var('max_gap_s') | float * 1000000) | round | int) }}
{%- endmacro %}

{#- A SQL string literal (or null) for a var value. -#}
{% macro sql_literal(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}

{#- baseline_window_s in integer microseconds -#}
{% macro baseline_window_us() -%}
    {{ return((energy_var('baseline_window_s') | float * 1000000) | round | int) }}
{%- endmacro %}

{#- baseline_min_s in integer microseconds -#}
{% macro baseline_min_us() -%}
    {{ return((energy_var('baseline_min_s') | float * 1000000) | round | int) }}
{%- endmacro %}

{#- A comma-separated list of SQL string literals for a list var (a single string is a list of one). -#}
{% macro sql_list(values) -%}
    {%- set items = [values] if values is string else (values or []) -%}
    {%- if not items -%}null{%- endif -%}
    {%- for value in items -%}{{ sql_literal(value) }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}
