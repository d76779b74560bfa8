{#- Spark implementation of macros/engine/text.sql. Spark string literals process backslash escapes
    (spark.sql.parser.escapedStringLiterals=false, the default): '\d' would reach the regex engine
    as 'd'. The pattern's backslashes are doubled so the regex sees what DuckDB's sees. -#}
{% macro spark__regex_group(expr, pattern, group) -%}
    regexp_extract({{ expr }}, '{{ pattern | replace("\\", "\\\\") | replace("'", "\\'") }}', {{ group }})
{%- endmacro %}
