with

source as (
    select * from {{ source('raw', 'runs') }}
),

renamed as (
    select
        run_id,
        model_name,
        weights,
        lower(phase) as phase,
        started_at,
        ended_at,
        n_inferences,
        batch_size,
        meter_id,
        device,
        host as host_id,
        devices,
        torch_threads,
        measured_energy_j,
        zone,
        source_format,
        load_id,
        line_number
    from source
),

latest as (
    {{ latest_load('renamed', partition_by=['run_id']) }}
)

select * from latest
