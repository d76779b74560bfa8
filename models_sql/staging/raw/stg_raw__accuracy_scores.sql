-- one accuracy row per (model, weights, dataset); percentages of correct top-1 / top-5 (a NaN metric
-- is null: not measured)
with

source as (
    select * from {{ source('raw', 'accuracy') }}
),

renamed as (
    select
        model_name,
        weights,
        dataset,
        {{ nan_to_null('top1_acc_pct') }} as top1_acc_pct,
        {{ nan_to_null('top5_acc_pct') }} as top5_acc_pct,
        100 - {{ nan_to_null('top1_acc_pct') }} as top1_err_pct,
        100 - {{ nan_to_null('top5_acc_pct') }} as top5_err_pct,
        {{ nan_to_null('file_size_mb') }} as file_size_mb,
        recipe_url,
        source as accuracy_source,
        load_id,
        line_number
    from source
),

latest as (
    {{ latest_load('renamed', partition_by=['model_name', "coalesce(weights, '')", 'dataset']) }}
)

select * from latest
