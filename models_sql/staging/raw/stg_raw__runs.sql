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
        host,
        torch_threads,
        measured_energy_j,
        zone,
        source_format,
        load_id,
        line_number
    from source
),

ranked as (
    select
        *,
        row_number() over (partition by run_id order by load_id desc) as load_rank
    from renamed
)

select
    run_id,
    model_name,
    weights,
    phase,
    started_at,
    ended_at,
    n_inferences,
    batch_size,
    meter_id,
    device,
    host,
    torch_threads,
    measured_energy_j,
    zone,
    source_format,
    load_id,
    line_number
from ranked
where load_rank = 1
