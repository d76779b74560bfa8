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

{#- The non-null values of a string expression within a group (distinct there), sorted and joined
    with `separator` (null when there are none): the group's set as one comparable value. Each value
    is escaped first ('%' as '%25', then a separator inside it with its '+' as '%2B'), so that two
    sets never make one string: {'a + b'} gives 'a %2B b', {'a', 'b'} gives 'a + b'. -#}
{% macro sorted_set_string(expr, separator) -%}
    {{ return(adapter.dispatch('sorted_set_string', 'flopwatt')(expr, separator)) }}
{%- endmacro %}

{#- One value of sorted_set_string, escaped (the separator must contain a '+'). -#}
{% macro set_member_escaped(expr, separator) -%}
    {%- set escaped_separator = separator | replace('+', '%2B') -%}
    {%- if escaped_separator == separator -%}
        {{ exceptions.raise_compiler_error("sorted_set_string: the separator must contain '+'") }}
    {%- endif -%}
    replace(replace({{ expr }}, '%', '%25'), {{ sql_literal(separator) }}, {{ sql_literal(escaped_separator) }})
{%- endmacro %}

{% macro default__sorted_set_string(expr, separator) -%}
    {%- set escaped = set_member_escaped(expr, separator) -%}
    string_agg({{ escaped }}, {{ sql_literal(separator) }} order by {{ escaped }})
{%- endmacro %}

{% macro spark__sorted_set_string(expr, separator) -%}
    nullif(
        array_join(array_sort(collect_list({{ set_member_escaped(expr, separator) }})), {{ sql_literal(separator) }}),
        ''
    )
{%- endmacro %}
