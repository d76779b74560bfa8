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

latest as (
    {{ latest_load('renamed', partition_by=['meter_id', 'measured_at']) }}
)

select * from latest
