{#- The exact median of `value_column` per `group_column` of `relation` (rows with a null value
    left out), as CTE bodies without a median aggregate (DuckDB's holds every value in memory;
    Spark's percentile sorts them all): a select of (group_column, median_value, n_values).

    Selection by buckets: each value falls in a bucket, a fixed monotone function of the value
    (sign x floor(ln(1 + |value|) x 256): ~0.4 % wide, whatever the scale), and the buckets are
    counted (a grouping with few groups); the k1-th and k2-th smallest values (k1 = floor((n + 1) / 2),
    k2 = floor(n / 2) + 1; the median is their mean) lie in known buckets, and only the values of
    those buckets are counted exactly. Two passes over the values and no sort of them all: exact,
    whatever the distribution (a single busy bucket only makes the second pass larger).

    `relation` is read twice: pass a table, a view or a parenthesised query, not a CTE that would
    be materialised for it. `prefix` names the CTEs it adds; call it inside a `with` list and select
    from `<prefix>_medians`. `bucket_counts`: a relation of (group_column, bucket, n_bucket) already
    counted (kept by an incremental model: bucket_counts_select), read instead of the first pass.
    Its groups must be those of `relation`, each counted over the same values. -#}
{% macro median_bucket(value) -%}
    case
        when {{ value }} < 0 then -1 - cast(floor(ln(1 - {{ value }}) * 256) as bigint)
        else cast(floor(ln(1 + {{ value }}) * 256) as bigint)
    end
{%- endmacro %}

{#- The first pass: (group_column, bucket, n_bucket) of the non-null values. -#}
{% macro bucket_counts_select(relation, group_column, value_column) -%}
    select
        {{ group_column }},
        {{ median_bucket(value_column) }} as bucket,
        count(*) as n_bucket
    from {{ relation }} as median_source
    where {{ value_column }} is not null
    group by {{ group_column }}, {{ median_bucket(value_column) }}
{%- endmacro %}

{% macro exact_median_ctes(relation, group_column, value_column, prefix, bucket_counts=none) -%}
{{ prefix }}_bucket_counts as (
    {%- if bucket_counts is none %}
    {{ bucket_counts_select(relation, group_column, value_column) }}
    {%- else %}
    select
        {{ group_column }},
        bucket,
        n_bucket
    from {{ bucket_counts }} as counted_buckets
    where bucket is not null and n_bucket > 0
    {%- endif %}
),

{{ prefix }}_bucket_ranks as (
    -- the number of values below each bucket, and the ranks sought
    select
        {{ group_column }},
        bucket,
        sum(n_bucket) over (
            partition by {{ group_column }} order by bucket rows between unbounded preceding and current row
        ) - n_bucket as n_below,
        sum(n_bucket) over (partition by {{ group_column }}) as n_values
    from {{ prefix }}_bucket_counts
),

{{ prefix }}_target_buckets as (
    -- the buckets holding the k1-th and k2-th values (the same one, mostly)
    select
        {{ group_column }},
        bucket,
        min(n_below) over (partition by {{ group_column }}) as n_below_first,
        {{ int_div('n_values + 1', 2) }} as k1,
        {{ int_div('n_values', 2) }} + 1 as k2,
        n_values
    from (
        select
            *,
            lead(n_below) over (partition by {{ group_column }} order by bucket) as n_below_next
        from {{ prefix }}_bucket_ranks
    ) as ranked
    where
        ({{ int_div('n_values + 1', 2) }} > n_below and {{ int_div('n_values + 1', 2) }} <= coalesce(n_below_next, n_values))
        or ({{ int_div('n_values', 2) }} + 1 > n_below and {{ int_div('n_values', 2) }} + 1 <= coalesce(n_below_next, n_values))
),

{{ prefix }}_value_counts as (
    select
        median_values.{{ group_column }},
        median_values.bucket,
        median_values.value,
        count(*) as n_value
    from (
        select
            {{ group_column }},
            {{ median_bucket(value_column) }} as bucket,
            {{ value_column }} as value
        from {{ relation }} as median_source
        where {{ value_column }} is not null
    ) as median_values
    inner join {{ prefix }}_target_buckets
        on
            median_values.{{ group_column }} = {{ prefix }}_target_buckets.{{ group_column }}
            and median_values.bucket = {{ prefix }}_target_buckets.bucket
    group by median_values.{{ group_column }}, median_values.bucket, median_values.value
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
