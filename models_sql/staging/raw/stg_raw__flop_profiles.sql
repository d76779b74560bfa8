-- one profile per (model, weights); weights is null for profiles loaded from a file without it;
-- a NaN count is null (not measured)
with

source as (
    select * from {{ source('raw', 'flop_profiles') }}
),

renamed as (
    select
        model_name,
        weights,
        input_size,
        {{ nan_to_null('macs') }} as macs,
        macs_counter,
        {{ nan_to_null('macs_thop') }} as macs_thop,
        params,
        {{ nan_to_null('published_macs') }} as published_macs,
        published_params,
        source as profile_source,
        load_id,
        line_number
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by model_name, coalesce(weights, '') order by load_id desc
        ) as load_rank
    from renamed
)

select
    model_name,
    weights,
    input_size,
    macs,
    macs_counter,
    macs_thop,
    params,
    published_macs,
    published_params,
    profile_source,
    load_id,
    line_number
from ranked
where load_rank = 1
