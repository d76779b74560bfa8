{#- Engine-specific time arithmetic. Timestamps are naive UTC; durations are integer microseconds,
    never rounded seconds (dbt's cross-database datediff rounds to whole seconds on Spark).
    Spark: timestamps are Spark TIMESTAMPs read in the session time zone, which the profile pins to
    UTC (spark.sql.session.timeZone), so they are the naive UTC instants of the DuckDB side. -#}

{#- Microseconds since 1970-01-01 00:00:00 of a naive UTC timestamp, as bigint. -#}
{% macro epoch_us(ts) -%}
    {{ return(adapter.dispatch('epoch_us', 'flopwatt')(ts)) }}
{%- endmacro %}

{% macro default__epoch_us(ts) -%}
    epoch_us({{ ts }})
{%- endmacro %}

{% macro spark__epoch_us(ts) -%}
    unix_micros(cast({{ ts }} as timestamp))
{%- endmacro %}

{#- The naive UTC timestamp of an integer count of microseconds since the epoch. -#}
{% macro timestamp_from_epoch_us(us) -%}
    {{ return(adapter.dispatch('timestamp_from_epoch_us', 'flopwatt')(us)) }}
{%- endmacro %}

{% macro default__timestamp_from_epoch_us(us) -%}
    make_timestamp(cast({{ us }} as bigint))
{%- endmacro %}

{% macro spark__timestamp_from_epoch_us(us) -%}
    timestamp_micros(cast({{ us }} as bigint))
{%- endmacro %}

{#- Integer division of two non-negative bigints (quotient rounded toward zero). Spark: `div` is
    its integral division (bigint, rounded toward zero like DuckDB's `//` on non-negative
    operands). -#}
{% macro int_div(numerator, denominator) -%}
    {{ return(adapter.dispatch('int_div', 'flopwatt')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__int_div(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{% macro spark__int_div(numerator, denominator) -%}
    (cast({{ numerator }} as bigint) div cast({{ denominator }} as bigint))
{%- endmacro %}

{#- The calendar year (integer) of a naive UTC timestamp. -#}
{% macro year_of(ts) -%}
    {{ return(adapter.dispatch('year_of', 'flopwatt')(ts)) }}
{%- endmacro %}

{% macro default__year_of(ts) -%}
    cast(year({{ ts }}) as integer)
{%- endmacro %}

{% macro spark__year_of(ts) -%}
    cast(year({{ ts }}) as int)
{%- endmacro %}
