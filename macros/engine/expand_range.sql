{#- A join clause that repeats each row of the preceding relation once for every integer in
    [start_expr, stop_expr] (both inclusive), as column `value_alias` of relation `table_alias`,
    e.g. to split an interval into blocks. Spark: lateral view explode(sequence(start, stop)). -#}
{% macro cross_join_int_range(start_expr, stop_expr, table_alias, value_alias) -%}
    {{ return(adapter.dispatch('cross_join_int_range', 'flopwatt')(
        start_expr, stop_expr, table_alias, value_alias)) }}
{%- endmacro %}

{% macro default__cross_join_int_range(start_expr, stop_expr, table_alias, value_alias) -%}
    cross join unnest(generate_series({{ start_expr }}, {{ stop_expr }})) as {{ table_alias }} ({{ value_alias }})
{%- endmacro %}
