{#- Spark implementations of macros/engine/epoch.sql. Timestamps are Spark TIMESTAMPs read in the
    session time zone, which the profile pins to UTC (spark.sql.session.timeZone), so they are the
    naive UTC instants of the DuckDB side. Durations are integer microseconds: unix_micros, never
    rounded seconds (dbt's cross-database datediff rounds to whole seconds on Spark). -#}

{% macro spark__epoch_us(ts) -%}
    unix_micros(cast({{ ts }} as timestamp))
{%- endmacro %}

{% macro spark__timestamp_from_epoch_us(us) -%}
    timestamp_micros(cast({{ us }} as bigint))
{%- endmacro %}

{#- `div` is Spark's integral division (bigint, rounded toward zero like DuckDB's `//` on
    non-negative operands). -#}
{% macro spark__int_div(numerator, denominator) -%}
    (cast({{ numerator }} as bigint) div cast({{ denominator }} as bigint))
{%- endmacro %}

{% macro spark__year_of(ts) -%}
    cast(year({{ ts }}) as int)
{%- endmacro %}
