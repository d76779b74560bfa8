-- The readings an 'outside_runs' idle baseline is taken from (int_meter_baselines): per meter with
-- runs, the readings (gap markers excepted) that lie outside every run of the meter but within
-- baseline_window_s of one, with the power of the interval after the reading (for counters, the
-- power of the counter step) and support_us, its covered time up to the next run's start.
-- Incremental (macros/idle_readings.sql): the rows of a meter depend on its readings and on the runs
-- around them, so an append of readings and runs after the processed ones recomputes only the
-- meter's tail: from its curve's first rewritten reading, or from the last reading at or before
-- baseline_window_s ahead of the first new run, whichever is earlier. A meter whose earlier runs
-- changed (a run added before the last processed one, a run's bounds re-loaded) is recomputed
-- whole; a pre-hook deletes what is recomputed, so a tail that now has no idle reading is emptied.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    pre_hook='{{ idle_readings_delete_replaced() }}',
) }}
{%- set plan = idle_readings_increment() if is_incremental() else none %}

{%- set window_us = baseline_window_us() %}
{%- set block_size = energy_var('gap_block_size') %}
{#- The curve, read by reference in each place (a CTE read twice would be materialised); an
    incremental build reads each meter's recomputed part only. -#}
{%- set energy_curve -%}
(
    select
        meter_id,
        reading_index,
        ts_us,
        next_ts_us,
        rate_w,
        is_covered,
        is_gap_marker
    from {{ ref('int_energy_curve') }}
    where {{ 'true' if plan is none else idle_readings_plan_filter(plan, 'ts_us') }}
)
{%- endset %}

with

run_bounds as (
    select
        meter_id,
        start_us,
        end_us
    from {{ ref('int_run_bounds') }}
    where
        meter_id is not null
        and {{ 'true' if plan is none else idle_readings_plan_filter(plan, none) }}
),

run_starts as (
    -- per meter, runs by start with the latest end so far (runs may overlap) and the next start
    select
        meter_id,
        max(end_us) over (
            partition by meter_id order by start_us, end_us rows between unbounded preceding and current row
        ) as max_end_us,
        lead(start_us) over (partition by meter_id order by start_us, end_us) as next_start_us
    from run_bounds
),

idle_windows as (
    -- the time ranges [from_us, until_us) whose readings are idle, with the start of the run that
    -- follows them: before the first run, within baseline_window_s of its start; after the runs
    -- started so far have all ended (max_end_us), within the window of that end, and within the
    -- window of the next run's start (the part not already in the first range)
    select
        meter_id,
        min(start_us) - {{ window_us }} as from_us,
        min(start_us) as until_us,
        min(start_us) as following_start_us
    from run_bounds
    group by meter_id
    union all
    select
        meter_id,
        max_end_us as from_us,
        least(max_end_us + {{ window_us }} + 1, coalesce(next_start_us, max_end_us + {{ window_us }} + 1)) as until_us,
        next_start_us as following_start_us
    from run_starts
    where next_start_us is null or max_end_us < next_start_us
    union all
    select
        meter_id,
        greatest(next_start_us - {{ window_us }}, max_end_us + {{ window_us }} + 1) as from_us,
        next_start_us as until_us,
        next_start_us as following_start_us
    from run_starts
    where greatest(next_start_us - {{ window_us }}, max_end_us + {{ window_us }} + 1) < next_start_us
),

-- The readings of each window, found through the curve's blocks of gap_block_size readings (no sort
-- of the readings): the blocks holding its first and last instants (ASOF joins on the small table
-- of the blocks' first instants), then an equality join on each block in between.
curve_block_starts as (
    select
        meter_id,
        {{ int_div('reading_index', block_size) }} as curve_block,
        min(ts_us) as block_start_us
    from {{ energy_curve }} as energy_curve
    group by meter_id, {{ int_div('reading_index', block_size) }}
),

first_blocks as (
    select
        meter_id,
        min(curve_block) as curve_block
    from curve_block_starts
    group by meter_id
),

window_firsts as (
    {{ asof_join('idle_windows', 'curve_block_starts', ['meter_id'], 'from_us', 'block_start_us', ['curve_block']) }}
),

window_lasts as (
    select
        window_firsts.meter_id,
        window_firsts.from_us,
        window_firsts.until_us - 1 as last_us,
        window_firsts.following_start_us,
        -- a window starting before the curve (read) starts at its first block
        coalesce(window_firsts.curve_block, first_blocks.curve_block) as first_block
    from window_firsts
    inner join first_blocks
        on window_firsts.meter_id = first_blocks.meter_id
),

window_spans as (
    {{ asof_join(
        'window_lasts', 'curve_block_starts', ['meter_id'], 'last_us', 'block_start_us', [('curve_block', 'last_block')]
    ) }}
),

window_blocks as (
    select
        window_spans.meter_id,
        window_spans.from_us,
        window_spans.last_us,
        window_spans.following_start_us,
        blocks.curve_block
    from window_spans
    {{ cross_join_int_range('window_spans.first_block', 'window_spans.last_block', 'blocks', 'curve_block') }}
    where window_spans.last_block is not null
),

readings_in_windows as (
    select
        energy_curve.meter_id,
        energy_curve.ts_us,
        energy_curve.rate_w as power_w,
        case when energy_curve.is_covered then energy_curve.next_ts_us end as covered_until_us,
        window_blocks.following_start_us
    from window_blocks
    inner join {{ energy_curve }} as energy_curve
        on
            window_blocks.meter_id = energy_curve.meter_id
            and window_blocks.curve_block = {{ int_div('energy_curve.reading_index', block_size) }}
            and energy_curve.ts_us between window_blocks.from_us and window_blocks.last_us
    where not energy_curve.is_gap_marker
)

select
    meter_id,
    ts_us,
    power_w,
    -- the covered time after the reading, up to the next run's start (none after an uncovered
    -- interval: least() would skip the null and count up to the run)
    case
        when covered_until_us is null then 0
        else least(covered_until_us, coalesce(following_start_us, covered_until_us)) - ts_us
    end as support_us,
    {{ latest_load_id() }} as through_load_id
from readings_in_windows
