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
