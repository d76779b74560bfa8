-- CodeCarbon (and any source that reports its own energy) against flopwatt's metered runs: every
-- pair of a reported run and a measured run that overlap in time, the overlap, and the measured
-- energy prorated to the overlap, so that sum(measured_energy_in_overlap_j) over a reported run can
-- be set against its reported_energy_j. Idle runs are not compared.
with

run_energy as (
    select
        run_id,
        model_name,
        phase,
        source_format,
        meter_id,
        meter_kind,
        reported_energy_j,
        mean_power_w
    from {{ ref('fct_run_energy') }}
),

run_spans as (
    -- one row per run (int_run_bounds has one per meter of the run)
    select
        run_id,
        min(start_us) as start_us,
        max(end_us) as end_us
    from {{ ref('int_run_bounds') }}
    group by run_id
),

timed_runs as (
    select
        run_energy.*,
        run_spans.start_us,
        run_spans.end_us
    from run_energy
    inner join run_spans
        on run_energy.run_id = run_spans.run_id
),

reported as (
    select * from timed_runs
    where reported_energy_j is not null
),

measured as (
    select * from timed_runs
    where reported_energy_j is null and mean_power_w is not null and phase != 'idle'
),

pairs as (
    select
        reported.run_id as reported_run_id,
        reported.source_format as reported_source_format,
        measured.run_id as measured_run_id,
        measured.model_name as measured_model_name,
        measured.meter_id,
        measured.meter_kind,
        reported.reported_energy_j,
        measured.mean_power_w,
        reported.end_us - reported.start_us as reported_duration_us,
        least(reported.end_us, measured.end_us)
        - greatest(reported.start_us, measured.start_us) as overlap_us
    from reported
    inner join measured
        on
            reported.start_us < measured.end_us
            and reported.end_us > measured.start_us
            and reported.run_id != measured.run_id
)

select
    reported_run_id,
    reported_source_format,
    measured_run_id,
    measured_model_name,
    meter_id,
    meter_kind,
    overlap_us / 1e6 as overlap_s,
    overlap_us / cast(reported_duration_us as double) as overlap_share_of_reported,
    reported_energy_j,
    mean_power_w * overlap_us / 1e6 as measured_energy_in_overlap_j
from pairs
