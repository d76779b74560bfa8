-- Grid carbon intensity per (run, meter) (gCO2e/kWh), energy-weighted over the run.
-- Each meter's grid zone (stg_raw__meters.zone, else var default_zone) has an annual value (the
-- most recent year; within it the latest load) and may have a time-resolved series of periods.
-- A cumulative carbon curve per meter is built at the series' breakpoints: between two
-- breakpoints the period's intensity applies (the annual value where no period covers the time),
-- so co2 over [start, end] = C(end) - C(start), each bound found by an ASOF join, with the energy
-- of a partial period taken from the energy curve (exact energy weighting, no run x period scan).
-- carbon_method: 'series' (all of the run under periods), 'annual' (none), 'series+annual'.
with

run_energy as (
    select * from {{ ref('int_run_energy') }}
),

meter_spans as (
    select * from {{ ref('int_meter_spans') }}
),

energy_curve as (
    select * from {{ ref('int_energy_curve') }}
),

annual_intensities as (
    select * from {{ ref('stg_raw__carbon_intensities') }}
),

intensity_periods as (
    select * from {{ ref('stg_raw__carbon_intensity_periods') }}
),

latest_annual as (
    select
        zone,
        g_per_kwh as annual_g_per_kwh,
        carbon_source as annual_source,
        data_year as annual_data_year
    from (
        select
            *,
            row_number() over (partition by zone order by data_year desc nulls last, load_id desc) as recency
        from annual_intensities
    ) as ranked
    where recency = 1
),

zone_breakpoints as (
    -- per zone: at every period start its intensity; at a period end not followed by another
    -- period, null (annual fallback from there on)
    select
        zone,
        ts_us,
        max(g_per_kwh) as g_per_kwh,
        max(carbon_source) as series_source
    from (
        select
            zone,
            {{ epoch_us('from_at') }} as ts_us,
            g_per_kwh,
            carbon_source
        from intensity_periods
        union all
        select
            zone,
            {{ epoch_us('to_at') }} as ts_us,
            null as g_per_kwh,
            null as carbon_source
        from intensity_periods
    ) as points
    group by zone, ts_us
),

meter_first_points as (
    select
        meter_id,
        zone,
        first_us as ts_us
    from meter_spans
),

first_point_intensity as (
-- the intensity in effect at each meter's first reading
    {{ asof_join(
        left='meter_first_points',
        right='zone_breakpoints',
        by=['zone'],
        left_ts='ts_us',
        right_ts='ts_us',
        right_columns=['g_per_kwh', 'series_source'],
    ) }}
),

meter_points as (
    select
        meter_id,
        zone,
        ts_us,
        g_per_kwh,
        series_source
    from first_point_intensity
    union all
    select
        meter_spans.meter_id,
        meter_spans.zone,
        zone_breakpoints.ts_us,
        zone_breakpoints.g_per_kwh,
        zone_breakpoints.series_source
    from meter_spans
    inner join zone_breakpoints
        on
            meter_spans.zone = zone_breakpoints.zone
            and meter_spans.first_us < zone_breakpoints.ts_us
            and meter_spans.last_us > zone_breakpoints.ts_us
),

points_with_energy as (
    {{ asof_join(
        left='meter_points',
        right='energy_curve',
        by=['meter_id'],
        left_ts='ts_us',
        right_ts='ts_us',
        right_columns=[
            ('ts_us', 'match_ts_us'), ('energy_j', 'match_energy_j'), 'rate_w', 'slope_w_per_us',
        ],
    ) }}
),

carbon_points as (
    select
        points.meter_id,
        points.ts_us,
        points.g_per_kwh is not null as is_series,
        coalesce(points.g_per_kwh, latest_annual.annual_g_per_kwh) as g_per_kwh,
        points.series_source,
        cast(points.match_energy_j as double)
        + (points.ts_us - points.match_ts_us) * points.rate_w / 1e6
        + (points.ts_us - points.match_ts_us) * (points.ts_us - points.match_ts_us) * points.slope_w_per_us / 2e6
            as curve_j
    from points_with_energy as points
    left join latest_annual
        on points.zone = latest_annual.zone
),

carbon_curve as (
    select
        meter_id,
        ts_us,
        is_series,
        g_per_kwh,
        series_source,
        curve_j,
        coalesce(
            sum(segment_co2_g) over (
                partition by meter_id order by ts_us rows between unbounded preceding and 1 preceding
            ),
            0
        ) as co2_g,
        sum(case when is_series then 0 else 1 end) over (
            partition by meter_id order by ts_us rows between unbounded preceding and current row
        ) as fallback_points
    from (
        select
            *,
            g_per_kwh * (lead(curve_j) over (partition by meter_id order by ts_us) - curve_j) / 3.6e6
                as segment_co2_g
        from carbon_points
    ) as segmented
),

run_probes as (
    select
        run_id,
        meter_id,
        'start' as bound,
        data_start_us as probe_us,
        curve_start_j as probe_curve_j
    from run_energy
    where has_data
    union all
    select
        run_id,
        meter_id,
        'end' as bound,
        data_end_us as probe_us,
        curve_end_j as probe_curve_j
    from run_energy
    where has_data
),

probes_matched as (
    {{ asof_join(
        left='run_probes',
        right='carbon_curve',
        by=['meter_id'],
        left_ts='probe_us',
        right_ts='ts_us',
        right_columns=['is_series', 'g_per_kwh', 'series_source', 'curve_j', 'co2_g', 'fallback_points'],
    ) }}
),

per_run as (
    select
        run_id,
        meter_id,
        sum(
            case when bound = 'end' then 1 else -1 end
            * (co2_g + g_per_kwh * (probe_curve_j - curve_j) / 3.6e6)
        ) as co2_g,
        max(case when bound = 'start' then g_per_kwh end) as start_g_per_kwh,
        max(case when bound = 'start' then fallback_points end) as start_fallback_points,
        max(case when bound = 'end' then fallback_points end) as end_fallback_points,
        bool_or(bound = 'start' and is_series) as starts_in_series,
        bool_or(is_series) as touches_series,
        max(series_source) as series_source
    from probes_matched
    group by run_id, meter_id
),

runs_zoned as (
    select
        run_energy.run_id,
        run_energy.meter_id,
        run_energy.energy_j,
        meter_spans.zone,
        latest_annual.annual_g_per_kwh,
        latest_annual.annual_source,
        latest_annual.annual_data_year
    from run_energy
    left join meter_spans
        on run_energy.meter_id = meter_spans.meter_id
    left join latest_annual
        on meter_spans.zone = latest_annual.zone
)

select
    runs_zoned.run_id,
    runs_zoned.meter_id,
    runs_zoned.zone,
    case
        when per_run.run_id is null then null
        when per_run.starts_in_series and per_run.start_fallback_points = per_run.end_fallback_points then 'series'
        when per_run.touches_series or per_run.start_fallback_points < per_run.end_fallback_points
            then 'series+annual'
        else 'annual'
    end as carbon_method,
    per_run.co2_g,
    case
        when runs_zoned.energy_j > 0 then per_run.co2_g / (runs_zoned.energy_j / 3.6e6)
        else per_run.start_g_per_kwh
    end as carbon_intensity_g_per_kwh,
    runs_zoned.annual_g_per_kwh,
    runs_zoned.annual_source,
    runs_zoned.annual_data_year,
    per_run.series_source
from runs_zoned
left join per_run
    on
        runs_zoned.run_id = per_run.run_id
        and runs_zoned.meter_id = per_run.meter_id
