{#- The first capture group of a regular expression in a string ('' when it does not match). -#}
{% macro regex_group(expr, pattern, group=1) -%}
    {{ return(adapter.dispatch('regex_group', 'flopwatt')(expr, pattern, group)) }}
{%- endmacro %}

{% macro default__regex_group(expr, pattern, group) -%}
    regexp_extract({{ expr }}, '{{ pattern }}', {{ group }})
{%- endmacro %}

{#- A column alias that is not a plain identifier (spaces, parentheses, capitals), quoted for the
    engine: "x" on DuckDB, `x` on Spark (adapter.quote knows each adapter's quoting). -#}
{% macro quoted_alias(name) -%}
    {{ return(adapter.quote(name)) }}
{%- endmacro %}

{#- Spark: string literals process backslash escapes
    (spark.sql.parser.escapedStringLiterals=false, the default): '\d' would reach the regex engine
    as 'd'. The pattern's backslashes are doubled so the regex sees what DuckDB's sees. -#}
{% macro spark__regex_group(expr, pattern, group) -%}
    regexp_extract({{ expr }}, '{{ pattern | replace("\\", "\\\\") | replace("'", "\\'") }}', {{ group }})
{%- endmacro %}
