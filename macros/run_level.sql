{#- Incremental plans of the run-level models (issue 15). The marts fct_run_meter_energy and
    fct_run_energy are views: the rows stored in int_run_meter_energy and int_run_energy_totals hold
    what depends on a run's own data only, and the views join in what every new reading of a meter
    moves for all of that meter's runs (its gap limit and idle baseline, int_meter_spans and
    int_meter_baselines) and what a reference-data load moves for all runs (the FLOP profile a run is
    attributed to, dim_models; the annual intensity of its reported zone). An append then rewrites the
    new runs and the runs ending in a rewritten part of a curve, not every run of every meter.
    Each plan compares with `this` (DuckDB only: Spark builds these models as tables). -#}

{#- The watermark: the latest load the stored rows were computed at (0 when empty). -#}
{% macro run_level_watermark() -%}
    (select coalesce(max(through_load_id), 0) from {{ this }})
{%- endmacro %}

{#- int_run_meter_energy's CTE changed_runs: the runs int_run_energy or int_run_carbon recomputed
    since the watermark, the runs loaded since, the runs with a (run, meter) pair of int_run_bounds
    that is new, gone, or has another host, meter source, overlap flag or other-device flag, and every
    run when a meter's registration changed since (its kind decides the meter's role). -#}
{% macro run_meter_energy_changed_runs_ctes() -%}
stored_pairs as (
    select
        run_id,
        meter_id,
        host_id,
        meter_source,
        meter_role = 'other_device' as is_other_device,
        has_overlap
    from {{ this }}
),

bound_pairs as (
    select
        run_id,
        meter_id,
        host_id,
        meter_source,
        is_other_device,
        has_overlap
    from {{ ref('int_run_bounds') }}
),

changed_runs as (
    select run_id
    from {{ ref('int_run_energy') }}
    where through_load_id > {{ run_level_watermark() }}
    union
    select run_id
    from {{ ref('int_run_carbon') }}
    where through_load_id > {{ run_level_watermark() }}
    union
    select run_id
    from {{ ref('stg_raw__runs') }}
    where load_id > {{ run_level_watermark() }}
    union
    select bound_pairs.run_id
    from bound_pairs
    left join stored_pairs
        on
            bound_pairs.run_id = stored_pairs.run_id
            and bound_pairs.meter_id is not distinct from stored_pairs.meter_id
    where
        stored_pairs.run_id is null
        or bound_pairs.host_id is distinct from stored_pairs.host_id
        or bound_pairs.meter_source != stored_pairs.meter_source
        or bound_pairs.is_other_device != stored_pairs.is_other_device
        or bound_pairs.has_overlap != stored_pairs.has_overlap
    union
    select stored_pairs.run_id
    from stored_pairs
    left join bound_pairs
        on
            stored_pairs.run_id = bound_pairs.run_id
            and stored_pairs.meter_id is not distinct from bound_pairs.meter_id
    where bound_pairs.run_id is null
    union
    select run_id
    from bound_pairs
    where
        (select coalesce(max(changed_load_id), 0) from {{ ref('stg_raw__meters') }})
        > {{ run_level_watermark() }}
)
{%- endmacro %}

{#- int_run_energy_totals' CTE changed_runs: the runs int_run_meter_energy recomputed since the
    watermark and the runs loaded since (a run's own columns: model, inferences, device). -#}
{% macro run_totals_changed_runs_ctes() -%}
changed_runs as (
    select run_id
    from {{ ref('int_run_meter_energy') }}
    where through_load_id > {{ run_level_watermark() }}
    union
    select run_id
    from {{ ref('stg_raw__runs') }}
    where load_id > {{ run_level_watermark() }}
)
{%- endmacro %}
