{#- The key of one model variant, (model_name, weights), as dim_models.model_variant_id: the model
    name alone when weights is null (a profile loaded without weights), else name:weights. Joins on
    a variant compare this key, never coalesce(weights, ''). -#}
{% macro model_variant_id(model_name, weights) -%}
    case when {{ weights }} is null then {{ model_name }} else concat({{ model_name }}, ':', {{ weights }}) end
{%- endmacro %}

{#- The preference among the energy scopes of one model variant's runs (fct_run_energy.energy_scope),
    1 = best: the wall meter (what the study measured), then the sum of several components, then
    one component alone (gpu, cpu_package, dram), and the labelled estimate last. A run measured by
    one meter has the scope of its meter kind, so for those this is the meter-kind preference.
    Energies of different scopes are never averaged together (fct_model_efficiency). -#}
{% macro energy_scope_rank(energy_scope) -%}
    case {{ energy_scope }}
        when 'wall' then 1
        when 'components' then 2
        when 'gpu_only' then 3
        when 'cpu_package_only' then 4
        when 'dram_only' then 5
        when 'estimate' then 6
        else 7
    end
{%- endmacro %}
