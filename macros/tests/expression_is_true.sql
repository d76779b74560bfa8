{#- Rows for which the boolean SQL expression is false (null counts as passing). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
