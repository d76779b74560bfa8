-- The cumulative energy curve E(meter, t), one row per reading, E = 0 at the meter's first reading.
-- Between a reading (ts_us) and the next (next_ts_us) the curve is
--   E(t) = energy_j + (t - ts_us) * rate_w / 1e6 + (t - ts_us)^2 * slope_w_per_us / 2e6   [J, t in us]
-- power readings: zero-order hold (rate = this reading's power, slope = 0; default) or trapezoid
-- (var energy_integration = trapezoid: power interpolated linearly to the next reading);
-- counters: the counter with wraps (counter_range_j) and resets (negative steps) undone, spread
-- linearly between two readings. energy_j is an exact decimal running sum of the intervals'
-- energies, so differences of far-apart points lose no digits.
-- Coverage: an interval is covered (is_covered) unless it follows a gap marker or is longer than
-- the meter's gap limit, gap_limit_us = max(max_gap_s, gap_factor x the meter's median interval
-- between readings); a meter whose source reports changes only (its source_format is one of the
-- var changes_only_formats: Home Assistant) has no length limit, since a long interval there is a
-- value held without change, and only its gap markers are outages. covered_us is the cumulative
-- covered time.
-- A meter that has counter readings is integrated from its counters only.
-- Gap markers (quarantined is_gap rows: Home Assistant "unavailable", nvidia-smi "[N/A]") end
-- the held reading: from a marker to the next reading nothing is counted and nothing is covered.
-- Only what later models read is stored (power_w is rate_w where not is_gap_marker; the interval to
-- the next reading is next_ts_us - ts_us), and only what is not constant crosses the sorts (the
-- slope is 0 under zero-order hold; reading_index comes from the second sort, is_covered after it).
-- Incremental (macros/incremental.sql): a build reads only the meters with new loads; a meter whose
-- new readings all follow its last processed reading continues from that reading (recomputed: its
-- next reading is new), its reading_index, energy_j and covered_us offset by that reading's values,
-- so the rows equal a full refresh's; any other meter with new rows is recomputed from its start.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='replace_from',
    unique_key=['meter_id', 'reading_index'],
) }}
{%- set trapezoid = energy_var('energy_integration') == 'trapezoid' %}
{%- set plan = energy_curve_increment() if is_incremental() else none %}

{#- The staging relations, read by reference in each place (a CTE read twice would be materialised):
    an incremental build reads only the meters and instants of its plan. -#}
{%- set staged = {} %}
{%- for name in ['power_readings', 'energy_counters', 'quarantined_rows'] %}
{%- set relation -%}
(
    select * from {{ ref('stg_raw__' ~ name) }}
    {%- if plan is not none %}
    where {{ energy_curve_increment_filter(plan) }}
    {%- endif %}
)
{%- endset %}
{%- do staged.update({name: relation}) %}
{%- endfor %}

with

meters as (
    select * from {{ ref('stg_raw__meters') }}
),

gap_markers as (
    select distinct
        quarantined_rows.meter_id,
        quarantined_rows.measured_at
    from {{ staged['quarantined_rows'] }} as quarantined_rows
    left join {{ staged['power_readings'] }} as power_readings
        on
            quarantined_rows.meter_id = power_readings.meter_id
            and quarantined_rows.measured_at = power_readings.measured_at
    where
        quarantined_rows.is_gap
        and quarantined_rows.meter_id is not null
        and quarantined_rows.measured_at is not null
        and power_readings.meter_id is null
),

power_points as (
    select
        meter_id,
        measured_at,
        power_w,
        false as is_gap_marker
    from {{ staged['power_readings'] }} as power_readings
    union all
    select
        meter_id,
        measured_at,
        cast(null as double) as power_w,
        true as is_gap_marker
    from gap_markers
),

counter_meters as (
    select distinct meter_id from {{ staged['energy_counters'] }} as energy_counters
),

power_sequenced as (
    select
        readings.meter_id,
        readings.measured_at,
        readings.power_w,
        readings.is_gap_marker,
        {{ epoch_us('readings.measured_at') }} as ts_us,
        {{ epoch_us('lead(readings.measured_at) over by_time') }} as next_ts_us,
        lead(readings.power_w) over by_time as next_power_w
    from power_points as readings
    left join counter_meters
        on readings.meter_id = counter_meters.meter_id
    where counter_meters.meter_id is null
    window by_time as (partition by readings.meter_id order by readings.measured_at)
),

power_segments as (
    select
        meter_id,
        ts_us,
        next_ts_us,
        is_gap_marker,
        coalesce(power_w, 0) as rate_w,
        {%- if trapezoid %}
            -- a reading followed by a gap marker is held (nothing to interpolate towards)
            coalesce((next_power_w - power_w) / (next_ts_us - ts_us), 0) as slope_w_per_us,
            (coalesce(power_w, 0) + coalesce(next_power_w, power_w, 0))
            * (next_ts_us - ts_us) / 2e6 as segment_energy_j
        {%- else %}
            coalesce(power_w, 0) * (next_ts_us - ts_us) / 1e6 as segment_energy_j
        {%- endif %}
    from power_sequenced
),

counter_sequenced as (
    select
        meter_id,
        measured_at,
        counter_j,
        counter_range_j,
        {{ epoch_us('measured_at') }} as ts_us,
        {{ epoch_us('lead(measured_at) over by_time') }} as next_ts_us,
        lead(counter_j) over by_time as next_counter_j,
        lead(counter_range_j) over by_time as next_counter_range_j
    from {{ staged['energy_counters'] }} as energy_counters
    window by_time as (partition by meter_id order by measured_at)
),

counter_steps as (
    select
        *,
        case
            when next_counter_j >= counter_j then next_counter_j - counter_j
            -- a known range: the counter wrapped past it
            when coalesce(next_counter_range_j, counter_range_j) is not null
                then next_counter_j - counter_j + coalesce(next_counter_range_j, counter_range_j)
            -- no range: the counter was reset to zero and counted up to next_counter_j since
            else next_counter_j
        end as step_j
    from counter_sequenced
),

counter_segments as (
    select
        meter_id,
        ts_us,
        next_ts_us,
        false as is_gap_marker,
        step_j * 1e6 / (next_ts_us - ts_us) as rate_w,
        {%- if trapezoid %}
        cast(0 as double) as slope_w_per_us,
        {%- endif %}
        step_j as segment_energy_j
    from counter_steps
),

segments as (
    select * from power_segments
    union all
    select * from counter_segments
),

-- The exact median interval per meter (macros/median.sql): intervals from a reading to the next
-- point, outages (intervals after a gap marker) excluded.
intervals as (
    select
        meter_id,
        next_ts_us - ts_us as interval_us
    from segments
    where next_ts_us is not null and not is_gap_marker
),

{{ exact_median_ctes('intervals', 'meter_id', 'interval_us', 'interval') }},

median_intervals as (
    select
        meter_id,
        median_value as median_interval_us
    from interval_medians
),

meter_sampling as (
    select
        segment_meters.meter_id,
        case
            when segment_meters.meter_id in (select meter_id from counter_meters) then 'counter'
            else '{{ 'power_trapezoid' if trapezoid else 'power_zoh' }}'
        end as curve_kind,
        median_intervals.median_interval_us,
        coalesce(meters.source_format in ({{ sql_list(energy_var('changes_only_formats')) }}), false)
            as reports_changes_only
    from (select distinct meter_id from segments) as segment_meters
    left join median_intervals
        on segment_meters.meter_id = median_intervals.meter_id
    left join meters
        on segment_meters.meter_id = meters.meter_id
),

gap_limits as (
    select
        meter_id,
        curve_kind,
        median_interval_us,
        reports_changes_only,
        case
            {{- energy_curve_stored_limits(plan) }}
            when not reports_changes_only
                then greatest(
                    cast({{ max_gap_us() }} as double),
                    coalesce({{ energy_var('gap_factor') }} * median_interval_us, 0)
                )
        end as gap_limit_us
    from meter_sampling
),

limited as (
    -- only what the stored rows need crosses the second sort (it spills at 100M readings: each
    -- column carried costs); the window's arguments are computed before it, is_covered after it
    select
        segments.meter_id,
        segments.ts_us,
        segments.next_ts_us,
        segments.is_gap_marker,
        segments.rate_w,
        {%- if trapezoid %}
        segments.slope_w_per_us,
        {%- endif %}
        cast(segments.segment_energy_j as decimal(38, 9)) as segment_energy_j,
        case
            when {{ covered_interval('segments', 'gap_limits') }} then segments.next_ts_us - segments.ts_us
        end as covered_interval_us
    from segments
    inner join gap_limits
        on segments.meter_id = gap_limits.meter_id
),

cumulated as (
    select
        meter_id,
        ts_us,
        next_ts_us,
        is_gap_marker,
        rate_w,
        {%- if trapezoid %}
        slope_w_per_us,
        {%- endif %}
        cast(row_number() over running as bigint) as reading_index,
        coalesce(sum(segment_energy_j) over running, 0) - coalesce(segment_energy_j, 0) as energy_j,
        coalesce(sum(covered_interval_us) over running, 0) - coalesce(covered_interval_us, 0) as covered_us
    from limited
    window running as (
        partition by meter_id order by ts_us rows between unbounded preceding and current row
    )
),

curve as (
    select
        cumulated.*,
        {%- if not trapezoid %}
        cast(0 as double) as slope_w_per_us,
        {%- endif %}
        coalesce({{ covered_interval('cumulated', 'gap_limits') }}, false) as is_covered,
        gap_limits.curve_kind,
        gap_limits.reports_changes_only,
        gap_limits.gap_limit_us
    from cumulated
    inner join gap_limits
        on cumulated.meter_id = gap_limits.meter_id
)

select
    meter_id,
    curve_kind,
    {{ energy_curve_offset(plan, 'reading_index') }},
    ts_us,
    next_ts_us,
    is_gap_marker,
    rate_w,
    slope_w_per_us,
    reports_changes_only,
    gap_limit_us,
    is_covered,
    {{ energy_curve_offset(plan, 'energy_j') }},
    {{ energy_curve_offset(plan, 'covered_us') }},
    {{ latest_load_id() }} as through_load_id
from curve
