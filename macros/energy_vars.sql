{#- The energy models' dbt vars with their defaults in one place (override with --vars or in
    dbt_project.yml):
    energy_integration   zoh | trapezoid   how power readings are integrated (zero-order hold default)
    max_gap_s            30                an interval between readings longer than this is a gap:
                                           not covered, so a run spanning it is incomplete
    baseline_window_s    3600              idle baseline: readings outside runs but within this many
                                           seconds of a run of the same meter
    gap_block_size       64                readings per block when looking up the largest gap in a run
    default_meter_id     none              meter of runs that name none (else the only meter with data
                                           overlapping the run)
    default_zone         GBR               grid zone of meters without one
    default_weights      IMAGENET1K_V1     weights assumed for runs that name none
    accuracy_dataset     ImageNet-1K       the dataset whose accuracy dim_models reports -#}
{% macro energy_var(name) -%}
    {%- set defaults = {
        'energy_integration': 'zoh',
        'max_gap_s': 30,
        'baseline_window_s': 3600,
        'gap_block_size': 64,
        'default_meter_id': none,
        'default_zone': 'GBR',
        'default_weights': 'IMAGENET1K_V1',
        'accuracy_dataset': 'ImageNet-1K',
    } -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("unknown energy var " ~ name) }}
    {%- endif -%}
    {%- set value = var(name, defaults[name]) -%}
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
