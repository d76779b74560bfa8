-- One row per run with its meter resolved and its bounds in integer microseconds.
-- Meter of a run (meter_source):
--   'run'            the run names its meter;
--   'default_var'    it names none and the dbt var default_meter_id is set;
--   'only_overlapping' it names none and exactly one meter has data overlapping the run
--                    (the reference study's pm.csv case: one smart plug);
--   'unresolved'     none of these (no meter, or several candidates): kept, with null energy.
-- has_overlap: another run on the same meter overlaps this one (each still gets its full window).
with

runs as (
    select * from {{ ref('stg_raw__runs') }}
),

meter_spans as (
    select * from {{ ref('int_meter_spans') }}
),

timed as (
    select
        run_id,
        meter_id as run_meter_id,
        {{ epoch_us('started_at') }} as start_us,
        {{ epoch_us('ended_at') }} as end_us
    from runs
),

overlapping_candidates as (
    select
        timed.run_id,
        count(*) as n_candidates,
        min(meter_spans.meter_id) as candidate_meter_id
    from timed
    inner join meter_spans
        on
            timed.end_us > meter_spans.first_us
            and timed.start_us < meter_spans.last_us
    where timed.run_meter_id is null
    group by timed.run_id
),

resolved as (
    select
        timed.run_id,
        timed.start_us,
        timed.end_us,
        case
            when timed.run_meter_id is not null then timed.run_meter_id
            when {{ sql_literal(energy_var('default_meter_id')) }} is not null
                then {{ sql_literal(energy_var('default_meter_id')) }}
            when overlapping_candidates.n_candidates = 1 then overlapping_candidates.candidate_meter_id
        end as meter_id,
        case
            when timed.run_meter_id is not null then 'run'
            when {{ sql_literal(energy_var('default_meter_id')) }} is not null then 'default_var'
            when overlapping_candidates.n_candidates = 1 then 'only_overlapping'
            else 'unresolved'
        end as meter_source
    from timed
    left join overlapping_candidates
        on timed.run_id = overlapping_candidates.run_id
),

ordered as (
    select
        *,
        max(end_us) over (
            partition by meter_id order by start_us, end_us, run_id
            rows between unbounded preceding and 1 preceding
        ) as earlier_max_end_us,
        lead(start_us) over (partition by meter_id order by start_us, end_us, run_id) as next_start_us
    from resolved
)

select
    runs.run_id,
    runs.model_name,
    runs.weights,
    runs.phase,
    runs.started_at,
    runs.ended_at,
    runs.n_inferences,
    runs.batch_size,
    runs.device,
    runs.host,
    runs.measured_energy_j,
    runs.source_format,
    ordered.meter_id,
    ordered.meter_source,
    ordered.start_us,
    ordered.end_us,
    ordered.end_us - ordered.start_us as duration_us,
    ordered.meter_id is not null
    and (
        coalesce(ordered.earlier_max_end_us > ordered.start_us, false)
        or coalesce(ordered.next_start_us < ordered.end_us, false)
    ) as has_overlap
from runs
inner join ordered
    on runs.run_id = ordered.run_id
