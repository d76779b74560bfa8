-- time-resolved grid intensity: one row per (zone, period start, provider); within a provider
-- actuals beat forecasts, then the most recent load wins. Providers are never spliced together:
-- series_provider is the load's format (neso, electricitymaps), or for a generic series file
-- (format carbon-series) the file's source label.
with

source as (
    select * from {{ source('raw', 'carbon_intensity_series') }}
),

loads as (
    select * from {{ source('raw', 'loads') }}
),

renamed as (
    select
        upper(source.zone) as zone,
        source.from_at,
        source.to_at,
        source.g_per_kwh,
        coalesce(source.is_forecast, false) as is_forecast,
        source.source as carbon_source,
        case
            when loads.format is null or loads.format = 'carbon-series' then source.source
            else loads.format
        end as series_provider,
        source.load_id
    from source
    left join loads
        on source.load_id = loads.load_id
),

latest as (
    {{ latest_load(
        'renamed',
        partition_by=['zone', 'from_at', 'series_provider'],
        newest_first=['not is_forecast', 'load_id'],
    ) }}
)

select * from latest
