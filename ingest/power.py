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
    if key not in POWER_UNIT_FACTORS or (key == "mw" and unit.strip() != "mW"):
        raise OptionError(f"unknown power unit {unit!r}: use W, kW or mW")
    return POWER_UNIT_FACTORS[key]


def _format_hint(columns: list[str]) -> str:
    """A hint naming the format a refused file looks like, or ''."""
    from flopwatt.ingest.nvidia_smi import looks_like_nvidia_smi

    if looks_like_nvidia_smi(columns):
        return "; it looks like an nvidia-smi log: load it with --format nvidia-smi"
    return ""


def parse(
    path: Path | str,
    *,
    format: str = "auto",
    meter: str | None = None,
    tz: str | None = None,
    unit: str | None = None,
    meter_kind: str = "wall",
    zone: str | None = None,
    entities: tuple[str, ...] | list[str] = (),
) -> Batch:
    """Readings of a power file. ``entities`` (Home Assistant formats) selects entity ids; the
    rows of other entities are not read. A history export of several entities needs them."""
    table = read_table(path)
    fmt = sniff(table.columns) if format == "auto" else format
    if fmt is None:
        raise IngestError(
            table.source,
            "not a power file: expected columns timestamp,watts[,meter_id] or Home Assistant's "
            "entity_id,state,last_changed or last_changed,entity_id,node_id,power_consumption,unit "
            f"(found: {', '.join(table.columns)}){_format_hint(table.columns)}",
            line=1,
        )
    if fmt not in LAYOUTS:
        raise IngestError(table.source, f"unknown power format {fmt!r}")
    if meter_kind not in METER_KINDS:
        raise OptionError(f"unknown meter kind {meter_kind!r}: one of {', '.join(METER_KINDS)}")
    table.require(*LAYOUTS[fmt][:2], format_name=fmt, hint=_format_hint(table.columns))
    entities = tuple(entities)
    if entities and LAYOUTS[fmt][2] != "entity_id":
        raise OptionError(
            "--entity selects Home Assistant entities (formats ha-history, ha-events)"
        )
    return _readings(
        table, fmt, meter=meter, tz=tz, unit=unit, meter_kind=meter_kind, zone=zone,
        entities=entities,
    )  # fmt: skip


def _entity_filter(table: Table, fmt: str, entities: tuple[str, ...]) -> pl.Expr | None:
    """Rows to read of a Home Assistant export: the selected entities; every row when the
    export has one entity; an error listing them when it has several and none was selected."""
    if entities:
        found = set(table.frame["entity_id"].unique().to_list())
        missing = [e for e in entities if e not in found]
        if missing:
            raise IngestError(
                table.source,
                f"no rows for entity {', '.join(missing)} "
                f"(the export has: {', '.join(sorted(map(str, found - {None})))[:500]})",
            )
        return pl.col("entity_id").is_in(entities)
    if fmt != "ha-history":
        return None  # ha-events carries a unit per row: rows not in W/kW/mW are quarantined
    ids = table.frame["entity_id"].drop_nulls().unique().sort().to_list()
    if len(ids) > 1:
        shown = ", ".join(ids[:12]) + (f", ... ({len(ids)} in all)" if len(ids) > 12 else "")
        raise IngestError(
            table.source,
            f"a Home Assistant history export of {len(ids)} entities ({shown}) has no unit per "
            "row, so power sensors cannot be told from others: name the power sensor(s) with "
            "--entity (repeatable)",
        )
    return None


def _readings(table: Table, fmt: str, *, meter, tz, unit, meter_kind, zone, entities) -> Batch:
    meter_col = LAYOUTS[fmt][2]
    _unit_factor(unit)
    has_meter_col = meter_col in table.columns
    if not has_meter_col and meter is None:
        raise IngestError(
            table.source,
            f"no {meter_col} column: name the meter with --meter ID",
            line=1,
        )
    keep = _entity_filter(table, fmt, entities) if has_meter_col and fmt != "generic" else None
    options = {"meter": meter, "tz": tz, "unit": unit, "meter_kind": meter_kind, "zone": zone}
    if entities:
        options["entities"] = sorted(entities)
    args = (table, fmt, meter, tz, unit, meter_kind, zone)
    if keep is not None:  # Home Assistant exports are read whole (the entity check needs it)
        return _part(table.frame.filter(keep), *args, options=options)
    return Batch(
        kind="power",
        format=fmt,
        source=table.source,
        sha256=table.sha256,
        rows_read=0,
        parts=lambda: (_part(chunk, *args, options=options) for chunk in table.chunks()),
        options=options,
        line_text=table.raw_lines,
    )


def _part(f: pl.DataFrame, table, fmt, meter, tz, unit, meter_kind, zone, *, options) -> Batch:
    """The readings of one block of rows."""
    ts_col, value_col, meter_col, unit_col = LAYOUTS[fmt]
    default_factor = _unit_factor(unit)
    has_meter_col = meter_col in f.columns
    first_line = int(f["line"][0]) if f.height else 2
    times = to_utc(f[ts_col], tz, source=table.source, first_line=first_line)
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
        factor = u.replace_strict(POWER_UNIT_FACTORS, default=None, return_dtype=pl.Float64)
        # "mw" is milliwatts only when written mW (MW would be megawatts)
        factor = (
            pl.when(u == "")
            .then(pl.lit(1.0))
            .when((u == "mw") & (pl.col(unit_col).str.strip_chars() != "mW"))
            .then(pl.lit(None, pl.Float64))
            .otherwise(factor)
        )
        unit_reason = pl.when(factor.is_null()).then(
            pl.format("unit '{}' is not a power unit (W, kW, mW)", pl.col(unit_col))
        )
    else:
        factor = pl.lit(default_factor)
        unit_reason = pl.lit(None, pl.String)
    power = value * factor
    meter_reason = pl.when(pl.col("meter_id").is_null() | (pl.col("meter_id") == "")).then(
        pl.lit("no meter id")
    )
    reason = first_reason(
        pl.col("ts_reason"),
        meter_reason,
        state_reason,
        value_reason,
        unit_reason,
        pl.when(power < 0).then(pl.format("power {} W is negative", power)),
    )
    gap = pl.col("ts_reason").is_null() & meter_reason.is_null() & is_gap
    f = f.with_columns(power.alias("power_w"), reason.alias("reason"), gap.alias("is_gap"))
    good = f.filter(pl.col("reason").is_null())
    bad = f.filter(pl.col("reason").is_not_null()).select(
        "line",
        "reason",
        pl.when("is_gap").then(pl.col("meter_id")).alias("meter_id"),
        pl.when("is_gap").then(pl.col("measured_at")).alias("measured_at"),
        "is_gap",
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
    return table.batch(
        "power", fmt, f, {"power_readings": readings, "meters": meters}, options, bad=bad
    )
