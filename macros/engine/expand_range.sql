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

{#- Spark: repeat the preceding relation's rows
    once per integer in [start, stop]. LATERAL VIEW must follow the relations of the FROM clause
    (joins included) and precede WHERE, like the DuckDB cross join it replaces. sequence() counts
    down when start > stop, whereas generate_series() is then empty: guarded with an empty array
    (LATERAL VIEW without OUTER drops rows whose array is empty, as the cross join does). -#}
{% macro spark__cross_join_int_range(start_expr, stop_expr, table_alias, value_alias) -%}
    lateral view explode(
        case
            when cast({{ start_expr }} as bigint) <= cast({{ stop_expr }} as bigint)
                then sequence(cast({{ start_expr }} as bigint), cast({{ stop_expr }} as bigint))
            else cast(array() as array<bigint>)
        end
    ) {{ table_alias }} as {{ value_alias }}
{%- endmacro %}
