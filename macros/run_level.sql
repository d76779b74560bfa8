{#- Incremental plans of the run-level models (issue 15). The marts fct_run_meter_energy and
    fct_run_energy are views: the rows stored in int_run_meter_energy and int_run_energy_totals hold
    what depends on a run's own data only, and the views join in what every new reading of a meter
    moves for all of that meter's runs (its gap limit and idle baseline, int_meter_spans and
    int_meter_baselines) and what a reference-data load moves for all runs (the FLOP profile a run is
    attributed to, dim_models; the annual intensity of its reported zone). An append then rewrites the
    new runs and the runs ending in a rewritten part of a curve, not every run of every meter.
    Each plan compares with `this` (DuckDB only: Spark builds these models as tables). -#}

{#- The config of a model stored by run (all (run, meter) rows of a changed run replaced):
    `{{ config(**run_keyed_incremental()) }}`. -#}
{% macro run_keyed_incremental() -%}
    {{ return({
        'materialized': incremental_materialization(),
        'incremental_strategy': 'delete+insert',
        'unique_key': 'run_id',
    }) }}
{%- endmacro %}

{#- The watermark: the latest load the stored rows were computed at (0 when empty). -#}
{% macro run_level_watermark() -%}
    (select coalesce(max(through_load_id), 0) from {{ this }})
{%- endmacro %}

{#- int_run_bounds' changed runs (a query of run_id): the runs loaded since the watermark (new or
    loaded again: a run's own columns and bounds change only so) and the runs with a (run, meter)
    pair of `computed` (every run's rows, computed again) whose meter source, host, other-device or
    overlap flag is not stored, or a stored pair that is not computed. -#}
{% macro run_bounds_changed_runs(computed) -%}
    {%- set pair_columns = 'run_id, meter_id, meter_source, host_id, is_other_device, has_overlap' -%}
    select run_id
    from {{ ref('stg_raw__runs') }}
    where load_id > {{ run_level_watermark() }}
    union
    select new_or_changed.run_id
    from (
        select {{ pair_columns }} from {{ computed }}
        except
        select {{ pair_columns }} from {{ this }}
    ) as new_or_changed
    union
    select gone_or_changed.run_id
    from (
        select {{ pair_columns }} from {{ this }}
        except
        select {{ pair_columns }} from {{ computed }}
    ) as gone_or_changed
{%- endmacro %}

{#- int_run_meter_energy's CTE changed_runs: the runs int_run_bounds (new, loaded again, other
    pairs), int_run_energy or int_run_carbon stored since the watermark, and every run when a meter's
    registration changed since (its kind decides the meter's role). -#}
{% macro run_meter_energy_changed_runs_ctes() -%}
changed_runs as (
    select run_id
    from {{ ref('int_run_bounds') }}
    where through_load_id > {{ run_level_watermark() }}
    union
    select run_id
    from {{ ref('int_run_energy') }}
    where through_load_id > {{ run_level_watermark() }}
    union
    select run_id
    from {{ ref('int_run_carbon') }}
    where through_load_id > {{ run_level_watermark() }}
    union
    select run_id
    from {{ ref('int_run_bounds') }}
    where
        (select coalesce(max(changed_load_id), 0) from {{ ref('stg_raw__meters') }})
        > {{ run_level_watermark() }}
)
{%- endmacro %}

{#- int_run_energy_totals' CTE changed_runs: the runs int_run_meter_energy recomputed since the
    watermark (a run loaded again is among them: int_run_bounds stores it again). -#}
{% macro run_totals_changed_runs_ctes() -%}
changed_runs as (
    select run_id
    from {{ ref('int_run_meter_energy') }}
    where through_load_id > {{ run_level_watermark() }}
)
{%- endmacro %}
