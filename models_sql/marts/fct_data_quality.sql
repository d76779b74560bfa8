-- Data-quality summary: one row per check (and per load for per-load counts). n_rows is the
-- number of offending rows; n_total what it is out of.
with

models as (
    select
        top1_acc_pct,
        macs
    from {{ ref('dim_models') }}
),

run_energy as (
    select
        is_complete,
        energy_j,
        meter_source,
        baseline_power_w,
        net_energy_j,
        has_overlap,
        profile_choice,
        co2_g
    from {{ ref('fct_run_energy') }}
),

loads as (
    select
        load_id,
        rows_read,
        load_kind,
        source_path
    from {{ ref('stg_raw__loads') }}
),

quarantined as (
    select load_id from {{ ref('stg_raw__quarantined_rows') }}
),

reconciliation as (
    select components_exceed_wall from {{ ref('fct_run_reconciliation') }}
),

checks as (
    select
        'models_missing_accuracy' as check_name,
        cast(null as bigint) as load_id,
        sum(case when top1_acc_pct is null then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'dim_models rows without a top-1 accuracy' as description
    from models
    union all
    select
        'models_missing_flops' as check_name,
        null as load_id,
        sum(case when macs is null then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'dim_models rows without MACs' as description
    from models
    union all
    select
        'runs_incomplete' as check_name,
        null as load_id,
        sum(case when is_complete then 0 else 1 end) as n_rows,
        count(*) as n_total,
        'runs with coverage < 1 (a gap longer than the meter''s gap_limit_s, an outage, outside the data, '
        || 'or no meter)' as description
    from run_energy
    union all
    select
        'runs_without_energy' as check_name,
        null as load_id,
        sum(case when energy_j is null then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'runs with no data at all (no meter resolved, or entirely outside the meter''s readings)' as description
    from run_energy
    union all
    select
        'runs_unresolved_meter' as check_name,
        null as load_id,
        sum(case when meter_source = 'unresolved' then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'runs naming no meter for which none could be chosen' as description
    from run_energy
    union all
    select
        'runs_without_baseline' as check_name,
        null as load_id,
        sum(case when energy_j is not null and baseline_power_w is null then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'runs with energy but no idle baseline (no idle run, and too few readings or too short a time '
        || 'outside runs: baseline_issue)' as description
    from run_energy
    union all
    select
        'runs_negative_net_energy' as check_name,
        null as load_id,
        sum(case when net_energy_j < 0 then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'runs whose energy is below their idle baseline (net_energy_j < 0)' as description
    from run_energy
    union all
    select
        'runs_overlapping' as check_name,
        null as load_id,
        sum(case when has_overlap then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'runs overlapping another run on one of their meters' as description
    from run_energy
    union all
    select
        'runs_without_profile' as check_name,
        null as load_id,
        sum(case when profile_choice = 'none' then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'runs whose model has no row in dim_models' as description
    from run_energy
    union all
    select
        'runs_without_carbon' as check_name,
        null as load_id,
        sum(case when energy_j is not null and co2_g is null then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'runs with energy but no carbon intensity for their zone' as description
    from run_energy
    union all
    select
        'runs_components_exceed_wall' as check_name,
        null as load_id,
        sum(case when components_exceed_wall then 1 else 0 end) as n_rows,
        count(*) as n_total,
        'runs whose component meters add up to more than their wall meter (clock skew or a wrong unit)'
            as description
    from reconciliation
    union all
    select
        'quarantined_rows' as check_name,
        loads.load_id,
        coalesce(count(quarantined.load_id), 0) as n_rows,
        max(loads.rows_read) as n_total,
        'rows of the load kept in quarantine ('
        || max(loads.load_kind) || ' ' || max(loads.source_path) || ')' as description
    from loads
    left join quarantined
        on loads.load_id = quarantined.load_id
    group by loads.load_id
)

select
    check_name,
    load_id,
    cast(coalesce(n_rows, 0) as bigint) as n_rows,
    cast(n_total as bigint) as n_total,
    description
from checks
