{#- "The latest load wins" for a time series (power readings, counters): the rows of `relation` with
    one row per (series, instant), as latest_load gives, without sorting the whole series. The
    loader keeps one row per (series, instant) within a load (ingest/loader.py quarantines the
    others), so two rows can only collide where two loads of the same series overlap in time: the
    rows of a load whose [first, last] instants of a series meet another load's are deduplicated
    with latest_load; every other row passes through. Renders the CTEs `<name>_load_spans`,
    `<name>_colliding_loads` and `<name>` (the deduplicated rows, the columns of `relation`).
    `relation` is read three times: pass a parenthesised query or a relation, not a CTE (DuckDB
    materialises a CTE read more than once: 10M readings copied before anything else runs). -#}
{% macro latest_load_series_ctes(relation, series, instant, name='latest') -%}
{{ name }}_load_spans as (
    select
        {{ series }} as series_key,
        load_id,
        min({{ instant }}) as first_at,
        max({{ instant }}) as last_at
    from {{ relation }} as series_rows
    group by {{ series }}, load_id
),

{{ name }}_colliding_loads as (
    select distinct
        this_load.series_key,
        this_load.load_id
    from {{ name }}_load_spans as this_load
    inner join {{ name }}_load_spans as other_load
        on
            this_load.series_key = other_load.series_key
            and this_load.load_id != other_load.load_id
            and this_load.first_at <= other_load.last_at
            and other_load.first_at <= this_load.last_at
),

{{ name }}_colliding_rows as (
    select series_rows.*
    from {{ relation }} as series_rows
    inner join {{ name }}_colliding_loads
        on
            series_rows.{{ series }} = {{ name }}_colliding_loads.series_key
            and series_rows.load_id = {{ name }}_colliding_loads.load_id
),

{{ name }} as (
    select series_rows.*
    from {{ relation }} as series_rows
    left join {{ name }}_colliding_loads
        on
            series_rows.{{ series }} = {{ name }}_colliding_loads.series_key
            and series_rows.load_id = {{ name }}_colliding_loads.load_id
    where {{ name }}_colliding_loads.load_id is null
    union all
    {{ latest_load(name ~ '_colliding_rows', partition_by=[series, instant]) }}
)
{%- endmacro %}
