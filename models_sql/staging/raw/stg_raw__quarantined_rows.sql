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
        -- set only for outages ("gap: ..." reasons): the meter and instant the reading was missing
        meter_id,
        measured_at
    from source
)

select * from renamed
