{#- The exact median of `value_column` per `group_column` of `relation` (rows with a null value
    left out), as CTE bodies without a median aggregate (DuckDB's holds every value in memory;
    Spark's percentile sorts them all): a select of (group_column, median_value, n_values).

    Selection by buckets: the values' range per group is cut into `buckets` equal buckets and
    counted (a grouping with few groups); the k1-th and k2-th smallest values (k1 = floor((n + 1) / 2),
    k2 = floor(n / 2) + 1; the median is their mean) lie in known buckets, and only the values of
    those buckets are counted exactly. Two passes over the values and no sort of them all: exact,
    whatever the distribution (a single busy bucket only makes the second pass larger).

    Usage: `prefix` names the CTEs it adds; call it inside a `with` list and select from
    `<prefix>_medians`. -#}
{% macro exact_median_ctes(relation, group_column, value_column, prefix, buckets=4096) -%}
{{ prefix }}_ranges as (
    select
        {{ group_column }},
        min({{ value_column }}) as min_value,
        max({{ value_column }}) as max_value,
        count(*) as n_values
    from {{ relation }}
    where {{ value_column }} is not null
    group by {{ group_column }}
),

{{ prefix }}_bucketed as (
    select
        {{ relation }}.{{ group_column }},
        {{ relation }}.{{ value_column }} as value,
        case
            when {{ prefix }}_ranges.max_value = {{ prefix }}_ranges.min_value then 0
            else least(
                cast(floor(
                    cast({{ relation }}.{{ value_column }} - {{ prefix }}_ranges.min_value as double)
                    / cast({{ prefix }}_ranges.max_value - {{ prefix }}_ranges.min_value as double)
                    * {{ buckets }}
                ) as bigint),
                {{ buckets - 1 }}
            )
        end as bucket
    from {{ relation }}
    inner join {{ prefix }}_ranges
        on {{ relation }}.{{ group_column }} = {{ prefix }}_ranges.{{ group_column }}
    where {{ relation }}.{{ value_column }} is not null
),

{{ prefix }}_bucket_counts as (
    select
        {{ group_column }},
        bucket,
        count(*) as n_bucket
    from {{ prefix }}_bucketed
    group by {{ group_column }}, bucket
),

{{ prefix }}_bucket_ranks as (
    -- the ranks (1-based) of each bucket's first and last value within its group
    select
        {{ prefix }}_bucket_counts.{{ group_column }},
        {{ prefix }}_bucket_counts.bucket,
        sum({{ prefix }}_bucket_counts.n_bucket) over (
            partition by {{ prefix }}_bucket_counts.{{ group_column }}
            order by {{ prefix }}_bucket_counts.bucket
            rows between unbounded preceding and current row
        ) - {{ prefix }}_bucket_counts.n_bucket as n_below,
        {{ int_div(prefix ~ '_ranges.n_values + 1', 2) }} as k1,
        {{ int_div(prefix ~ '_ranges.n_values', 2) }} + 1 as k2,
        {{ prefix }}_ranges.n_values
    from {{ prefix }}_bucket_counts
    inner join {{ prefix }}_ranges
        on {{ prefix }}_bucket_counts.{{ group_column }} = {{ prefix }}_ranges.{{ group_column }}
),

{{ prefix }}_target_buckets as (
    -- the buckets holding the k1-th and k2-th values (the same one, mostly)
    select
        {{ group_column }},
        bucket,
        min(n_below) over (partition by {{ group_column }}) as n_below_first,
        k1,
        k2,
        n_values
    from (
        select
            *,
            lead(n_below) over (partition by {{ group_column }} order by bucket) as n_below_next
        from {{ prefix }}_bucket_ranks
    ) as ranked
    where
        (k1 > n_below and k1 <= coalesce(n_below_next, n_values))
        or (k2 > n_below and k2 <= coalesce(n_below_next, n_values))
),

{{ prefix }}_value_counts as (
    select
        {{ prefix }}_bucketed.{{ group_column }},
        {{ prefix }}_bucketed.bucket,
        {{ prefix }}_bucketed.value,
        count(*) as n_value
    from {{ prefix }}_bucketed
    inner join {{ prefix }}_target_buckets
        on
            {{ prefix }}_bucketed.{{ group_column }} = {{ prefix }}_target_buckets.{{ group_column }}
            and {{ prefix }}_bucketed.bucket = {{ prefix }}_target_buckets.bucket
    group by {{ prefix }}_bucketed.{{ group_column }}, {{ prefix }}_bucketed.bucket, {{ prefix }}_bucketed.value
),

{{ prefix }}_value_ranks as (
    -- each value's last rank within its group: the values below the first target bucket plus those
    -- up to it (any bucket between the two targets is empty: k2 - k1 <= 1)
    select
        {{ prefix }}_value_counts.{{ group_column }},
        {{ prefix }}_value_counts.value,
        {{ prefix }}_target_buckets.n_below_first + sum({{ prefix }}_value_counts.n_value) over (
            partition by {{ prefix }}_value_counts.{{ group_column }}
            order by {{ prefix }}_value_counts.value
            rows between unbounded preceding and current row
        ) as last_rank,
        {{ prefix }}_target_buckets.k1,
        {{ prefix }}_target_buckets.k2,
        {{ prefix }}_target_buckets.n_values
    from {{ prefix }}_value_counts
    inner join {{ prefix }}_target_buckets
        on
            {{ prefix }}_value_counts.{{ group_column }} = {{ prefix }}_target_buckets.{{ group_column }}
            and {{ prefix }}_value_counts.bucket = {{ prefix }}_target_buckets.bucket
),

{{ prefix }}_medians as (
    select
        {{ group_column }},
        (min(case when last_rank >= k1 then value end) + min(case when last_rank >= k2 then value end))
        / 2 as median_value,
        max(n_values) as n_values
    from {{ prefix }}_value_ranks
    group by {{ group_column }}
)
{%- endmacro %}
