{#- ASOF join: every row of `left` with the columns of the row of `right` that has the same
    `by` key and the latest `right_ts` at or before `left_ts` (direction 'backward'), or the earliest
    at or after it ('forward'). Rows of `left` without such a row are kept with nulls.

    Arguments: left / right are relation names (CTEs or refs); by a list of column names present
    in both; left_ts / right_ts column names (bigint microseconds); right_columns a list of
    right-hand column names, or of (column, alias) pairs. Renders a complete select statement
    whose columns are left.* then the right-hand columns.

    DuckDB has a native ASOF join (O((n + m) log)). Spark has none and parses `asof join` silently as
    an inner join with a table alias `asof`: its implementation must emulate it (union the probes
    into the right-hand stream and carry the last row forward with last(..., true) over a window). -#}
{% macro asof_join(left, right, by, left_ts, right_ts, right_columns, direction='backward') -%}
    {{ return(adapter.dispatch('asof_join', 'flopwatt')(
        left, right, by, left_ts, right_ts, right_columns, direction)) }}
{%- endmacro %}

{% macro default__asof_join(left, right, by, left_ts, right_ts, right_columns, direction) -%}
    {%- set op = '>=' if direction == 'backward' else '<=' -%}
select
    asof_l.*
    {%- for col in right_columns %}
        {%- if col is string %}
    , asof_r.{{ col }}
        {%- else %}
    , asof_r.{{ col[0] }} as {{ col[1] }}
        {%- endif %}
    {%- endfor %}
from {{ left }} as asof_l
asof left join {{ right }} as asof_r
    on
    {%- for key in by %}
        asof_l.{{ key }} = asof_r.{{ key }} and
    {%- endfor %}
        asof_l.{{ left_ts }} {{ op }} asof_r.{{ right_ts }}
{%- endmacro %}

{#- Spark has no ASOF join, and `a asof left join b` parses *silently* as a join with a table alias
    `asof`: never emit it. Emulation, O((n + m) log) like the native join, no range-join blow-up:
    1. one time-ordered stream per `by` key: the left rows (probes, packed as a struct) and the
       right rows (the wanted columns, packed as a struct);
    2. over that stream, `last(right_struct, true)` over (partition by key order by time) carries
       the latest right row forward to every probe; at equal times right rows sort before probes,
       so a right row at exactly the probe's time matches (DuckDB's `>=`);
    3. keep the probes, unpack both structs.
    direction 'forward' walks the same stream in descending time (first right row at or after).
    Rows whose key or time is null never match (as with the native join's equality). The struct
    of the right row is non-null even when its fields are null, so a null field is never filled
    from an older row. -#}
{% macro spark__asof_join(left, right, by, left_ts, right_ts, right_columns, direction) -%}
    {%- if direction not in ['backward', 'forward'] -%}
        {{ exceptions.raise_compiler_error("asof_join: direction must be backward or forward, not " ~ direction) }}
    {%- endif -%}
    {%- set order = 'asc' if direction == 'backward' else 'desc' -%}
select
    asof_s.asof_lrow.*
    {%- for col in right_columns %}
    , asof_s.asof_match.{{ col if col is string else col[1] }} as {{ col if col is string else col[1] }}
    {%- endfor %}
from (
    select
        asof_u.asof_side,
        asof_u.asof_lrow,
        case when asof_u.asof_t is not null then
            last(asof_u.asof_rrow, true) over (
                partition by {% for key in by %}asof_u.asof_k{{ loop.index0 }}{{ ', ' if not loop.last }}{% endfor %}
                order by asof_u.asof_t {{ order }} nulls first, asof_u.asof_side asc
                rows between unbounded preceding and current row
            )
        end as asof_match
    from (
        select
            {{ asof_key_columns('asof_l', by) }}
            asof_l.{{ left_ts }} as asof_t,
            1 as asof_side,
            struct(asof_l.*) as asof_lrow,
            null as asof_rrow
        from {{ left }} as asof_l
        union all
        select
            {{ asof_key_columns('asof_r', by) }}
            asof_r.{{ right_ts }} as asof_t,
            0 as asof_side,
            null as asof_lrow,
            struct(
                {%- for col in right_columns %}
                asof_r.{{ col if col is string else col[0] }} as {{ col if col is string else col[1] }}{{ ',' if not loop.last }}
                {%- endfor %}
            ) as asof_rrow
        from {{ right }} as asof_r
        where
            {%- for key in by %}
            asof_r.{{ key }} is not null and
            {%- endfor %}
            asof_r.{{ right_ts }} is not null
    ) as asof_u
) as asof_s
where asof_s.asof_side = 1
{%- endmacro %}

{#- The `by` columns of one side of the Spark emulation's stream, as asof_k0, asof_k1, ... (each
    followed by a comma). -#}
{% macro asof_key_columns(alias, by) -%}
    {%- for key in by %}
    {{ alias }}.{{ key }} as asof_k{{ loop.index0 }},
    {%- endfor %}
{%- endmacro %}
