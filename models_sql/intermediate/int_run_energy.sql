-- Energy of every run from the cumulative curve: E(end) - E(start), each bound's latest reading at or
-- before it found through the curve's blocks (below), plus the held / interpolated remainder. No per-run scan of the
-- readings. Bounds outside the meter's data are clamped to its first / last reading: the energy
-- covers only the part of the run with data (coverage < 1); a run with no data at all gets null
-- energy, never 0. The largest gap is found by a bounded block lookup (gap_block_size readings).
-- One row per (run, meter) of int_run_bounds: a run seen by several meters gets each one's energy.
-- Incremental (macros/incremental.sql): a build recomputes only the runs that are new or changed in
-- int_run_bounds (any of their (run, meter) pairs) and the runs ending at or after the first reading
-- of a meter's curve rewritten since (an append rewrites from the meter's last processed reading, a
-- rebuild from its first); all pairs of such a run are replaced.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key='run_id',
) }}
with

all_run_bounds as (
    select * from {{ ref('int_run_bounds') }}
),

meter_spans as (
    select * from {{ ref('int_meter_spans') }}
),

all_energy_curve as (
    select * from {{ ref('int_energy_curve') }}
),

{%- if is_incremental() %}
{%- set watermark = run_energy_watermark() %}

{{ run_energy_changed_runs_ctes(watermark) }},
{%- endif %}

run_bounds as (
    select all_run_bounds.*
    from all_run_bounds
    {%- if is_incremental() %}
    inner join changed_runs
        on all_run_bounds.run_id = changed_runs.run_id
    {%- endif %}
),

energy_curve as (
    select *
    from all_energy_curve
    {%- if is_incremental() %}
    -- the readings the changed runs' probes can match (filters on literals: zone maps skip the rest)
    where {{ run_energy_curve_filter(watermark) }}
    {%- endif %}
),

curve_blocks as (
    -- the readings the largest-gap lookup reads (a second scan of the table in a full build)
    select * from {% if is_incremental() %}energy_curve{% else %}{{ ref('int_energy_curve') }}{% endif %}
),

clamped as (
    select
        run_bounds.run_id,
        run_bounds.meter_id,
        run_bounds.start_us,
        run_bounds.end_us,
        run_bounds.duration_us,
        greatest(run_bounds.start_us, meter_spans.first_us) as data_start_us,
        least(run_bounds.end_us, meter_spans.last_us) as data_end_us,
        meter_spans.meter_id is not null
        and greatest(run_bounds.start_us, meter_spans.first_us)
        < least(run_bounds.end_us, meter_spans.last_us) as has_data
    from run_bounds
    left join meter_spans
        on run_bounds.meter_id = meter_spans.meter_id
),

probes as (
    select
        run_id,
        meter_id,
        'start' as bound,
        data_start_us as probe_us
    from clamped
    where has_data
    union all
    select
        run_id,
        meter_id,
        'end' as bound,
        data_end_us as probe_us
    from clamped
    where has_data
),

-- Each probe's reading (the latest at or before it) in two steps, without sorting the curve: the
-- block of gap_block_size readings it falls in (an ASOF join on the small table of the blocks' first
-- instants), then the latest reading of that block at or before it (an equality join on the block).
curve_block_starts as (
    select
        meter_id,
        {{ int_div('reading_index', energy_var('gap_block_size')) }} as curve_block,
        min(ts_us) as block_start_us
    from energy_curve
    group by meter_id, {{ int_div('reading_index', energy_var('gap_block_size')) }}
),

probe_blocks as (
    {{ asof_join(
        left='probes',
        right='curve_block_starts',
        by=['meter_id'],
        left_ts='probe_us',
        right_ts='block_start_us',
        right_columns=['curve_block'],
    ) }}
),

probe_readings as (
    select
        probe_blocks.run_id,
        probe_blocks.meter_id,
        probe_blocks.bound,
        probe_blocks.probe_us,
        max(energy_curve.reading_index) as reading_index
    from probe_blocks
    inner join energy_curve
        on
            probe_blocks.meter_id = energy_curve.meter_id
            and probe_blocks.curve_block = {{ int_div('energy_curve.reading_index', energy_var('gap_block_size')) }}
            and probe_blocks.probe_us >= energy_curve.ts_us
    group by probe_blocks.run_id, probe_blocks.meter_id, probe_blocks.bound, probe_blocks.probe_us
),

matched as (
    select
        probe_readings.run_id,
        probe_readings.meter_id,
        probe_readings.bound,
        probe_readings.probe_us,
        energy_curve.reading_index,
        energy_curve.ts_us as match_ts_us,
        energy_curve.next_ts_us,
        energy_curve.energy_j,
        energy_curve.covered_us,
        energy_curve.rate_w,
        energy_curve.slope_w_per_us,
        energy_curve.is_covered
    from probe_readings
    inner join energy_curve
        on
            probe_readings.meter_id = energy_curve.meter_id
            and probe_readings.reading_index = energy_curve.reading_index
),

evaluated as (
    select
        run_id,
        meter_id,
        bound,
        reading_index,
        match_ts_us,
        next_ts_us,
        energy_j,
        {{ curve_remainder_j('probe_us', 'match_ts_us', 'rate_w', 'slope_w_per_us') }} as remainder_j,
        covered_us + case
            when probe_us > match_ts_us and is_covered then probe_us - match_ts_us
            else 0
        end as covered_at_us
    from matched
),

pivoted as (
    select
        run_id,
        meter_id,
        max(case when bound = 'start' then energy_j end) as start_energy_j,
        max(case when bound = 'start' then remainder_j end) as start_remainder_j,
        max(case when bound = 'start' then covered_at_us end) as start_covered_us,
        max(case when bound = 'start' then reading_index end) as start_reading_index,
        max(case when bound = 'start' then match_ts_us end) as start_match_ts_us,
        max(case when bound = 'start' then next_ts_us end) as start_next_ts_us,
        max(case when bound = 'end' then energy_j end) as end_energy_j,
        max(case when bound = 'end' then remainder_j end) as end_remainder_j,
        max(case when bound = 'end' then covered_at_us end) as end_covered_us,
        max(case when bound = 'end' then reading_index end) as end_reading_index,
        max(case when bound = 'end' then match_ts_us end) as end_match_ts_us
    from evaluated
    group by run_id, meter_id
),

measured as (
    select
        clamped.run_id,
        clamped.meter_id,
        clamped.start_us,
        clamped.end_us,
        clamped.duration_us,
        clamped.has_data,
        clamped.data_start_us,
        clamped.data_end_us,
        cast(pivoted.end_energy_j - pivoted.start_energy_j as double)
        + pivoted.end_remainder_j - pivoted.start_remainder_j as energy_j,
        cast(pivoted.start_energy_j as double) + pivoted.start_remainder_j as curve_start_j,
        cast(pivoted.end_energy_j as double) + pivoted.end_remainder_j as curve_end_j,
        coalesce(pivoted.end_covered_us - pivoted.start_covered_us, 0) as covered_us,
        -- readings at or after the start: the matched one if it is exactly at the start
        case
            when pivoted.start_match_ts_us = clamped.data_start_us then pivoted.start_reading_index
            else pivoted.start_reading_index + 1
        end as first_in_index,
        case
            when pivoted.start_match_ts_us = clamped.data_start_us then pivoted.start_match_ts_us
            else pivoted.start_next_ts_us
        end as first_in_us,
        pivoted.end_reading_index as last_in_index,
        pivoted.end_match_ts_us as last_in_us
    from clamped
    left join pivoted
        on
            clamped.run_id = pivoted.run_id
            and clamped.meter_id = pivoted.meter_id
),

gap_lookups as (
    select
        measured.run_id,
        measured.meter_id,
        measured.first_in_index,
        measured.last_in_index,
        gap_blocks.gap_block
    from measured
    {{ cross_join_int_range(
        int_div('measured.first_in_index', energy_var('gap_block_size')),
        int_div('measured.last_in_index - 1', energy_var('gap_block_size')),
        'gap_blocks', 'gap_block') }}
    where measured.last_in_index > measured.first_in_index
),

inner_gaps as (
    -- the largest interval between two consecutive readings inside the run
    select
        gap_lookups.run_id,
        gap_lookups.meter_id,
        max(curve_blocks.next_ts_us - curve_blocks.ts_us) as inner_max_gap_us
    from gap_lookups
    inner join curve_blocks
        on
            gap_lookups.meter_id = curve_blocks.meter_id
            and gap_lookups.gap_block = {{ int_div('curve_blocks.reading_index', energy_var('gap_block_size')) }}
    where curve_blocks.reading_index between gap_lookups.first_in_index and gap_lookups.last_in_index - 1
    group by gap_lookups.run_id, gap_lookups.meter_id
)

select
    measured.run_id,
    measured.meter_id,
    measured.start_us,
    measured.end_us,
    measured.duration_us,
    measured.has_data,
    measured.data_start_us,
    measured.data_end_us,
    case when measured.has_data then measured.energy_j end as energy_j,
    measured.curve_start_j,
    measured.curve_end_j,
    measured.covered_us,
    coalesce(greatest(measured.last_in_index - measured.first_in_index + 1, 0), 0) as readings_count,
    case
        when coalesce(measured.last_in_index >= measured.first_in_index, false)
            then greatest(
                measured.first_in_us - measured.start_us,
                measured.end_us - measured.last_in_us,
                coalesce(inner_gaps.inner_max_gap_us, 0)
            )
        else measured.duration_us
    end as max_gap_us,
    {{ latest_load_id() }} as through_load_id
from measured
left join inner_gaps
    on
        measured.run_id = inner_gaps.run_id
        and measured.meter_id = inner_gaps.meter_id
