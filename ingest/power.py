"""Power readings: generic timestamp/watts CSV or Parquet, Home Assistant history export, and the
reference study's Home Assistant event export. All become ``raw.power_readings`` in W, UTC."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch
from flopwatt.ingest.tabular import Table, first_reason, numeric, read_table
from flopwatt.ingest.timeparse import to_utc

from flopwatt.core.errors import IngestError, OptionError
from flopwatt.core.vocab import GAP_STATES, METER_KINDS, POWER_UNIT_FACTORS

# format name -> (timestamp column, value column, meter column or None, unit column or None)
LAYOUTS = {
    "generic": ("timestamp", "watts", "meter_id", None),
    "ha-history": ("last_changed", "state", "entity_id", None),
    "ha-events": ("last_changed", "power_consumption", "entity_id", "unit"),
}


def sniff(columns: list[str]) -> str | None:
    cols = set(columns)
    if {"last_changed", "entity_id", "power_consumption"} <= cols:
        return "ha-events"
    if {"entity_id", "state", "last_changed"} <= cols:
        return "ha-history"
    if {"timestamp", "watts"} <= cols:
        return "generic"
    return None


def _unit_factor(unit: str | None) -> float:
    if unit is None:
        return 1.0
    key = unit.strip().lower()
    if key not in POWER_UNIT_FACTORS:
        raise OptionError(f"unknown power unit {unit!r}: use W or kW")
    return POWER_UNIT_FACTORS[key]


def parse(
    path: Path | str,
    *,
    format: str = "auto",
    meter: str | None = None,
    tz: str | None = None,
    unit: str | None = None,
    meter_kind: str = "wall",
    zone: str | None = None,
) -> Batch:
    table = read_table(path)
    fmt = sniff(table.columns) if format == "auto" else format
    if fmt is None:
        raise IngestError(
            table.source,
            "not a power file: expected columns timestamp,watts[,meter_id] or Home Assistant's "
            "entity_id,state,last_changed or last_changed,entity_id,node_id,power_consumption,unit "
            f"(found: {', '.join(table.columns)})",
            line=1,
        )
    if fmt not in LAYOUTS:
        raise IngestError(table.source, f"unknown power format {fmt!r}")
    if meter_kind not in METER_KINDS:
        raise OptionError(f"unknown meter kind {meter_kind!r}: one of {', '.join(METER_KINDS)}")
    table.require(*LAYOUTS[fmt][:2], format_name=fmt)
    return _readings(table, fmt, meter=meter, tz=tz, unit=unit, meter_kind=meter_kind, zone=zone)


def _readings(table: Table, fmt: str, *, meter, tz, unit, meter_kind, zone) -> Batch:
    ts_col, value_col, meter_col, unit_col = LAYOUTS[fmt]
    default_factor = _unit_factor(unit)
    f = table.frame
    has_meter_col = meter_col in f.columns
    if not has_meter_col and meter is None:
        raise IngestError(
            table.source,
            f"no {meter_col} column: name the meter with --meter ID",
            line=1,
        )
    times = to_utc(f[ts_col], tz, source=table.source)
    f = f.with_columns(times["at"].alias("measured_at"), times["reason"].alias("ts_reason"))
    meter_expr = pl.col(meter_col) if has_meter_col else pl.lit(meter)
    if has_meter_col and meter is not None:
        meter_expr = pl.coalesce(
            pl.when(pl.col(meter_col) != "").then(pl.col(meter_col)), pl.lit(meter)
        )
    f = f.with_columns(meter_expr.alias("meter_id"))
    value, value_reason = numeric(value_col, "power")
    is_gap = pl.col(value_col).is_null() | pl.col(value_col).str.to_lowercase().is_in(GAP_STATES)
    # a gap keeps its meter and instant in the quarantine so the energy model ends the held
    # reading there instead of holding it across the outage
    state_reason = pl.when(is_gap).then(
        pl.format("gap: state '{}' (no reading)", pl.col(value_col).fill_null(""))
    )
    if unit_col and unit_col in f.columns and unit is None:
        u = pl.col(unit_col).str.strip_chars().str.to_lowercase()
        factor = (
            pl.col(unit_col)
            .str.strip_chars()
            .str.to_lowercase()
            .replace_strict(POWER_UNIT_FACTORS, default=None, return_dtype=pl.Float64)
        )
        factor = pl.when(u == "").then(pl.lit(1.0)).otherwise(factor)
        unit_reason = pl.when(factor.is_null()).then(
            pl.format("unknown unit '{}'", pl.col(unit_col))
        )
    else:
        factor = pl.lit(default_factor)
        unit_reason = pl.lit(None, pl.String)
    power = value * factor
    reason = first_reason(
        pl.col("ts_reason"),
        pl.when(pl.col("meter_id").is_null() | (pl.col("meter_id") == "")).then(
            pl.lit("no meter id")
        ),
        state_reason,
        value_reason,
        unit_reason,
        pl.when(power < 0).then(pl.format("power {} W is negative", power)),
    )
    f = f.with_columns(power.alias("power_w"), reason.alias("reason"))
    good = f.filter(pl.col("reason").is_null())
    bad = f.filter(pl.col("reason").is_not_null())
    gap = pl.col("reason").str.starts_with("gap: ")
    quarantine = table.quarantine(bad.select("line", "reason")).with_columns(
        bad.select(pl.when(gap).then(pl.col("meter_id")).alias("meter_id"))["meter_id"],
        bad.select(pl.when(gap).then(pl.col("measured_at")).alias("measured_at"))["measured_at"],
    )
    readings = good.select("line", "meter_id", "measured_at", "power_w").rename(
        {"line": "line_number"}
    )
    meters = (
        readings.select("meter_id")
        .unique(maintain_order=True)
        .with_columns(
            pl.lit(meter_kind).alias("meter_kind"),
            pl.lit(zone, pl.String).alias("zone"),
            pl.lit(fmt).alias("source_format"),
            pl.lit(f"power readings from {table.path.name}").alias("description"),
        )
    )
    return Batch(
        kind="power",
        format=fmt,
        source=table.source,
        sha256=table.sha256,
        rows_read=f.height,
        tables={"power_readings": readings, "meters": meters},
        quarantine=quarantine,
        options={"meter": meter, "tz": tz, "unit": unit, "meter_kind": meter_kind, "zone": zone},
    )
