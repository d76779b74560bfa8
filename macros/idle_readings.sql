{#- Incremental builds of int_meter_idle_readings (the readings an idle baseline is taken from).
    What a build recomputes, queried at run time (a dict):
      all   meters recomputed whole: meters seen for the first time, meters whose runs changed other
            than by runs starting after the last run processed (a run added before it, bounds
            re-loaded: count or checksum of those runs differ from what int_meter_baselines
            stored), meters without runs any more;
      from  {meter_id: ts_us}: meters whose curve was rewritten or that have new runs after the
            processed ones, recomputed from the earliest reading a change can reach: the curve's
            first rewritten reading (an append rewrites from the last processed reading), and the
            last reading at or before baseline_window_s ahead of the first new run (a reading's
            inclusion and support look that far ahead).
    The stored run signature is read from int_meter_baselines without ref(): that model is built
    from this one, so what it holds is the previous build's. -#}
{% macro idle_readings_increment() -%}
    {%- set plan = {'all': [], 'from': {}} -%}
    {%- if not execute -%}{{ return(plan) }}{%- endif -%}
    {%- set baselines = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_meter_baselines') -%}
    {%- set changes -%}
        with
        watermark as (
            select coalesce(max(through_load_id), 0) as load_id from {{ this }}
        ),

        stored as (
            {%- if baselines is none %}
            select
                cast(null as varchar) as meter_id,
                cast(null as bigint) as n_runs,
                cast(null as decimal(38, 0)) as runs_checksum_us,
                cast(null as bigint) as last_start_us
            where false
            {%- else %}
            select meter_id, n_runs, runs_checksum_us, last_start_us from {{ baselines }}
            {%- endif %}
        ),

        signatures as (
            select
                run_bounds.meter_id,
                bool_or(stored.meter_id is null) as is_unseen,
                count(*) filter (where run_bounds.start_us <= stored.last_start_us) as n_old,
                coalesce(sum(cast(run_bounds.start_us as decimal(38, 0)) + cast(run_bounds.end_us as decimal(38, 0)))
                    filter (where run_bounds.start_us <= stored.last_start_us), 0) as checksum_old,
                max(stored.n_runs) as n_stored,
                max(stored.runs_checksum_us) as checksum_stored,
                min(run_bounds.start_us) filter (where run_bounds.start_us > stored.last_start_us)
                    as first_new_start_us
            from {{ ref('int_run_bounds') }} as run_bounds
            left join stored
                on run_bounds.meter_id = stored.meter_id
            where run_bounds.meter_id is not null
            group by run_bounds.meter_id
        ),

        rewritten as (
            select
                meter_id,
                min(ts_us) as rewritten_from_us
            from {{ ref('int_energy_curve') }}
            where through_load_id > (select load_id from watermark)
            group by meter_id
        ),

        idle_meters as (
            select distinct meter_id from {{ this }}
        ),

        meters as (
            select meter_id from signatures
            union
            select meter_id from rewritten
            union
            select meter_id from idle_meters
        )

        select
            meters.meter_id,
            case
                when signatures.meter_id is null then 'all'
                when signatures.is_unseen then 'all'
                when signatures.n_old != signatures.n_stored then 'all'
                when signatures.checksum_old != signatures.checksum_stored then 'all'
                else 'from'
            end as action,
            rewritten.rewritten_from_us,
            signatures.first_new_start_us - {{ baseline_window_us() }} as new_runs_reach_us
        from meters
        left join signatures
            on meters.meter_id = signatures.meter_id
        left join rewritten
            on meters.meter_id = rewritten.meter_id
    {%- endset -%}
    {%- set reaches = {} -%}
    {%- for row in run_query(changes) -%}
        {%- if row[1] == 'all' -%}
            {%- do plan['all'].append(row[0]) -%}
        {%- else -%}
            {%- if row[2] is not none -%}{%- do plan['from'].update({row[0]: row[2]}) -%}{%- endif -%}
            {%- if row[3] is not none -%}{%- do reaches.update({row[0]: row[3]}) -%}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if reaches -%}
        {#- the last reading at or before each reach (none: the meter is recomputed whole) -#}
        {%- set floors = curve_floors(reaches) -%}
        {%- for meter_id in reaches -%}
            {%- if meter_id not in floors -%}
                {%- do plan['all'].append(meter_id) -%}
                {%- do plan['from'].pop(meter_id, none) -%}
            {%- elif meter_id not in plan['from'] or floors[meter_id] < plan['from'][meter_id] -%}
                {%- do plan['from'].update({meter_id: floors[meter_id]}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{#- The recomputed part as a filter on literals (zone maps skip the rest): whole meters, and the
    others from their ts_us on (ts_column none: the meters only). -#}
{% macro idle_readings_plan_filter(plan, ts_column) -%}
    (
        false
        {%- if plan['all'] %}
        or meter_id in ({% for meter_id in plan['all'] %}{{ sql_literal(meter_id) }}{{ ', ' if not loop.last }}{% endfor %})
        {%- endif %}
        {%- for meter_id, from_us in plan['from'].items() %}
        or (meter_id = {{ sql_literal(meter_id) }}{% if ts_column is not none %} and {{ ts_column }} >= {{ from_us }}{% endif %})
        {%- endfor %}
    )
{%- endmacro %}

{#- Pre-hook: delete the stored rows the build recomputes (nothing in a full build). -#}
{% macro idle_readings_delete_replaced() -%}
    {%- if execute and is_incremental() -%}
        delete from {{ this }} where {{ idle_readings_plan_filter(idle_readings_increment(), 'ts_us') }}
    {%- endif -%}
{%- endmacro %}
