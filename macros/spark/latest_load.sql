{#- Spark implementation of macros/engine/latest_load.sql: per key, the row (a struct of all its
    columns, in order) with the largest (newest_first...) struct, expanded back into columns. -#}
{% macro spark__latest_load(relation, partition_by, newest_first) -%}
select latest_row.*
from (
    select max_by(struct(*), struct({{ newest_first | join(', ') }})) as latest_row
    from {{ relation }}
    group by {{ partition_by | join(', ') }}
) as latest_rows
{%- endmacro %}
