-- Wall against components: one row per run seen both by wall meters and by component meters (RAPL
-- package, DRAM, the GPUs the run used) with data for it. The ratio wall / components is the
-- power-supply and rest-of-system overhead; each component's share is of the wall energy. Components
-- exceeding the wall cannot happen physically: it points to clock skew between the logs, a wrong
-- unit, or a wall meter that does not feed this host.
with

run_meters as (
    select * from {{ ref('fct_run_meter_energy') }}
),

per_run as (
    select
        run_id,
        max(host_id) as host_id,
        max(energy_basis) as energy_basis,
        sum(case when meter_role = 'wall' then energy_j end) as wall_energy_j,
        sum(case when meter_role = 'component' then energy_j end) as components_energy_j,
        sum(case when meter_role = 'component' and meter_kind = 'gpu' then energy_j end) as gpu_energy_j,
        sum(case when meter_role = 'component' and meter_kind = 'cpu_package' then energy_j end) as cpu_energy_j,
        sum(case when meter_role = 'component' and meter_kind = 'dram' then energy_j end) as dram_energy_j,
        min(case when meter_role = 'wall' then coverage_ratio end) as wall_coverage_ratio,
        min(case when meter_role = 'component' then coverage_ratio end) as components_coverage_ratio,
        max(case when meter_role = 'wall' and has_data then 1 else 0 end) as wall_has_data,
        max(case when meter_role = 'component' and has_data then 1 else 0 end) as component_has_data
    from run_meters
    group by run_id
)

select
    run_id,
    host_id,
    energy_basis,
    wall_energy_j,
    components_energy_j,
    gpu_energy_j,
    cpu_energy_j,
    dram_energy_j,
    wall_energy_j - components_energy_j as overhead_energy_j,
    case when components_energy_j > 0 then wall_energy_j / components_energy_j end as wall_to_components_ratio,
    case when wall_energy_j > 0 then gpu_energy_j / wall_energy_j end as gpu_share_of_wall,
    case when wall_energy_j > 0 then cpu_energy_j / wall_energy_j end as cpu_share_of_wall,
    case when wall_energy_j > 0 then dram_energy_j / wall_energy_j end as dram_share_of_wall,
    case when wall_energy_j > 0 then (wall_energy_j - components_energy_j) / wall_energy_j end as rest_share_of_wall,
    wall_coverage_ratio,
    components_coverage_ratio,
    components_energy_j > wall_energy_j as components_exceed_wall
from per_run
where wall_has_data = 1 and component_has_data = 1
