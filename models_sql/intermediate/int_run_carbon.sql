-- Grid carbon intensity per run (gCO2e/kWh): one series provider per run, never a splice of two.
-- Of the run's rows in int_run_carbon_by_source, the providers whose series covers some of the run
-- come first, ranked by the var carbon_source_priority (providers it does not list after it, by
-- name); when none covers the run, all rows give the annual value and the first is taken.
-- Incremental: the runs int_run_carbon_by_source recomputed since the last build.
{{ config(**run_keyed_incremental()) }}
{%- set priority = energy_var('carbon_source_priority') %}
{%- set priority = [priority] if priority is string else (priority or []) %}
with

carbon_by_source as (
    select * from {{ ref('int_run_carbon_by_source') }}
    {%- if is_incremental() %}
    where through_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
    {%- endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by run_id, meter_id
            order by
                case when touches_series then 0 else 1 end,
                case series_provider
                    {% for provider in priority -%}
                        when {{ sql_literal(provider) }} then {{ loop.index }}
                    {% endfor -%}
                    else {{ priority | length + 1 }}
                end,
                series_provider
        ) as provider_rank
    from carbon_by_source
)

select
    run_id,
    meter_id,
    zone,
    carbon_method,
    co2_g,
    carbon_intensity_g_per_kwh,
    annual_g_per_kwh,
    annual_source,
    annual_data_year,
    series_provider,
    series_source,
    through_load_id
from ranked
where provider_rank = 1
