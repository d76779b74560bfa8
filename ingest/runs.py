"""Run intervals (``model,start_time,end_time`` plus optional ``n_inferences, batch_size, meter_id,
weights, phase, host, devices``) like the reference study's ``pm.csv``. Naive local times need
``--tz``."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch
from flopwatt.ingest.tabular import first_reason, read_table
from flopwatt.ingest.timeparse import to_utc

from flopwatt.core.errors import OptionError

PHASES = ("inference", "training", "idle")


def run_id(
    model_name: str, started_at: datetime, ended_at: datetime, meter_id: str | None, phase: str
) -> str:
    """Deterministic id of a run: the same interval of the same model on the same meter."""
    key = f"{model_name}|{started_at.isoformat()}|{ended_at.isoformat()}|{meter_id or ''}|{phase}"
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def run_id_expr() -> pl.Expr:
    """:func:`run_id` of each row (model_name, started_at, ended_at, meter_id, phase)."""
    return pl.struct("model_name", "started_at", "ended_at", "meter_id", "phase").map_elements(
        lambda r: run_id(
            r["model_name"], r["started_at"], r["ended_at"], r["meter_id"], r["phase"]
        ),
        return_dtype=pl.String,
    )


def run_rows(good: pl.DataFrame, source_format: str, **columns: pl.Expr) -> pl.DataFrame:
    """The ``raw.runs`` rows of a parser's accepted rows: ``good`` holds ``line``, ``model_name``,
    ``phase``, ``started_at``, ``ended_at`` and ``meter_id`` (the run's key); ``columns`` the
    format's other columns by name (the loader inserts by name: a column left out is null)."""
    return good.select(
        pl.col("line").alias("line_number"),
        run_id_expr().alias("run_id"),
        "model_name",
        "phase",
        "started_at",
        "ended_at",
        "meter_id",
        *(expr.alias(name) for name, expr in columns.items()),
        pl.lit(source_format).alias("source_format"),
    )


def _int_col(f: pl.DataFrame, name: str, default: int | None, what: str) -> tuple[pl.Expr, pl.Expr]:
    if name not in f.columns:
        return pl.lit(default, pl.Int64), pl.lit(None, pl.String)
    raw = pl.col(name)
    value = raw.cast(pl.Float64, strict=False)
    empty = raw.is_null() | (raw == "")
    reason = (
        pl.when(empty)
        .then(pl.lit(None, pl.String))
        .when(value.is_null() | (value != value.round(0)) | (value <= 0))
        .then(pl.format(f"{what} {{}} is not a positive whole number", raw))
    )
    out = (
        pl.when(empty).then(pl.lit(default, pl.Int64)).otherwise(value.cast(pl.Int64, strict=False))
    )
    return out, reason


def parse(
    path: Path | str,
    *,
    tz: str | None = None,
    inferences: int | None = None,
    batch_size: int | None = None,
    meter: str | None = None,
    phase: str = "inference",
) -> Batch:
    if phase not in PHASES:
        raise OptionError(f"unknown phase {phase!r}: one of {', '.join(PHASES)}")
    table = read_table(path)
    hint = (
        "; it looks like CodeCarbon's emissions.csv: load it with --format codecarbon"
        if {"duration", "energy_consumed"} <= set(table.columns)
        else ""
    )
    table.require("model", "start_time", "end_time", format_name="runs", hint=hint)
    f = table.frame
    start = to_utc(f["start_time"], tz, source=table.source)
    end = to_utc(f["end_time"], tz, source=table.source)
    n_inf, n_reason = _int_col(f, "n_inferences", inferences, "n_inferences")
    bsz, b_reason = _int_col(f, "batch_size", batch_size, "batch_size")
    meter_expr = pl.col("meter_id") if "meter_id" in f.columns else pl.lit(None, pl.String)
    meter_expr = pl.coalesce(pl.when(meter_expr != "").then(meter_expr), pl.lit(meter, pl.String))
    weights = pl.col("weights") if "weights" in f.columns else pl.lit(None, pl.String)
    phase_expr = pl.col("phase") if "phase" in f.columns else pl.lit(phase)
    phase_expr = (
        pl.when(phase_expr.is_null() | (phase_expr == ""))
        .then(pl.lit(phase))
        .otherwise(phase_expr.str.to_lowercase())
    )
    f = f.with_columns(
        pl.col("model").alias("model_name"),
        start["at"].alias("started_at"),
        end["at"].alias("ended_at"),
        start["reason"].alias("start_reason"),
        end["reason"].alias("end_reason"),
        n_inf.alias("n_inferences"),
        bsz.cast(pl.Int32).alias("batch_size"),
        meter_expr.alias("meter_id"),
        pl.when(weights != "").then(weights).alias("weights"),
        phase_expr.alias("phase"),
        n_reason.alias("n_reason"),
        b_reason.alias("b_reason"),
    )
    reason = first_reason(
        pl.when(pl.col("model_name").is_null() | (pl.col("model_name") == "")).then(
            pl.lit("model name is empty")
        ),
        pl.format("start_time: {}", pl.col("start_reason")),
        pl.format("end_time: {}", pl.col("end_reason")),
        pl.when(pl.col("ended_at") <= pl.col("started_at")).then(
            pl.lit("end_time is not after start_time")
        ),
        pl.when(~pl.col("phase").is_in(PHASES)).then(
            pl.format("unknown phase '{}'", pl.col("phase"))
        ),
        pl.col("n_reason"),
        pl.col("b_reason"),
    )
    f = f.with_columns(reason.alias("reason"))
    good = f.filter(pl.col("reason").is_null())
    # the run's host and devices (README "Whole-machine energy"), when the file names them
    named = {
        c: pl.when(pl.col(c) != "").then(pl.col(c)) if c in f.columns else pl.lit(None, pl.String)
        for c in ("host", "devices")
    }
    runs = run_rows(
        good,
        "runs-csv",
        weights=pl.col("weights"),
        n_inferences=pl.col("n_inferences"),
        batch_size=pl.col("batch_size"),
        **named,
    )
    return table.batch(
        "runs",
        "runs-csv",
        f,
        {"runs": runs},
        {
            "tz": tz,
            "inferences": inferences,
            "batch_size": batch_size,
            "meter": meter,
            "phase": phase,
        },
    )
