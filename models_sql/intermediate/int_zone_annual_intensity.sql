-- The annual grid carbon intensity of each zone (gCO2e/kWh): its most recent data year, within it
-- the latest load. The fallback of the time-resolved carbon curve (int_run_carbon_by_source) and
-- the intensity of runs' reported energy (fct_run_energy.reported_co2_g).
with

annual_intensities as (
    select * from {{ ref('stg_raw__carbon_intensities') }}
),

ranked as (
    select
        zone,
        g_per_kwh,
        carbon_source,
        data_year,
        row_number() over (partition by zone order by data_year desc nulls last, load_id desc) as recency
    from annual_intensities
)

select
    zone,
    g_per_kwh as annual_g_per_kwh,
    carbon_source as annual_source,
    data_year as annual_data_year
from ranked
where recency = 1
