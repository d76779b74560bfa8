with

source as (
    select * from {{ source('raw', 'quarantine') }}
),

renamed as (
    select
        load_id,
        line_number,
        raw_text,
        reason
    from source
)

select * from renamed
