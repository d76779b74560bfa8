-- Energy of every run from the cumulative curve: E(end) - E(start), each bound's latest reading at
-- or before it found through the curve's blocks (below), plus the held / interpolated remainder. No
-- per-run scan of the readings. Bounds outside the meter's data are clamped to its first / last
-- reading: the energy covers only the part of the run with data (coverage < 1); a run with no data
-- at all gets null energy, never 0. The largest gap is found by a bounded block lookup (gap_block_size readings).
-- One row per (run, meter) of int_run_bounds: a run seen by several meters gets each one's energy.
-- Incremental (macros/incremental.sql): a build recomputes only the runs int_run_bounds stored since
-- (new, or with other pairs or bounds) and the runs ending at or after the first reading of a meter's
-- curve rewritten since (an append rewrites from the meter's last processed reading, a rebuild from
-- its first); all pairs of such a run are replaced.
{{ config(**run_keyed_incremental()) }}
with

all_run_bounds as (
    select
        run_id,
        meter_id,
        start_us,
        end_us,
        duration_us,
        through_load_id
    from {{ ref('int_run_bounds') }}
),

meter_spans as (
    select
        meter_id,
        first_us,
        last_us
    from {{ ref('int_meter_spans') }}
),

{%- set watermark = run_energy_watermark() if is_incremental() else none %}
{#- The curve, read by reference in each place (a CTE read several times would be materialised);
    an incremental build reads only the readings the changed runs' probes can match (filters on
    literals: zone maps skip the rest). -#}
{%- set energy_curve -%}
(
    select
        meter_id, reading_index, ts_us, next_ts_us, energy_j, covered_us, rate_w, slope_w_per_us, is_covered
    from {{ ref('int_energy_curve') }}
    {%- if watermark is not none %}
    where {{ run_energy_curve_filter(watermark) }}
    {%- endif %}
)
{%- endset %}
{%- if watermark is not none %}

all_energy_curve as (
    select
        meter_id,
        ts_us,
        through_load_id
    from {{ ref('int_energy_curve') }}
),

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
    from {{ energy_curve }} as energy_curve
    group by meter_id, {{ int_div('reading_index', energy_var('gap_block_size')) }}
),

probe_blocks as (
    {{ asof_join('probes', 'curve_block_starts', ['meter_id'], 'probe_us', 'block_start_us', ['curve_block']) }}
),

probe_readings as (
    select
        probe_blocks.run_id,
        probe_blocks.meter_id,
        probe_blocks.bound,
        probe_blocks.probe_us,
        max(energy_curve.reading_index) as reading_index
    from probe_blocks
    inner join {{ energy_curve }} as energy_curve
        on
            probe_blocks.meter_id = energy_curve.meter_id
            and probe_blocks.curve_block = {{ int_div('energy_curve.reading_index', energy_var('gap_block_size')) }}
            and probe_blocks.probe_us >= energy_curve.ts_us
    group by probe_blocks.run_id, probe_blocks.meter_id, probe_blocks.bound, probe_blocks.probe_us
),

evaluated as (
    -- each probe's curve value: the reading's energy_j plus the remainder up to the probe
    select
        probe_readings.run_id,
        probe_readings.meter_id,
        probe_readings.bound,
        energy_curve.reading_index,
        energy_curve.ts_us as match_ts_us,
        energy_curve.next_ts_us,
        energy_curve.energy_j,
        {{ curve_remainder_j(
            'probe_readings.probe_us', 'energy_curve.ts_us', 'energy_curve.rate_w', 'energy_curve.slope_w_per_us'
        ) }} as remainder_j,
        energy_curve.covered_us + case
            when probe_readings.probe_us > energy_curve.ts_us and energy_curve.is_covered
                then probe_readings.probe_us - energy_curve.ts_us
            else 0
        end as covered_us
    from probe_readings
    inner join {{ energy_curve }} as energy_curve
        on
            probe_readings.meter_id = energy_curve.meter_id
            and probe_readings.reading_index = energy_curve.reading_index
),

pivoted as (
    -- one row per (run, meter): each bound's values side by side (start_energy_j, end_energy_j, ...)
    select
        {%- for bound in ['start', 'end'] %}
            {%- for column in ['energy_j', 'remainder_j', 'covered_us', 'reading_index', 'match_ts_us', 'next_ts_us'] %}
                max(case when bound = '{{ bound }}' then {{ column }} end) as {{ bound }}_{{ column }},
            {%- endfor %}
        {%- endfor %}
        run_id,
        meter_id
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
    inner join {{ energy_curve }} as curve_blocks
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
