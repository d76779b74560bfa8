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

latest as (
    {{ latest_load('renamed', partition_by=['model_name', "coalesce(weights, '')"]) }}
)

select * from latest
