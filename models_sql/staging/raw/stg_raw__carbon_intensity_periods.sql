-- time-resolved grid intensity: one row per (zone, period start, source); actuals beat forecasts
with

source as (
    select * from {{ source('raw', 'carbon_intensity_series') }}
),

renamed as (
    select
        upper(zone) as zone,
        from_at,
        to_at,
        g_per_kwh,
        coalesce(is_forecast, false) as is_forecast,
        source as carbon_source,
        load_id
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by zone, from_at order by is_forecast asc, load_id desc
        ) as load_rank
    from renamed
)

select
    zone,
    from_at,
    to_at,
    g_per_kwh,
    is_forecast,
    carbon_source,
    load_id
from ranked
where load_rank = 1
