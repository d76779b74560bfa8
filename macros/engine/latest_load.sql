{#- "The latest load wins": the rows of `relation` (a CTE or ref) keeping, per `partition_by` key
    (a list of column names or expressions), the one whose `newest_first` expressions are largest
    (compared in order; default the load_id: the most recent load). Renders a complete select whose
    columns are exactly those of `relation`, so a staging model lists its columns once.
    DuckDB filters with a window in QUALIFY; Spark (3.5 has neither QUALIFY nor select * except)
    takes max_by over a struct of the row. -#}
{% macro latest_load(relation, partition_by, newest_first=['load_id']) -%}
    {{ return(adapter.dispatch('latest_load', 'flopwatt')(relation, partition_by, newest_first)) }}
{%- endmacro %}

{% macro default__latest_load(relation, partition_by, newest_first) -%}
select *
from {{ relation }}
qualify row_number() over (
    partition by {{ partition_by | join(', ') }}
    order by {% for key in newest_first %}({{ key }}) desc{{ ', ' if not loop.last }}{% endfor %}
) = 1
{%- endmacro %}

{% macro spark__latest_load(relation, partition_by, newest_first) -%}
select latest_row.*
from (
    select max_by(struct(*), struct({{ newest_first | join(', ') }})) as latest_row
    from {{ relation }}
    group by {{ partition_by | join(', ') }}
) as latest_rows
{%- endmacro %}
