-- One row per (run, meter) that measures the run, with its bounds in integer microseconds.
-- Meters of a run (meter_source):
--   'run'              the run names its meter: that meter alone (as before hosts existed);
--   'host'             the run names a host: every meter of that host with data overlapping the run;
--   'default_var'      it names neither and the dbt var default_meter_id is set: that meter;
--   'only_overlapping' it names neither and exactly one host has meters with data overlapping the
--                      run (a meter registered without a host is its own host, so the reference
--                      study's pm.csv with one smart plug resolves as before): every such meter;
--                      a run naming devices but no host looks only at hosts owning a named device;
--   'unresolved'       none of these (no meter, or several hosts): kept, no meter, null energy.
-- A run naming a host whose meters have no data overlapping it keeps one row without a meter.
-- devices (comma-separated GPU uuids, indices or meter ids, like CUDA_VISIBLE_DEVICES) filter the
-- GPU meters: a token names a meter when it is its meter id, the part after its last ':' (a uuid,
-- an nvidia-smi index), or N for a meter id ending ':gpuN'. A GPU meter of the host that the run
-- does not name is kept with is_other_device = true: reported, never added to the run's total.
-- has_overlap: another run on the same meter overlaps this one (each still gets its full window).
-- Incremental (macros/run_level.sql): every build computes every run's rows (overlaps and host
-- resolution involve other runs and the meters' spans) but stores only the runs whose rows changed,
-- with through_load_id: the run-level models downstream recompute those runs, not all runs.
{{ config(**run_keyed_incremental()) }}
with

runs as (
    select
        run_id,
        model_name,
        weights,
        phase,
        started_at,
        ended_at,
        n_inferences,
        batch_size,
        device,
        meter_id,
        host_id,
        devices,
        measured_energy_j,
        zone,
        source_format
    from {{ ref('stg_raw__runs') }}
),

meter_spans as (
    select
        meter_id,
        host_id,
        meter_kind,
        first_us,
        last_us
    from {{ ref('int_meter_spans') }}
),

timed as (
    select
        run_id,
        meter_id as run_meter_id,
        host_id as run_host_id,
        case
            when replace(devices, ' ', '') != '' then ',' || replace(devices, ' ', '') || ','
        end as device_list,
        {{ epoch_us('started_at') }} as start_us,
        {{ epoch_us('ended_at') }} as end_us
    from runs
),

host_meters as (
    select
        meter_id,
        host_id,
        meter_kind,
        first_us,
        last_us,
        {{ regex_group('meter_id', '([^:]*)$') }} as device_key
    from meter_spans
),

overlapping as (
    -- meters with data overlapping each run that names no meter, and whether the run names them
    select
        timed.run_id,
        timed.run_host_id,
        host_meters.meter_id,
        host_meters.host_id,
        host_meters.meter_kind,
        case
            when timed.device_list is null then null
            else
                instr(timed.device_list, ',' || host_meters.meter_id || ',') > 0
                or instr(timed.device_list, ',' || host_meters.device_key || ',') > 0
                or (
                    host_meters.device_key like 'gpu%'
                    and instr(timed.device_list, ',' || substr(host_meters.device_key, 4) || ',') > 0
                )
        end as is_named_device
    from timed
    inner join host_meters
        on
            timed.end_us > host_meters.first_us
            and timed.start_us < host_meters.last_us
    where timed.run_meter_id is null
),

candidate_hosts as (
    -- runs naming no host: the hosts with overlapping data (owning a named device, if any named)
    select
        run_id,
        count(distinct host_id) as n_hosts,
        min(host_id) as candidate_host_id
    from overlapping
    where run_host_id is null and coalesce(is_named_device, true)
    group by run_id
),

resolved as (
    select
        timed.run_id,
        timed.run_meter_id,
        timed.start_us,
        timed.end_us,
        case
            when timed.run_meter_id is not null then 'run'
            when timed.run_host_id is not null then 'host'
            when {{ sql_literal(energy_var('default_meter_id')) }} is not null then 'default_var'
            when candidate_hosts.n_hosts = 1 then 'only_overlapping'
            else 'unresolved'
        end as meter_source,
        case
            when timed.run_meter_id is not null then null
            when timed.run_host_id is not null then timed.run_host_id
            when {{ sql_literal(energy_var('default_meter_id')) }} is not null then null
            when candidate_hosts.n_hosts = 1 then candidate_hosts.candidate_host_id
        end as resolved_host_id
    from timed
    left join candidate_hosts
        on timed.run_id = candidate_hosts.run_id
),

host_pairs as (
    select
        resolved.run_id,
        overlapping.meter_id,
        coalesce(overlapping.meter_kind = 'gpu' and not overlapping.is_named_device, false) as is_other_device
    from resolved
    inner join overlapping
        on
            resolved.run_id = overlapping.run_id
            and resolved.resolved_host_id = overlapping.host_id
),

pairs as (
    select
        run_id,
        coalesce(run_meter_id, {{ sql_literal(energy_var('default_meter_id')) }}) as meter_id,
        false as is_other_device
    from resolved
    where meter_source in ('run', 'default_var')
    union all
    select
        run_id,
        meter_id,
        is_other_device
    from host_pairs
    union all
    select
        resolved.run_id,
        null as meter_id,
        false as is_other_device
    from resolved
    left join host_pairs
        on resolved.run_id = host_pairs.run_id
    where resolved.meter_source in ('host', 'only_overlapping', 'unresolved') and host_pairs.run_id is null
),

bounded as (
    select
        pairs.run_id,
        pairs.meter_id,
        pairs.is_other_device,
        resolved.meter_source,
        coalesce(resolved.resolved_host_id, meter_spans.host_id) as host_id,
        resolved.start_us,
        resolved.end_us
    from pairs
    inner join resolved
        on pairs.run_id = resolved.run_id
    left join meter_spans
        on pairs.meter_id = meter_spans.meter_id
),

ordered as (
    select
        *,
        max(end_us) over (
            partition by meter_id order by start_us, end_us, run_id
            rows between unbounded preceding and 1 preceding
        ) as earlier_max_end_us,
        lead(start_us) over (partition by meter_id order by start_us, end_us, run_id) as next_start_us
    from bounded
),

bounds as (
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
        runs.host_id as run_host_id,
        runs.devices,
        runs.measured_energy_j,
        runs.zone as run_zone,
        runs.source_format,
        ordered.meter_id,
        ordered.meter_source,
        ordered.host_id,
        ordered.is_other_device,
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
)

select
    bounds.*,
    {{ latest_load_id() }} as through_load_id
from bounds
{%- if is_incremental() %}
where bounds.run_id in ({{ run_bounds_changed_runs('bounds') }})
{%- endif %}
