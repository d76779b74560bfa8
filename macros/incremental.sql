{#- Incremental builds of the energy models (issue 15). Meter logs are append-only: a build after a
    load processes the new readings only, and every incremental model stores `through_load_id`,
    the latest load of the warehouse when the row was computed, from which the next build knows
    what is new. `flopwatt build --full-refresh` (dbt's --full-refresh) recomputes everything.

    Spark builds these models as plain tables (a full rebuild every time, see docs/spark.md):
    incremental_materialization() is dispatched. -#}

{% macro incremental_materialization() -%}
    {{ return(adapter.dispatch('incremental_materialization', 'flopwatt')()) }}
{%- endmacro %}

{% macro default__incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- The latest load of the warehouse (0 before the first). -#}
{% macro latest_load_id() -%}
    (select coalesce(max(load_id), 0) from {{ ref('stg_raw__loads') }})
{%- endmacro %}

{#- Incremental strategy `replace_from` for curves kept per partition in position order, e.g.
    int_energy_curve (unique_key [meter_id, reading_index]): for each partition present in the new
    rows, the stored rows from the new rows' first position on are replaced by the new rows (a
    meter's tail after an append, or the whole meter when its new rows start at position 1). -#}
{% macro get_incremental_replace_from_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set keys = arg_dict['unique_key'] -%}
    {%- if keys is string or keys | length != 2 -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy replace_from needs unique_key [partition column, position column]") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} as stored
    using (
        select {{ keys[0] }}, min({{ keys[1] }}) as first_position
        from {{ source }}
        group by {{ keys[0] }}
    ) as replaced
    where stored.{{ keys[0] }} = replaced.{{ keys[0] }} and stored.{{ keys[1] }} >= replaced.first_position;

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}

{#- What an incremental build of int_energy_curve has to compute, from the loads after the curve's
    through_load_id (queried at run time). Returns a dict:
      rebuild  meter ids recomputed from their first reading: new meters, meters whose new rows
               reach back to or before their last processed reading (late data, an overlapping
               re-export, a gap marker replaced by a reading), meters switching to counters;
      tails    {meter_id: last processed reading (epoch us)} of meters whose new rows all lie after
               it: the curve continues from that reading (recomputed, since its next reading is new);
      offsets  {meter_id: {column: value}}: reading_index - 1, energy_j (as text) and covered_us
               at that reading;
      limits   {meter_id: gap_limit_us} the continued meters keep (null: reports changes only). -#}
{% macro energy_curve_increment() -%}
    {%- set plan = {'rebuild': [], 'tails': {}, 'offsets': {}, 'limits': {}} -%}
    {%- if not execute -%}{{ return(plan) }}{%- endif -%}
    {%- set new_rows -%}
        with
        watermark as (
            select coalesce(max(through_load_id), 0) as load_id from {{ this }}
        ),

        new_points as (
            {{ new_curve_points('(select load_id from watermark)') }}
        ),

        stored as (
            -- the last point of each meter with new points: the only row without a next instant
            -- (validity statistics skip every row group without a null: nothing else is read)
            select
                meter_id,
                ts_us as last_us,
                curve_kind
            from {{ this }}
            where next_ts_us is null and meter_id in (select meter_id from new_points)
        ),

        new_by_meter as (
            select
                meter_id,
                min(ts_us) as first_new_us,
                bool_or(is_counter) as has_counters,
                count(*) as n_new
            from new_points
            group by meter_id
        )

        select
            new_by_meter.meter_id,
            case
                when stored.meter_id is null then 'rebuild'
                when stored.curve_kind = 'counter' and not new_by_meter.has_counters then 'none'
                when stored.curve_kind != 'counter' and new_by_meter.has_counters then 'rebuild'
                when new_by_meter.first_new_us <= stored.last_us then 'rebuild'
                else 'tail'
            end as action,
            stored.last_us,
            new_by_meter.n_new
        from new_by_meter
        left join stored
            on new_by_meter.meter_id = stored.meter_id
    {%- endset -%}
    {%- set n_new = {} -%}
    {#- a meter registered again with a changed change-only rule (its gap limit): rebuilt -#}
    {%- set reregistered -%}
        with
        registered as (
            select
                meter_id,
                source_format
            from {{ ref('stg_raw__meters') }}
            where changed_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
        )

        select stored.meter_id
        from (
            -- each meter's last point (every row of a meter has its change-only rule)
            select
                meter_id,
                reports_changes_only
            from {{ this }}
            where next_ts_us is null and meter_id in (select meter_id from registered)
        ) as stored
        inner join registered as meters
            on stored.meter_id = meters.meter_id
        where
            stored.reports_changes_only
            != coalesce(meters.source_format in ({{ sql_list(energy_var('changes_only_formats')) }}), false)
    {%- endset -%}
    {%- for row in run_query(reregistered) -%}
        {%- do plan['rebuild'].append(row[0]) -%}
    {%- endfor -%}
    {%- for row in run_query(new_rows) -%}
        {%- if row[0] in plan['rebuild'] -%}
        {%- elif row[1] == 'rebuild' -%}
            {%- do plan['rebuild'].append(row[0]) -%}
        {%- elif row[1] == 'tail' -%}
            {%- do plan['tails'].update({row[0]: row[2]}) -%}
            {%- do n_new.update({row[0]: row[3]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if plan['tails'] -%}
        {#- A continued meter keeps its gap limit (is_covered of its stored rows depends on it): when
            it reports changes only, as long as its meters row still says so; else only while the
            limit is the floor max_gap_s and stays so: at least k2 = floor(n / 2) + 1 intervals no
            longer than max_gap_s / gap_factor (short), n counting every interval the new points may
            add, keep the median at or below it. Short intervals are counted in the stored rows and
            among the new points (from the last processed reading on; an interval touching a gap
            marker or a repeated instant is not counted: an undercount only rebuilds more). Any other
            meter is rebuilt. -#}
        {%- set watermark_load_id = run_query('select coalesce(max(through_load_id), 0) from ' ~ this)[0][0] -%}
        {%- set tail_meters -%}
            meter_id in ({% for m in plan['tails'] %}{{ sql_literal(m) }}{{ ', ' if not loop.last }}{% endfor %})
        {%- endset -%}
        {%- set counts = interval_counts_in_step(watermark_load_id) -%}
        {%- set limits -%}
            with
            stored as (
                -- the gap limit, kind and change-only rule of each meter (on each of its rows: its
                -- last point's, read without a scan) and its intervals, all and short: counted by
                -- int_meter_interval_counts when it was built after the curve (short: the buckets
                -- wholly at or below the threshold, an undercount), else by a scan of the curve
                select
                    last_points.meter_id,
                    last_points.gap_limit_us,
                    last_points.curve_kind,
                    last_points.reports_changes_only,
                    stored_intervals.n_intervals,
                    stored_intervals.n_short
                from {{ this }} as last_points
                inner join (
                    {%- if counts is not none %}
                    select
                        meter_id,
                        sum(n_bucket) as n_intervals,
                        sum(
                            case
                                when (exp((bucket + 1) / 256.0) * (1 + 1e-9) - 1) * {{ energy_var('gap_factor') }}
                                    <= {{ max_gap_us() }}
                                    then n_bucket
                                else 0
                            end
                        ) as n_short
                    from {{ counts }}
                    where {{ tail_meters }}
                    group by meter_id
                    {%- else %}
                    select
                        meter_id,
                        count(*) filter (where next_ts_us is not null and not is_gap_marker) as n_intervals,
                        count(*) filter (
                            where next_ts_us is not null and not is_gap_marker
                            and (next_ts_us - ts_us) * {{ energy_var('gap_factor') }} <= {{ max_gap_us() }}
                        ) as n_short
                    from {{ this }}
                    where {{ tail_meters }}
                    group by meter_id
                    {%- endif %}
                ) as stored_intervals
                    on last_points.meter_id = stored_intervals.meter_id
                where last_points.next_ts_us is null and last_points.{{ tail_meters }}
            ),

            new_points as (
                {{ new_curve_points(watermark_load_id, tail_meters) }}
                union all
                select
                    meter_id,
                    ts_us,
                    is_gap_marker,
                    curve_kind = 'counter' as is_counter
                from {{ this }}
                where
                {%- for m, last_us in plan['tails'].items() %}
                    {{ 'or ' if not loop.first }}(meter_id = {{ sql_literal(m) }} and ts_us = {{ last_us }})
                {%- endfor %}
            ),

            new_instants as (
                -- the points the curve integrates: a counter meter's counters, another's readings
                select
                    new_points.meter_id,
                    new_points.ts_us,
                    count(*) = 1 and not bool_or(new_points.is_gap_marker) as is_plain
                from new_points
                inner join stored
                    on new_points.meter_id = stored.meter_id
                where new_points.is_counter = (stored.curve_kind = 'counter')
                group by new_points.meter_id, new_points.ts_us
            ),

            new_intervals as (
                select
                    meter_id,
                    is_plain and lag(is_plain) over by_time as is_countable,
                    ts_us - lag(ts_us) over by_time as interval_us
                from new_instants
                window by_time as (partition by meter_id order by ts_us)
            ),

            new_short as (
                select
                    meter_id,
                    count(*) filter (
                        where is_countable and interval_us * {{ energy_var('gap_factor') }} <= {{ max_gap_us() }}
                    ) as n_short
                from new_intervals
                group by meter_id
            )

            select
                stored.meter_id,
                stored.gap_limit_us,
                stored.reports_changes_only,
                coalesce(meters.source_format in ({{ sql_list(energy_var('changes_only_formats')) }}), false)
                    as reports_changes_only_now,
                stored.n_intervals,
                stored.n_short + coalesce(new_short.n_short, 0) as n_short
            from stored
            left join {{ ref('stg_raw__meters') }} as meters
                on stored.meter_id = meters.meter_id
            left join new_short
                on stored.meter_id = new_short.meter_id
        {%- endset -%}
        {%- set limits_rows = run_query(limits) -%}
        {#- a continued meter the query does not return (no counted intervals): rebuilt -#}
        {%- set returned = [] -%}
        {%- for row in limits_rows -%}{%- do returned.append(row[0]) -%}{%- endfor -%}
        {%- for meter_id in plan['tails'].keys() | list -%}
            {%- if meter_id not in returned -%}
                {%- do plan['tails'].pop(meter_id) -%}
                {%- do plan['rebuild'].append(meter_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for row in limits_rows -%}
            {%- set meter_id, limit_us, changes_only, changes_only_now = row[0], row[1], row[2], row[3] -%}
            {%- set n_upper = row[4] + n_new[meter_id] -%}
            {%- set keeps = changes_only == changes_only_now and (
                changes_only or (limit_us == max_gap_us() | float and row[5] >= (n_upper // 2) + 1)) -%}
            {%- if keeps -%}
                {%- do plan['limits'].update({meter_id: limit_us}) -%}
            {%- else -%}
                {%- do plan['tails'].pop(meter_id) -%}
                {%- do plan['rebuild'].append(meter_id) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if plan['tails'] -%}
        {%- set seeds -%}
            select meter_id, reading_index - 1, cast(energy_j as varchar), covered_us
            from {{ this }}
            where
            {%- for meter_id, last_us in plan['tails'].items() %}
                {{ 'or ' if not loop.first }}(meter_id = {{ sql_literal(meter_id) }} and ts_us = {{ last_us }})
            {%- endfor %}
        {%- endset -%}
        {%- for row in run_query(seeds) -%}
            {%- do plan['offsets'].update({row[0]: {
                'reading_index': 'cast(' ~ row[1] ~ ' as bigint)',
                'energy_j': 'cast(' ~ sql_literal(row[2]) ~ ' as decimal(38, 9))',
                'covered_us': 'cast(' ~ row[3] ~ ' as bigint)',
            }}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{#- int_meter_interval_counts (read without ref(): it is built from this model) when it holds the
    bucket counts of every interval the curve has now: built after the curve's latest build, whose
    through_load_id is `watermark_load_id` (intervals depend on the loaded readings only); else none.
    Each counted meter has a row there (its null-bucket row: 0 intervals for a single reading); a
    meter without any is left out by the plan's inner join, and rebuilt. -#}
{% macro interval_counts_in_step(watermark_load_id) -%}
    {%- set counts = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_meter_interval_counts') -%}
    {%- if counts is none -%}{{ return(none) }}{%- endif -%}
    {%- set counted_at = run_query('select coalesce(max(through_load_id), 0) from ' ~ counts)[0][0] -%}
    {{ return(counts if counted_at >= watermark_load_id else none) }}
{%- endmacro %}

{#- The points loaded after `watermark_load_id` (an expression), optionally only of the meters
    `meter_filter` selects: power readings, counters and gap markers, as (meter_id, ts_us,
    is_gap_marker, is_counter). -#}
{% macro new_curve_points(watermark_load_id, meter_filter='true') -%}
    {%- for table, is_gap, is_counter in [
        ('power_readings', 'false', 'false'), ('energy_counters', 'false', 'true'), ('quarantine', 'is_gap', 'false')] %}
    select
        meter_id,
        {{ epoch_us('measured_at') }} as ts_us,
        {{ is_gap }} as is_gap_marker,
        {{ is_counter }} as is_counter
    from {{ source('raw', table) }}
    where
        load_id > {{ watermark_load_id }}
        and {{ meter_filter }}
        {%- if table == 'quarantine' %}
        and is_gap and meter_id is not null and measured_at is not null
        {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- A filter on (meter_id, measured_at) selecting the points an incremental curve build reads:
    all of each rebuilt meter, and each continued meter from its last processed reading on. Both
    are partition keys of the staging views' deduplication, so the filter reaches the scans. -#}
{% macro energy_curve_increment_filter(plan, meter_column='meter_id', time_column='measured_at') -%}
    (
        false
        {%- if plan['rebuild'] %}
        or {{ meter_column }} in (
            {%- for meter_id in plan['rebuild'] %}{{ sql_literal(meter_id) }}{{ ', ' if not loop.last }}{% endfor -%}
        )
        {%- endif %}
        {%- for meter_id, last_us in plan['tails'].items() %}
        or ({{ meter_column }} = {{ sql_literal(meter_id) }}
            and {{ time_column }} >= {{ timestamp_from_epoch_us(last_us) }})
        {%- endfor %}
    )
{%- endmacro %}

{#- A cumulative column of int_energy_curve, offset for the continued meters of an incremental build
    (`column + case meter_id when ... end as column`; the plain column in a full build). -#}
{% macro energy_curve_offset(plan, column) -%}
    {%- if plan is not none and plan['offsets'] -%}
        {{ column }} + case meter_id
        {%- for meter_id, offsets in plan['offsets'].items() %} when {{ sql_literal(meter_id) }} then {{ offsets[column] }}
        {%- endfor %} else 0 end as {{ column }}
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- `when meter_id = ... then <stored gap limit>` for the continued meters of an incremental build. -#}
{% macro energy_curve_stored_limits(plan) -%}
    {%- if plan is not none -%}
        {%- for meter_id, limit_us in plan['limits'].items() %}
            when meter_id = {{ sql_literal(meter_id) }} then {{ 'cast(null as double)' if limit_us is none else 'cast(' ~ limit_us ~ ' as double)' }}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- int_run_energy: the latest load its stored rows were computed at (0 when empty). -#}
{% macro run_energy_watermark() -%}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- set rows = run_query('select coalesce(max(through_load_id), 0) from ' ~ this) -%}
    {{ return(rows[0][0]) }}
{%- endmacro %}

{#- int_run_energy's incremental CTEs (after all_run_bounds and all_energy_curve): rewritten_curve
    (per meter, the first reading of the curve rewritten after `watermark`) and changed_runs: the
    runs int_run_bounds stored after it (new, loaded again, other pairs or bounds: all of a run's
    pairs are stored again, so a pair that is gone goes with them) and the runs ending in a
    rewritten part of their meter's curve. -#}
{% macro run_energy_changed_runs_ctes(watermark) -%}
rewritten_curve as (
    select
        meter_id,
        min(ts_us) as rewritten_from_us
    from all_energy_curve
    where through_load_id > {{ watermark }}
    group by meter_id
),

changed_runs as (
    select all_run_bounds.run_id
    from all_run_bounds
    left join rewritten_curve
        on all_run_bounds.meter_id = rewritten_curve.meter_id
    where
        all_run_bounds.through_load_id > {{ watermark }}
        or all_run_bounds.end_us >= rewritten_curve.rewritten_from_us
)
{%- endmacro %}

{#- {meter_id: the latest reading of int_energy_curve at or before reaches[meter_id]} (queried at
    run time; a meter without such a reading is left out). -#}
{% macro curve_floors(reaches) -%}
    {%- set floors = {} -%}
    {%- if not reaches -%}{{ return(floors) }}{%- endif -%}
    {%- set floors_sql -%}
        select meter_id, max(ts_us)
        from {{ ref('int_energy_curve') }}
        where
        {%- for meter_id, reach_us in reaches.items() %}
            {{ 'or ' if not loop.first }}(meter_id = {{ sql_literal(meter_id) }} and ts_us <= {{ reach_us }})
        {%- endfor %}
        group by meter_id
    {%- endset -%}
    {%- for row in run_query(floors_sql) -%}
        {%- do floors.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {{ return(floors) }}
{%- endmacro %}

{#- The part of int_energy_curve an incremental int_run_energy reads, as a filter on literals: per
    meter with changed runs, from the latest reading at or before the earliest changed run's start
    (every reading a probe of those runs matches is at or after it; all of the meter when there is
    none). Queried at run time; `false` when no run changed. -#}
{% macro run_energy_curve_filter(watermark) -%}
    {%- if not execute -%}{{ return('false') }}{%- endif -%}
    {%- set starts_sql -%}
        with
        all_run_bounds as (select * from {{ ref('int_run_bounds') }}),
        all_energy_curve as (select * from {{ ref('int_energy_curve') }}),
        {{ run_energy_changed_runs_ctes(watermark) }}
        select all_run_bounds.meter_id, min(all_run_bounds.start_us)
        from all_run_bounds
        inner join changed_runs
            on all_run_bounds.run_id = changed_runs.run_id
        where all_run_bounds.meter_id is not null
        group by all_run_bounds.meter_id
    {%- endset -%}
    {%- set starts = run_query(starts_sql) -%}
    {%- if starts | length == 0 -%}{{ return('false') }}{%- endif -%}
    {%- set reaches = {} -%}
    {%- for row in starts -%}{%- do reaches.update({row[0]: row[1]}) -%}{%- endfor -%}
    {%- set floors = curve_floors(reaches) -%}
    {%- set parts = [] -%}
    {%- for row in starts -%}
        {%- if row[0] in floors -%}
            {%- do parts.append('(meter_id = ' ~ sql_literal(row[0]) ~ ' and ts_us >= ' ~ floors[row[0]] ~ ')') -%}
        {%- else -%}
            {%- do parts.append('meter_id = ' ~ sql_literal(row[0])) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('(' ~ parts | join(' or ') ~ ')') }}
{%- endmacro %}
