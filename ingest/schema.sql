-- The raw layer: append-only, every row traceable to a load (load_id -> raw.loads).
-- Timestamps (*_at) are UTC, stored as naive TIMESTAMP.
create schema if not exists raw;
create sequence if not exists raw.load_id_seq start 1;

create table if not exists raw.loads (
    load_id bigint primary key,
    kind varchar not null,
    format varchar not null,
    source_path varchar not null,
    source_sha256 varchar not null,
    options_json varchar,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    loaded_at timestamp not null,
    flopwatt_version varchar
);

create table if not exists raw.quarantine (
    load_id bigint not null,
    line_number bigint,
    raw_text varchar,
    reason varchar not null
);

create table if not exists raw.meters (
    load_id bigint not null,
    meter_id varchar not null,
    meter_kind varchar not null,   -- wall | cpu_package | dram | gpu | estimate
    zone varchar,                  -- ISO 3166 alpha-3 grid zone, null = dbt var default_zone
    source_format varchar,
    description varchar
);

create table if not exists raw.power_readings (
    load_id bigint not null,
    line_number bigint,
    meter_id varchar not null,
    measured_at timestamp not null,
    power_w double not null
);

create table if not exists raw.energy_counters (
    load_id bigint not null,
    line_number bigint,
    meter_id varchar not null,
    measured_at timestamp not null,
    energy_j double not null,
    counter_range_j double          -- wraparound range of the counter in J, null = does not wrap
);

create table if not exists raw.runs (
    load_id bigint not null,
    line_number bigint,
    run_id varchar not null,
    model_name varchar not null,
    weights varchar,
    phase varchar not null,         -- inference | training | idle
    started_at timestamp not null,
    ended_at timestamp not null,
    n_inferences bigint,
    batch_size integer,
    meter_id varchar,
    device varchar,
    host varchar,
    torch_threads integer,
    measured_energy_j double,       -- energy reported by the source itself (e.g. CodeCarbon), else null
    source_format varchar
);

create table if not exists raw.flop_profiles (
    load_id bigint not null,
    line_number bigint,
    model_name varchar not null,
    weights varchar,                -- torchvision weights enum member, null when the file had none
    input_size integer,
    macs double,                    -- convention count (conv, linear, matmul, attention)
    macs_counter varchar,           -- which counter produced macs
    macs_thop double,               -- thop count, as the reference study did
    params bigint,
    published_macs double,          -- torchvision meta _ops x 1e9, when known
    published_params bigint,
    source varchar
);

create table if not exists raw.accuracy (
    load_id bigint not null,
    line_number bigint,
    model_name varchar not null,
    weights varchar,
    top1_acc_pct double,
    top5_acc_pct double,
    dataset varchar,
    file_size_mb double,
    recipe_url varchar,
    source varchar
);

create table if not exists raw.carbon_intensity (
    load_id bigint not null,
    line_number bigint,
    zone varchar not null,
    zone_name varchar,
    year integer,
    g_per_kwh double not null,
    source varchar not null,
    source_version varchar
);

create table if not exists raw.carbon_intensity_series (
    load_id bigint not null,
    line_number bigint,
    zone varchar not null,
    from_at timestamp not null,
    to_at timestamp not null,
    g_per_kwh double not null,
    is_forecast boolean,
    source varchar not null
);

-- Gaps: a quarantined row that stands for a gap in a meter's readings (Home Assistant
-- "unavailable"/"unknown", nvidia-smi "[N/A]") has is_gap = true and keeps its meter and instant
-- here, so the energy model can end the held reading at measured_at instead of holding the last
-- value across the gap. meter_id and measured_at are null for every other quarantined row.
alter table raw.quarantine add column if not exists meter_id varchar;
alter table raw.quarantine add column if not exists measured_at timestamp;
alter table raw.quarantine add column if not exists is_gap boolean;
-- migration of warehouses written before is_gap: their gap rows were marked by the reason's prefix
update raw.quarantine set is_gap = (reason like 'gap: %') where is_gap is null;

-- grid zone of a run whose meter gives none (CodeCarbon's country_iso_code), null = the meter's
alter table raw.runs add column if not exists zone varchar;

-- Hosts (issue 14): every meter belongs to a host (null = the meter is its own host); a run names
-- its host in raw.runs.host and may name the devices it used (comma-separated GPU uuids, indices
-- or meter ids, like CUDA_VISIBLE_DEVICES).
alter table raw.meters add column if not exists host_id varchar;
alter table raw.runs add column if not exists devices varchar;
