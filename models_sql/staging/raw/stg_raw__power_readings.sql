-- one reading per (meter, instant): overlapping exports of the same meter are deduplicated,
-- the most recent load wins
with

source as (
    select * from {{ source('raw', 'power_readings') }}
),

renamed as (
    select
        meter_id,
        measured_at,
        power_w,
        load_id,
        line_number
    from source
),

ranked as (
    select
        *,
        row_number() over (partition by meter_id, measured_at order by load_id desc) as load_rank
    from renamed
)

select
    meter_id,
    measured_at,
    power_w,
    load_id,
    line_number
from ranked
where load_rank = 1
