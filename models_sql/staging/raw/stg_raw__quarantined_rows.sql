with

source as (
    select * from {{ source('raw', 'quarantine') }}
),

renamed as (
    select
        load_id,
        line_number,
        raw_text,
        reason,
        -- outages (Home Assistant "unavailable", nvidia-smi "[N/A]") are is_gap rows with the
        -- meter and instant the reading was missing
        is_gap,
        meter_id,
        measured_at
    from source
)

select * from renamed
