with

source as (
    select * from {{ source('raw', 'loads') }}
),

renamed as (
    select
        load_id,
        kind as load_kind,
        format as load_format,
        source_path,
        source_sha256,
        options_json,
        rows_read,
        rows_loaded,
        rows_quarantined,
        loaded_at,
        flopwatt_version
    from source
)

select * from renamed
