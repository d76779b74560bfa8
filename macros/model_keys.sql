{#- The key of one model variant, (model_name, weights), as dim_models.model_variant_id: the model
    name alone when weights is null (a profile loaded without weights), else name:weights. Joins on
    a variant compare this key, never coalesce(weights, ''). -#}
{% macro model_variant_id(model_name, weights) -%}
    case when {{ weights }} is null then {{ model_name }} else concat({{ model_name }}, ':', {{ weights }}) end
{%- endmacro %}

{#- The preference among the meter kinds that measured one model variant, 1 = best: the wall meter
    (what the study measured), then gpu, cpu_package, dram, and the labelled estimate last. Energies
    of different meter kinds are never averaged together (fct_model_efficiency). -#}
{% macro meter_kind_rank(meter_kind) -%}
    case {{ meter_kind }}
        when 'wall' then 1
        when 'gpu' then 2
        when 'cpu_package' then 3
        when 'dram' then 4
        when 'estimate' then 5
        else 6
    end
{%- endmacro %}
