-- fct_model_efficiency over the runs started on or after a date: `flopwatt report --since` sets the
-- DuckDB session variable flopwatt_since and reads this view (unset: every day, the same rows as
-- fct_model_efficiency). The same SQL as the mart (macros/model_efficiency.sql) over the same
-- additive day rows (fct_model_efficiency_daily). On Spark there is no session variable: every day.
{{ config(materialized='view') }}
{{ model_efficiency(ref('fct_model_efficiency_daily'), ref('dim_models'), since=report_since_date()) }}
