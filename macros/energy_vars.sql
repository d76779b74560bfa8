{#- The energy models' dbt vars with their defaults in one place (override with --vars or in
    dbt_project.yml):
    energy_integration   zoh | trapezoid   how power readings are integrated (zero-order hold default)
    max_gap_s            30                the floor of every meter's gap limit: an interval between
                                           readings longer than the limit is a gap, not covered, so a
                                           run spanning it is incomplete
    gap_factor           3                 a meter's gap limit is max(max_gap_s, gap_factor x its
                                           median interval between readings)
    changes_only_formats ha-history, ha-events, ha-db, ha-db+statistics_short_term
                                           meter source formats that record changes only (Home
                                           Assistant): no gap limit, only outage markers are gaps
    baseline_window_s    3600              idle baseline: readings outside runs but within this many
                                           seconds of a run of the same meter
    baseline_min_readings 10               an idle baseline from readings outside runs needs at
    baseline_min_s       60                least this many readings covering this many seconds
                                           (else it is null and baseline_issue says why)
    carbon_source_priority neso, electricitymaps
                                           when several carbon series cover a run's zone, the run
                                           uses the first of these providers that covers it
                                           (unlisted providers after, by name)
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
        'gap_factor': 3,
        'changes_only_formats': ['ha-history', 'ha-events', 'ha-db', 'ha-db+statistics_short_term'],
        'baseline_min_readings': 10,
        'baseline_min_s': 60,
        'carbon_source_priority': ['neso', 'electricitymaps'],
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
