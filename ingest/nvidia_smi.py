"""GPU power from ``nvidia-smi --query-gpu=... --format=csv[,nounits] -l N`` logs.

The layout: a header like ``timestamp, index, uuid, power.draw [W]`` (``[W]`` names the unit; with
``nounits`` the values are bare, without it they read ``85.12 W``), then one row per GPU per poll.
Timestamps are the machine's naive local time (``2024/03/31 01:59:59.500``): the zone (``tz``) is
then required and converted to UTC across DST; timestamps that carry an offset need none.
``[N/A]``, ``N/A``, ``[Not Supported]``, ``[Unknown Error]`` and empty power values are gaps
(quarantined with ``is_gap``, a ``gap: `` reason, the meter and the instant).

One meter per GPU, told apart by the device columns (``uuid``, ``pci.bus_id``, ``index``, ``gpu``)
that vary in the log: the first of them (in that order) that alone separates every GPU names the
meter, else all the varying ones together. A column that is the same on every row (an ``index``
that is always 0 on a log merged from several single-GPU hosts) does not merge the GPUs another
column tells apart. When the log has no device column and the rows of several GPUs interleave,
they are split by the GPU's static columns (``name``, ``memory.total``, ``serial``,
``vbios_version``) when those tell the GPUs apart, else by the row's position within a poll (rows
sharing one timestamp), with a warning either way.

Power column: ``power.draw`` (on Ampere+ a 1-s average), else ``power.draw.instant``, else
``power.draw.average``. A header repeated inside the file (logs appended by several runs) is
quarantined, not parsed as data.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch
from flopwatt.ingest.tabular import read_table
from flopwatt.ingest.timeparse import check_tz, to_utc

from flopwatt.core.errors import IngestError
from flopwatt.core.vocab import POWER_UNIT_FACTORS as UNIT_FACTORS

POWER_COLUMNS = ("power.draw", "power.draw.instant", "power.draw.average")
DEVICE_COLUMNS = ("uuid", "pci.bus_id", "index", "gpu")
STATIC_COLUMNS = ("name", "serial", "memory.total", "vbios_version", "pci.device_id")
MISSING = {"[n/a]", "n/a", "[not supported]", "[unknown error]", "[gpu is lost]", ""}
_VALUE = r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)$"


def _base(col: str) -> tuple[str, str | None]:
    """'power.draw [w]' -> ('power.draw', 'w')."""
    m = re.match(r"^(.*?)\s*\[([^\]]*)\]\s*$", col)
    return (m.group(1).strip(), m.group(2).strip().lower()) if m else (col.strip(), None)


def looks_like_nvidia_smi(columns: list[str]) -> bool:
    """Whether a header is an nvidia-smi --query-gpu log's (timestamp and a power.draw column)."""
    names = {_base(c)[0] for c in columns}
    return "timestamp" in names and any(c in names for c in POWER_COLUMNS)


def parse(
    path: Path | str,
    *,
    tz: str | None = None,
    meter: str | None = None,
    meter_kind: str = "gpu",
    zone: str | None = None,
) -> Batch:
    check_tz(tz)
    table = read_table(path)
    f = table.frame
    names = {c: _base(c) for c in table.columns}
    f = f.rename({c: names[c][0] for c in table.columns})
    header_units = {b: u for b, u in names.values()}
    cols = [names[c][0] for c in table.columns]
    if "timestamp" not in cols:
        first = table.columns[0] if table.columns else ""
        hint = (
            " (the log has no header line: nvidia-smi was run with noheader)"
            if re.match(r"^\d{4}/\d{2}/\d{2}", first)
            else ""
        )
        raise IngestError(
            table.source,
            f"not an nvidia-smi --query-gpu CSV: no timestamp column{hint} "
            f"(found: {', '.join(table.columns)})",
            line=1,
        )
    power_col = next((c for c in POWER_COLUMNS if c in cols), None)
    if power_col is None:
        raise IngestError(
            table.source,
            "not an nvidia-smi power log: query power.draw "
            f"(nvidia-smi --query-gpu=timestamp,uuid,power.draw ...) (found: {', '.join(cols)})",
            line=1,
        )
    warnings: list[str] = []
    others = [c for c in POWER_COLUMNS if c in cols and c != power_col]
    if others:
        warnings.append(f"using {power_col}; ignoring {', '.join(others)}")

    # repeated header lines (several logs appended into one file)
    is_header = pl.col("timestamp").str.to_lowercase().fill_null("") == "timestamp"
    f = f.with_columns(is_header.alias("is_header"))
    data = f.filter(~pl.col("is_header"))

    data = data.with_columns(
        pl.col("timestamp").str.replace(r"^(\d{4})/(\d{2})/(\d{2})[ T]", "${1}-${2}-${3} ")
        .alias("ts_norm")
    )  # fmt: skip
    data, split_warning = _split(data, cols)
    if split_warning:
        warnings.append(split_warning)
    times = to_utc(data["timestamp"], tz, source=table.source, lines=data["line"])
    data = data.with_columns(times["at"].alias("measured_at"), times["reason"].alias("ts_reason"))

    m = pl.col(power_col).str.strip_chars().str.extract_groups(_VALUE)
    unit = pl.coalesce(
        pl.when(m.struct.field("2") != "").then(m.struct.field("2").str.to_lowercase()),
        pl.lit(header_units.get(power_col) or "w"),
    )
    factor = unit.replace_strict(UNIT_FACTORS, default=None, return_dtype=pl.Float64)
    power = m.struct.field("1").cast(pl.Float64, strict=False) * factor
    missing = pl.col(power_col).is_null() | pl.col(power_col).str.to_lowercase().is_in(MISSING)
    data = data.with_columns(power.alias("power_w"), missing.alias("missing"))

    keys = data.select("gpu_key").unique(maintain_order=True)["gpu_key"].to_list()
    single = len(keys) == 1
    prefix = meter or "nvidia-smi"
    meter_of = {k: (meter if single and meter else f"{prefix}:{k}") for k in keys}
    data = data.with_columns(
        pl.col("gpu_key").replace_strict(meter_of, return_dtype=pl.String).alias("meter_id")
    )
    reason = pl.coalesce(
        pl.col("ts_reason"),
        pl.when(pl.col("missing")).then(
            pl.format("gap: {} is '{}' (no reading)", pl.lit(power_col), pl.col(power_col))
        ),
        pl.when(pl.col("power_w").is_null()).then(
            pl.format("{} '{}' is not a power in W", pl.lit(power_col), pl.col(power_col))
        ),
        pl.when(pl.col("power_w") < 0).then(pl.format("power {} W is negative", "power_w")),
    )
    data = data.with_columns(reason.alias("reason"))
    good = data.filter(pl.col("reason").is_null())
    bad = pl.concat(
        [
            data.filter(pl.col("reason").is_not_null())
            .with_columns((pl.col("missing") & pl.col("ts_reason").is_null()).alias("is_gap"))
            .select(
                "line",
                "reason",
                pl.when("is_gap").then(pl.col("meter_id")).alias("meter_id"),
                pl.when("is_gap").then(pl.col("measured_at")).alias("measured_at"),
                "is_gap",
            ),
            f.filter(pl.col("is_header")).select(
                "line",
                pl.lit("repeated header line").alias("reason"),
                pl.lit(None, pl.String).alias("meter_id"),
                pl.lit(None, pl.Datetime("us")).alias("measured_at"),
                pl.lit(False).alias("is_gap"),
            ),
        ]
    ).sort("line")
    readings = good.select(
        pl.col("line").alias("line_number"), "meter_id", "measured_at", "power_w"
    )
    meters = _meters(data, meter_of, meter_kind, zone, table.path.name)
    return table.batch(
        "power",
        "nvidia-smi",
        f,
        {"power_readings": readings, "meters": meters},
        bad=bad,
        options={
            "tz": tz,
            "meter": meter,
            "meter_kind": meter_kind,
            "zone": zone,
            "power_column": power_col,
        },
        warnings=warnings,
    )


def _poll_threshold(steps: list[int]) -> int:
    """Largest step (us, in file order) still inside one poll, or 0 when rows are not grouped.

    The rows of one poll are written microseconds to milliseconds apart (or with one timestamp),
    polls an interval apart. A threshold is a jump (x5 or more) in the sorted steps; it is taken
    when the polls it makes are regular: most of 3+ polls have the same size, 2 to 16 rows."""
    ordered = sorted(set(steps))
    for lo, hi in itertools.pairwise(ordered):
        if hi < 5 * max(lo, 1000):
            continue
        sizes, size = [], 1
        for st in steps:
            if st > lo:
                sizes.append(size)
                size = 1
            else:
                size += 1
        sizes.append(size)
        mode = max(set(sizes), key=sizes.count)
        if len(sizes) >= 3 and 2 <= mode <= 16 and sizes.count(mode) >= 0.5 * len(sizes):
            return lo
    return 0


def _polls(data: pl.DataFrame) -> pl.DataFrame:
    """Number each row's poll (rows of several GPUs written together) and its position in it."""
    local = (
        pl.col("ts_norm")
        .str.extract(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)")
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False)
    )
    step = data.select(local.diff().dt.total_microseconds().alias("step"))["step"]
    threshold = _poll_threshold([max(int(x), 0) for x in step.drop_nulls().to_list()])
    new_poll = step.is_null() | (step > threshold) | (step < 0)
    poll = new_poll.cast(pl.Int64).cum_sum()
    out = data.with_columns(poll.alias("poll"))
    return out.with_columns(pl.int_range(pl.len()).over("poll").alias("position"))


def _split(data: pl.DataFrame, cols: list[str]) -> tuple[pl.DataFrame, str | None]:
    """``data`` with ``gpu_key`` naming each row's GPU, and a warning when it had to be inferred."""
    present = [c for c in DEVICE_COLUMNS if c in cols]
    if present:
        varying = [c for c in present if data.select(pl.col(c).n_unique()).item() > 1]
        if not varying:
            return data.with_columns(pl.col(present[0]).alias("gpu_key")), None
        combined = pl.concat_str([pl.col(c).fill_null("") for c in varying], separator="/")
        n_gpus = data.select(combined.n_unique()).item()
        alone = next(
            (c for c in varying if data.select(pl.col(c).n_unique()).item() == n_gpus), None
        )
        return data.with_columns((pl.col(alone) if alone else combined).alias("gpu_key")), None
    data = _polls(data)
    sizes = data.group_by("poll").len()["len"] if data.height else pl.Series([1])
    n_pos = int(sizes.mode().max() or 1) if data.height else 1
    static = [c for c in STATIC_COLUMNS if c in cols]
    if static and data.height:
        key = pl.concat_str([pl.col(c).fill_null("") for c in static], separator="|")
        n_key = data.select(key.n_unique()).item()
        if n_key > 1 and n_key >= n_pos:
            labels = data.select(key.unique(maintain_order=True)).to_series().to_list()
            mapping = {v: f"gpu{i}" for i, v in enumerate(labels)}
            return data.with_columns(
                key.replace_strict(mapping, return_dtype=pl.String).alias("gpu_key")
            ), (
                f"no uuid/pci.bus_id/index/gpu column: {n_key} GPUs told apart by "
                f"{', '.join(static)}; add uuid to --query-gpu for a stable meter id"
            )
    if n_pos > 1:
        uneven = int((sizes != n_pos).sum())
        note = f"; {uneven} polls did not have {n_pos} rows" if uneven else ""
        return data.with_columns(pl.format("gpu{}", "position").alias("gpu_key")), (
            f"no uuid/pci.bus_id/index/gpu column: rows of {n_pos} GPUs interleave, told apart by "
            f"their position within each poll{note}; add uuid to --query-gpu"
        )
    return data.with_columns(pl.lit("gpu0").alias("gpu_key")), None


def _meters(data, meter_of, meter_kind, zone, filename) -> pl.DataFrame:
    extra = [c for c in ("name", "index", "pci.bus_id", "uuid") if c in data.columns]
    rows = []
    for key, meter_id in meter_of.items():
        first = data.filter(pl.col("gpu_key") == key).head(1)
        bits = [f"{c}={first[c][0]}" for c in extra if first.height and first[c][0]]
        rows.append(
            {
                "meter_id": meter_id,
                "meter_kind": meter_kind,
                "zone": zone,
                "source_format": "nvidia-smi",
                "description": f"GPU power from nvidia-smi log {filename}"
                + (f" ({', '.join(bits)})" if bits else ""),
            }
        )
    return pl.DataFrame(
        rows,
        schema={"meter_id": pl.String, "meter_kind": pl.String, "zone": pl.String,
                "source_format": pl.String, "description": pl.String},
    )  # fmt: skip
