-- cumulative counter readings in J, as read (wraps and resets are undone in intermediate)
with

source as (
    select * from {{ source('raw', 'energy_counters') }}
),

renamed as (
    select
        meter_id,
        measured_at,
        energy_j as counter_j,
        counter_range_j,
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
    counter_j,
    counter_range_j,
    load_id,
    line_number
from ranked
where load_rank = 1
