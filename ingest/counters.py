"""Cumulative energy counters -> ``raw.energy_counters`` in J, stored as read (dbt undoes wraps
and resets).

Formats (CSV, or JSON lines such as logged device status or MQTT ``tele/.../SENSOR`` payloads,
flattened to dotted lower-case keys, e.g. ``{"ENERGY": {"Total": 1.2}}`` -> ``energy.total``):

- ``generic``: ``timestamp, counter[, meter_id]``; ``--unit`` is required.
- ``rapl-dump``: ``timestamp, energy_uj[, domain|name|zone][, max_energy_range_uj]`` (a dump of
  ``/sys/class/powercap/intel-rapl:*/energy_uj``): uJ, the wrap range from
  ``max_energy_range_uj`` when present.
- ``shelly``: Gen2+ ``aenergy.total`` / ``total_act_energy`` (Wh); Gen1 ``meters.N.total``
  (relays and plugs: watt-minutes) or ``emeters.N.total`` (EM: Wh) -> the Gen1 plain ``total`` is
  ambiguous, so ``--unit Wh|watt-minutes`` is required for it. Time: ``timestamp``/``time`` or
  ``unixtime``. Gen1 totals restart at 0 on reboot (a reset, undone downstream).
- ``tasmota``: ``energy.total`` / ``total`` (kWh) with ``time`` (device local time: ``--tz``).
- ``kasa``: ``total_wh`` (Wh, hardware v2+) or ``total`` (kWh, hardware v1).

Several counter columns in one row (Shelly 2.5 ``meters.0.total``, ``meters.1.total``; a RAPL dump
with one column per domain) become one meter each: ``<meter>:<channel>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch, sha256_file
from flopwatt.ingest.tabular import BOM, Table, check_readable, read_table
from flopwatt.ingest.timeparse import to_utc

from flopwatt.core.errors import IngestError, OptionError
from flopwatt.core.vocab import METER_KINDS

# unit name -> joules per unit
ENERGY_UNITS = {
    "J": 1.0,
    "mJ": 1e-3,
    "uJ": 1e-6,
    "Wh": 3600.0,
    "kWh": 3.6e6,
    "watt-minutes": 60.0,
}
_ALIASES = {
    "j": "J", "joule": "J", "joules": "J", "mj": "mJ", "uj": "uJ", "µj": "uJ", "μj": "uJ",
    "wh": "Wh", "kwh": "kWh", "watt-minutes": "watt-minutes", "watt-minute": "watt-minutes",
    "wmin": "watt-minutes", "w-min": "watt-minutes", "watt_minutes": "watt-minutes",
}  # fmt: skip
FORMATS = ("generic", "rapl-dump", "shelly", "tasmota", "kasa")


def unit_factor(unit: str) -> float:
    key = _ALIASES.get(unit.strip().lower())
    if key is None:
        raise OptionError(f"unknown energy unit {unit!r}: one of {', '.join(ENERGY_UNITS)}")
    return ENERGY_UNITS[key]


def canonical_unit(unit: str) -> str:
    unit_factor(unit)
    return _ALIASES[unit.strip().lower()]


@dataclass
class Layout:
    time_cols: tuple[str, ...]
    # regex on column name -> (unit or None when ambiguous, channel group name or None)
    counters: tuple[tuple[str, str | None], ...]
    meter_cols: tuple[str, ...] = ("meter_id",)
    default_kind: str = "wall"
    #: the counter columns in words, for the error when a file has none
    wanted: str = ""


LAYOUTS = {
    "generic": Layout(("timestamp",), ((r"^counter$", None),), wanted="a counter column"),
    "rapl-dump": Layout(
        ("timestamp", "time"),
        ((r"^energy_uj$", "uJ"), (r"^(?P<ch>.+?)[._:]energy_uj$", "uJ")),
        ("meter_id", "domain", "name", "zone"),
        "cpu_package",
        "an energy_uj column, or one per domain named like package-0.energy_uj or "
        "intel-rapl:0:energy_uj",
    ),
    "shelly": Layout(
        ("timestamp", "time", "unixtime", "sys.unixtime"),
        (
            (r"^(?:(?P<ch>switch:\d+|pm1:\d+|em1data:\d+)\.)?aenergy\.total$", "Wh"),
            (r"^aenergy_total$", "Wh"),
            (r"^(?:(?P<ch>em1data:\d+|emdata:\d+)\.)?total_act(?:_energy)?$", "Wh"),
            (r"^(?P<ch>meters\.\d+)\.total$", "watt-minutes"),
            (r"^(?P<ch>emeters\.\d+)\.total$", "Wh"),
            (r"^total$", None),
        ),
        wanted="aenergy.total, total_act_energy, meters.N.total, emeters.N.total or total",
    ),
    "tasmota": Layout(
        ("time", "timestamp"),
        ((r"^energy\.total$", "kWh"), (r"^total$", "kWh"), (r"^total_kwh$", "kWh")),
        wanted="ENERGY.Total, total or total_kwh",
    ),
    "kasa": Layout(
        ("timestamp", "time"),
        (
            (r"^(?:emeter\.|realtime\.|emeter_realtime\.)?total_wh$", "Wh"),
            (r"^(?:emeter\.|realtime\.|emeter_realtime\.)?total$", "kWh"),
        ),
        wanted="total_wh or total (optionally under emeter. or realtime.)",
    ),
}


def _flatten(obj, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{str(k).lower()}."))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = None if obj is None else str(obj)
    return out


def read_json_lines(path: Path) -> Table:
    """One JSON object per line (text before the first '{' is ignored: MQTT topic prefixes)."""
    path = check_readable(path)
    rows, lines = [], []
    text = path.read_bytes().removeprefix(BOM).decode("utf-8", "replace")
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        start = line.find("{")
        try:
            obj = json.loads(line[start:]) if start >= 0 else None
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            raise IngestError(str(path), "not a JSON object on this line", line=i)
        rows.append(_flatten(obj))
        lines.append(i)
    if not rows:
        raise IngestError(str(path), "file is empty", line=1)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    frame = pl.DataFrame(
        {c: [r.get(c) for r in rows] for c in cols}, schema={c: pl.String for c in cols}
    ).with_columns(pl.Series("line", lines, dtype=pl.Int64))
    return Table(path, sha256_file(path), frame, is_parquet=True)  # raw text: JSON of the row


def _read(path: Path | str) -> Table:
    path = check_readable(path)
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json", ".log"}:
        return read_json_lines(path)
    with open(path, "rb") as fh:
        start = fh.read(64)
    if start.removeprefix(BOM).lstrip()[:1] == b"{":
        return read_json_lines(path)
    return read_table(path)


def parse(
    path: Path | str,
    *,
    format: str,
    unit: str | None = None,
    range_: float | None = None,
    meter: str | None = None,
    tz: str | None = None,
    meter_kind: str | None = None,
    zone: str | None = None,
) -> Batch:
    if format not in LAYOUTS:
        raise OptionError(f"unknown counter format {format!r}: one of {', '.join(FORMATS)}")
    if meter_kind is not None and meter_kind not in METER_KINDS:
        raise OptionError(f"unknown meter kind {meter_kind!r}: one of {', '.join(METER_KINDS)}")
    if format == "generic" and unit is None:
        raise OptionError("a generic counter log needs --unit (J, Wh, kWh, uJ, mJ, watt-minutes)")
    if range_ is not None and range_ <= 0:
        raise OptionError("--range must be positive")
    layout = LAYOUTS[format]
    table = _read(path)
    f = table.frame
    cols = table.columns
    time_col = next((c for c in layout.time_cols if c in cols), None)
    found = []  # (column, unit, channel)
    for c in cols:
        for pattern, u in layout.counters:
            m = re.match(pattern, c)
            if m:
                found.append((c, u, m.groupdict().get("ch")))
                break
    if time_col is None or not found:
        raise IngestError(
            table.source,
            f"not a {format} counter log: expected a {' or '.join(layout.time_cols)} column and "
            f"{layout.wanted} (found: {', '.join(cols)})",
            line=1,
        )
    declared = canonical_unit(unit) if unit else None
    warnings: list[str] = []
    meter_col = next((c for c in layout.meter_cols if c in cols), None)
    if meter is None and meter_col is None:
        raise IngestError(table.source, "no meter column: name the meter with --meter ID", line=1)

    times = to_utc(f[time_col], tz, source=table.source)
    f = f.with_columns(times["at"].alias("measured_at"), times["reason"].alias("ts_reason"))
    if meter_col is not None:
        base = pl.col(meter_col)
        if meter is not None:
            base = pl.format("{}:{}", pl.lit(meter), base)
        elif format == "rapl-dump" and meter_col != "meter_id":
            base = pl.format("rapl:{}", base)
    else:
        base = pl.lit(meter)

    parts = []
    for col, col_unit, channel in found:
        u = declared or col_unit
        if u is None:
            raise IngestError(
                table.source,
                f"column {col} of a {format} log is ambiguous (Shelly Gen1 relays count "
                "watt-minutes, Gen1 EM meters Wh): say which with --unit",
                line=1,
            )
        if declared and col_unit and declared != col_unit:
            warnings.append(f"{col}: --unit {declared} overrides the format's {col_unit}")
        factor = ENERGY_UNITS[u]
        meter_expr = base if len(found) == 1 else pl.format("{}:{}", base, pl.lit(channel or col))
        value = pl.col(col).str.strip_chars().cast(pl.Float64, strict=False)
        if format == "rapl-dump" and "max_energy_range_uj" in cols:
            rng = pl.col("max_energy_range_uj").cast(pl.Float64, strict=False) * 1e-6
            rng = rng if range_ is None else pl.lit(range_ * factor)
        else:
            rng = pl.lit(range_ * factor if range_ is not None else None, pl.Float64)
        reason = pl.coalesce(
            pl.col("ts_reason"),
            pl.when(meter_expr.is_null() | (meter_expr == "")).then(pl.lit("no meter id")),
            pl.when(pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")).then(
                pl.format("{} is empty", pl.lit(col))
            ),
            pl.when(value.is_null() | value.is_nan() | value.is_infinite()).then(
                pl.format("{} '{}' is not a number", pl.lit(col), pl.col(col))
            ),
            pl.when(value < 0).then(pl.format("{} {} is negative", pl.lit(col), pl.col(col))),
        )
        parts.append(
            f.select(
                "line",
                meter_expr.alias("meter_id"),
                "measured_at",
                (value * factor).alias("energy_j"),
                rng.alias("counter_range_j"),
                reason.alias("reason"),
                pl.lit(u).alias("unit"),
            )
        )
    rows = pl.concat(parts)
    good = rows.filter(pl.col("reason").is_null())
    bad = rows.filter(pl.col("reason").is_not_null())
    if len(found) > 1:
        # several channels per line: a line is quarantined once, with every channel's reason
        bad = bad.group_by("line", maintain_order=True).agg(
            pl.format("{}: {}", "meter_id", "reason").str.join("; ").alias("reason")
        )
        bad_lines = set(bad["line"].to_list())
        good = good.filter(~pl.col("line").is_in(bad_lines))
        warnings.append(f"{len(found)} counters per line: one meter each")
    counters = good.select(
        pl.col("line").alias("line_number"), "meter_id", "measured_at", "energy_j",
        "counter_range_j",
    )  # fmt: skip
    kinds = {}
    for mid in counters["meter_id"].unique(maintain_order=True).to_list():
        k = meter_kind or layout.default_kind
        if format == "rapl-dump" and meter_kind is None and "dram" in mid.lower():
            k = "dram"
        kinds[mid] = k
    units = sorted({u for _, u, _ in found if u} | ({declared} if declared else set()))
    meters = pl.DataFrame(
        {
            "meter_id": list(kinds),
            "meter_kind": list(kinds.values()),
            "zone": [zone] * len(kinds),
            "source_format": [f"counters:{format}"] * len(kinds),
            "description": [
                f"cumulative energy counter from {table.path.name} ({', '.join(units)} -> J)"
            ]
            * len(kinds),
        },
        schema={"meter_id": pl.String, "meter_kind": pl.String, "zone": pl.String,
                "source_format": pl.String, "description": pl.String},
    )  # fmt: skip
    return table.batch(
        "counters",
        format,
        f,
        {"energy_counters": counters, "meters": meters},
        bad=bad.select("line", "reason"),
        options={
            "unit": declared,
            "range": range_,
            "meter": meter,
            "tz": tz,
            "meter_kind": meter_kind,
            "zone": zone,
        },
        warnings=warnings,
    )
