-- Grid carbon intensity per run and series provider (gCO2e/kWh), energy-weighted over the run: one
-- row per (run, meter, series_provider) for every provider with a series for the meter's zone, so
-- two sources for one zone are compared, never spliced (int_run_carbon picks one per run). A zone
-- without any series gets one row with a null provider (annual value only).
-- Each meter's grid zone (stg_raw__meters.zone, else var default_zone) has an annual value (the
-- most recent year; within it the latest load). Per provider, a cumulative carbon curve per meter
-- is built at the series' breakpoints: between two breakpoints the period's intensity applies (the
-- annual value where no period of the provider covers the time), so co2 over [start, end] =
-- C(end) - C(start), each bound found by an ASOF join, with the energy of a partial period taken
-- from the energy curve (curve_energy_at: exact energy weighting, no run x period scan).
-- carbon_method: 'series' (all of the run under the provider's periods), 'annual' (none),
-- 'series+annual'.
-- Incremental (macros/incremental.sql): a build recomputes the runs int_run_energy recomputed since
-- the last (their meter's carbon curve before their end is unchanged), and every run when a carbon
-- intensity was loaded or a meter's registration (its zone) changed since.
{{ config(**run_keyed_incremental()) }}
-- depends_on: {{ ref('stg_raw__meters') }}
-- depends_on: {{ ref('stg_raw__carbon_intensities') }}
with

run_energy as (
    select
        run_id,
        meter_id,
        has_data,
        energy_j,
        data_start_us,
        data_end_us,
        curve_start_j,
        curve_end_j
    from {{ ref('int_run_energy') }}
    {%- if is_incremental() %}
    where
        through_load_id > (select coalesce(max(through_load_id), 0) from {{ this }})
        or (
            select coalesce(max(load_id), 0)
            from (
                select load_id from {{ ref('stg_raw__carbon_intensities') }}
                union all
                select load_id from {{ ref('stg_raw__carbon_intensity_periods') }}
                union all
                select changed_load_id as load_id from {{ ref('stg_raw__meters') }}
            ) as carbon_loads
        ) > (select coalesce(max(through_load_id), 0) from {{ this }})
    {%- endif %}
),

meter_spans as (
    select
        meter_id,
        zone,
        first_us,
        last_us
    from {{ ref('int_meter_spans') }}
),

intensity_periods as (
    select
        zone,
        series_provider,
        from_at,
        to_at,
        g_per_kwh,
        carbon_source
    from {{ ref('stg_raw__carbon_intensity_periods') }}
),

latest_annual as (
    select
        zone,
        annual_g_per_kwh,
        annual_source,
        annual_data_year
    from {{ ref('int_zone_annual_intensity') }}
),

zone_providers as (
    select distinct
        zone,
        series_provider
    from intensity_periods
),

meter_curves as (
    -- one carbon curve per (meter, provider of its zone); '' for a zone without any series
    select
        meter_spans.meter_id,
        meter_spans.zone,
        meter_spans.first_us,
        meter_spans.last_us,
        coalesce(zone_providers.series_provider, '') as curve_provider
    from meter_spans
    left join zone_providers
        on meter_spans.zone = zone_providers.zone
),

zone_breakpoints as (
    -- per zone and provider: at every period start its intensity; at a period end not followed by
    -- another period of the provider, null (annual fallback from there on)
    select
        zone,
        series_provider as curve_provider,
        ts_us,
        max(g_per_kwh) as g_per_kwh,
        max(carbon_source) as series_source
    from (
        select
            zone,
            series_provider,
            {{ epoch_us('from_at') }} as ts_us,
            g_per_kwh,
            carbon_source
        from intensity_periods
        union all
        select
            zone,
            series_provider,
            {{ epoch_us('to_at') }} as ts_us,
            null as g_per_kwh,
            null as carbon_source
        from intensity_periods
    ) as points
    group by zone, series_provider, ts_us
),

meter_first_points as (
    select
        meter_id,
        zone,
        curve_provider,
        first_us as ts_us
    from meter_curves
),

first_point_intensity as (
-- the intensity in effect at each meter's first reading
    {{ asof_join(
        'meter_first_points', 'zone_breakpoints', ['zone', 'curve_provider'], 'ts_us', 'ts_us',
        ['g_per_kwh', 'series_source']
    ) }}
),

meter_points as (
    select
        meter_id,
        zone,
        curve_provider,
        ts_us,
        g_per_kwh,
        series_source
    from first_point_intensity
    union all
    select
        meter_curves.meter_id,
        meter_curves.zone,
        meter_curves.curve_provider,
        zone_breakpoints.ts_us,
        zone_breakpoints.g_per_kwh,
        zone_breakpoints.series_source
    from meter_curves
    inner join zone_breakpoints
        on
            meter_curves.zone = zone_breakpoints.zone
            and meter_curves.curve_provider = zone_breakpoints.curve_provider
            and meter_curves.first_us < zone_breakpoints.ts_us
            and meter_curves.last_us > zone_breakpoints.ts_us
),

point_ranges as (
    select
        meter_id,
        min(ts_us) as first_point_us,
        max(ts_us) as last_point_us
    from meter_points
    group by meter_id
),

curve_floors as (
    -- per meter, the latest reading at or before its first point
    select
        curve_instants.meter_id,
        max(curve_instants.ts_us) as floor_us
    from {{ ref('int_energy_curve') }} as curve_instants
    inner join point_ranges
        on
            curve_instants.meter_id = point_ranges.meter_id
            and curve_instants.ts_us <= point_ranges.first_point_us
    group by curve_instants.meter_id
),

energy_curve as (
    -- the readings the points can match (not the whole curve: its sort would cost more than
    -- everything else here)
    select
        all_energy_curve.meter_id,
        all_energy_curve.ts_us,
        all_energy_curve.energy_j,
        all_energy_curve.rate_w,
        all_energy_curve.slope_w_per_us
    from {{ ref('int_energy_curve') }} as all_energy_curve
    inner join point_ranges
        on all_energy_curve.meter_id = point_ranges.meter_id
    left join curve_floors
        on all_energy_curve.meter_id = curve_floors.meter_id
    where
        all_energy_curve.ts_us >= coalesce(curve_floors.floor_us, all_energy_curve.ts_us)
        and all_energy_curve.ts_us <= point_ranges.last_point_us
),

points_with_energy as (
    {{ asof_join(
        'meter_points', 'energy_curve', ['meter_id'], 'ts_us', 'ts_us',
        [('ts_us', 'match_ts_us'), ('energy_j', 'match_energy_j'), 'rate_w', 'slope_w_per_us']
    ) }}
),

carbon_points as (
    select
        points.meter_id,
        points.curve_provider,
        points.ts_us,
        points.g_per_kwh is not null as is_series,
        coalesce(points.g_per_kwh, latest_annual.annual_g_per_kwh) as g_per_kwh,
        points.series_source,
        {{ curve_energy_at(
            'points.ts_us', 'points.match_ts_us', 'points.match_energy_j', 'points.rate_w', 'points.slope_w_per_us'
        ) }} as curve_j
    from points_with_energy as points
    left join latest_annual
        on points.zone = latest_annual.zone
),

carbon_curve as (
    select
        meter_id,
        curve_provider,
        ts_us,
        is_series,
        g_per_kwh,
        series_source,
        curve_j,
        coalesce(
            sum(segment_co2_g) over (
                partition by meter_id, curve_provider order by ts_us
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as co2_g,
        sum(case when is_series then 0 else 1 end) over (
            partition by meter_id, curve_provider order by ts_us
            rows between unbounded preceding and current row
        ) as fallback_points
    from (
        select
            *,
            g_per_kwh
            * (lead(curve_j) over (partition by meter_id, curve_provider order by ts_us) - curve_j)
            / 3.6e6 as segment_co2_g
        from carbon_points
    ) as segmented
),

run_curves as (
    select
        run_energy.run_id,
        run_energy.meter_id,
        meter_curves.curve_provider,
        run_energy.data_start_us,
        run_energy.data_end_us,
        run_energy.curve_start_j,
        run_energy.curve_end_j
    from run_energy
    inner join meter_curves
        on run_energy.meter_id = meter_curves.meter_id
    where run_energy.has_data
),

run_probes as (
    select
        run_id,
        meter_id,
        curve_provider,
        'start' as bound,
        data_start_us as probe_us,
        curve_start_j as probe_curve_j
    from run_curves
    union all
    select
        run_id,
        meter_id,
        curve_provider,
        'end' as bound,
        data_end_us as probe_us,
        curve_end_j as probe_curve_j
    from run_curves
),

probes_matched as (
    {{ asof_join(
        'run_probes', 'carbon_curve', ['meter_id', 'curve_provider'], 'probe_us', 'ts_us',
        ['is_series', 'g_per_kwh', 'series_source', 'curve_j', 'co2_g', 'fallback_points']
    ) }}
),

per_run as (
    select
        run_id,
        meter_id,
        curve_provider,
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
    group by run_id, meter_id, curve_provider
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
    nullif(per_run.curve_provider, '') as series_provider,
    runs_zoned.zone,
    case
        when per_run.run_id is null then null
        when per_run.starts_in_series and per_run.start_fallback_points = per_run.end_fallback_points then 'series'
        when per_run.touches_series or per_run.start_fallback_points < per_run.end_fallback_points
            then 'series+annual'
        else 'annual'
    end as carbon_method,
    coalesce(per_run.touches_series, false) as touches_series,
    per_run.co2_g,
    case
        when runs_zoned.energy_j > 0 then per_run.co2_g / (runs_zoned.energy_j / 3.6e6)
        else per_run.start_g_per_kwh
    end as carbon_intensity_g_per_kwh,
    runs_zoned.annual_g_per_kwh,
    runs_zoned.annual_source,
    runs_zoned.annual_data_year,
    per_run.series_source,
    {{ latest_load_id() }} as through_load_id
from runs_zoned
left join per_run
    on
        runs_zoned.run_id = per_run.run_id
        and runs_zoned.meter_id = per_run.meter_id
