-- one row per meter: the most recent registration wins. changed_load_id: the load since which the
-- registration has been what it is now (a re-registration with the same kind, zone, host and
-- source format, as each nightly `ingest power --zone` writes, changes nothing computed, so the
-- incremental builds compare with this, not with load_id; description is not compared)
with

source as (
    select * from {{ source('raw', 'meters') }}
),

renamed as (
    select
        meter_id,
        meter_kind,
        upper(zone) as zone,
        host_id,
        source_format,
        description,
        load_id
    from source
),

latest as (
    {{ latest_load('renamed', partition_by=['meter_id']) }}
),

last_differences as (
    -- per meter, the latest registration that differs from the current one (null: none)
    select
        latest.meter_id,
        max(
            case
                when not (
                    coalesce(
                        renamed.meter_kind = latest.meter_kind, renamed.meter_kind is null and latest.meter_kind is null
                    )
                    and coalesce(renamed.zone = latest.zone, renamed.zone is null and latest.zone is null)
                    and coalesce(renamed.host_id = latest.host_id, renamed.host_id is null and latest.host_id is null)
                    and coalesce(
                        renamed.source_format = latest.source_format,
                        renamed.source_format is null and latest.source_format is null
                    )
                ) then renamed.load_id
            end
        ) as last_difference_load_id
    from latest
    inner join renamed
        on latest.meter_id = renamed.meter_id
    group by latest.meter_id
),

unchanged_since as (
    select
        renamed.meter_id,
        min(renamed.load_id) as changed_load_id
    from renamed
    inner join last_differences
        on renamed.meter_id = last_differences.meter_id
    where renamed.load_id > coalesce(last_differences.last_difference_load_id, 0)
    group by renamed.meter_id
)

select
    latest.meter_id,
    latest.meter_kind,
    latest.zone,
    latest.host_id,
    latest.source_format,
    latest.description,
    latest.load_id,
    unchanged_since.changed_load_id
from latest
inner join unchanged_since
    on latest.meter_id = unchanged_since.meter_id
