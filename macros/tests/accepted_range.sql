{#- Rows where column_name falls outside [min_value, max_value] (either bound optional). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
{%- set below = '<' if inclusive else '<=' -%}
{%- set above = '>' if inclusive else '>=' -%}
select *
from {{ model }}
where
    {{ column_name }} is not null
    and (
        {{ column_name }} {{ below }} {{ min_value if min_value is not none else 'null' }}
        or {{ column_name }} {{ above }} {{ max_value if max_value is not none else 'null' }}
    )
{% endtest %}
