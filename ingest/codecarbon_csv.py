"""CodeCarbon's ``emissions.csv`` -> ``raw.runs`` with the energy CodeCarbon measured.

Every column generation is read; only ``timestamp, duration, energy_consumed`` are required:
- 1.x: ``timestamp, [experiment_id,] project_name, duration, emissions, energy_consumed,
  country_name, country_iso_code, region, on_cloud, cloud_provider, cloud_region``;
- 2.x: adds ``run_id, emissions_rate, cpu_power, gpu_power, ram_power, cpu_energy, gpu_energy,
  ram_energy, os, python_version, [codecarbon_version,] cpu_count, cpu_model, gpu_count, gpu_model,
  longitude, latitude, ram_total_size, tracking_mode[, pue]`` (``experiment_id`` again from 2.4);
- 3.x: adds ``water_consumed, cpu_utilization_percent, gpu_utilization_percent,
  ram_utilization_percent, ram_used_gb, wue``.

``timestamp`` is when the tracker stopped, written with ``datetime.now()``: naive local time to the
second, so ``--tz`` is required; the run is ``[timestamp - duration, timestamp]``.
``energy_consumed`` is kWh -> ``measured_energy_j``. The model is ``--model`` or ``project_name``.
``country_iso_code`` (alpha-3; alpha-2 is converted) is the run's ``zone``: the grid zone of a run
whose meter does not give one (a CodeCarbon run has no meter unless ``--meter`` names one).
A tracker that flushed several times appends cumulative rows with the same ``run_id``: the last
(longest) row is the run, earlier ones are quarantined as superseded.

These runs carry ``source_format = 'codecarbon'``; tying them to runs logged by flopwatt is done in
dbt by time overlap (the interval of a CodeCarbon row contains or overlaps a flopwatt run).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from flopwatt.ingest.carbon_series import alpha3
from flopwatt.ingest.loader import Batch
from flopwatt.ingest.runs import PHASES, run_rows
from flopwatt.ingest.tabular import first_reason, numeric, read_table
from flopwatt.ingest.timeparse import to_utc

from flopwatt.core.errors import OptionError

KWH_J = 3.6e6


def parse(
    path: Path | str,
    *,
    tz: str | None,
    model: str | None = None,
    phase: str = "inference",
    meter: str | None = None,
    inferences: int | None = None,
) -> Batch:
    if phase not in PHASES:
        raise OptionError(f"unknown phase {phase!r}: one of {', '.join(PHASES)}")
    table = read_table(path)
    table.require(
        "timestamp", "duration", "energy_consumed", format_name="CodeCarbon emissions.csv"
    )
    f = table.frame
    end = to_utc(f["timestamp"], tz, source=table.source)
    duration, duration_reason = numeric("duration")
    energy, energy_reason = numeric("energy_consumed")
    name = pl.lit(model) if model else (
        pl.col("project_name") if "project_name" in f.columns else pl.lit(None, pl.String)
    )  # fmt: skip
    f = f.with_columns(
        end["at"].alias("ended_at"),
        end["reason"].alias("end_reason"),
        duration.alias("duration_s"),
        (energy * KWH_J).alias("measured_energy_j"),
        name.alias("model_name"),
    )
    f = f.with_columns(
        (pl.col("ended_at") - pl.duration(microseconds=(pl.col("duration_s") * 1e6).round(0)))
        .alias("started_at")
    )  # fmt: skip
    reason = first_reason(
        pl.format("timestamp: {}", pl.col("end_reason")),
        duration_reason,
        energy_reason,
        pl.when(pl.col("duration_s") <= 0).then(pl.lit("duration is not positive")),
        pl.when(pl.col("measured_energy_j") < 0).then(pl.lit("energy_consumed is negative")),
        pl.when(pl.col("model_name").is_null() | (pl.col("model_name") == "")).then(
            pl.lit("no project_name: name the model with --model")
        ),
    )
    f = f.with_columns(reason.alias("reason"))
    if "run_id" in f.columns:
        # cumulative rows of one tracker: keep the longest, quarantine the others
        ok = f.filter(pl.col("reason").is_null() & (pl.col("run_id").fill_null("") != ""))
        final = ok.sort("duration_s", "line").group_by("run_id").agg(pl.col("line").last())
        final_line = dict(zip(final["run_id"], final["line"], strict=True))
        superseded = (
            pl.col("reason").is_null()
            & (pl.col("run_id").fill_null("") != "")
            & (pl.col("line") != pl.col("run_id").replace_strict(final_line, default=None))
        )
        f = f.with_columns(
            pl.when(superseded)
            .then(
                pl.format(
                    "superseded: a cumulative flush of CodeCarbon run {}, final row on line {}",
                    "run_id",
                    pl.col("run_id").replace_strict(final_line, default=None),
                )
            )
            .otherwise(pl.col("reason"))
            .alias("reason")
        )
    good = f.filter(pl.col("reason").is_null())
    gpu = pl.col("gpu_model") if "gpu_model" in f.columns else pl.lit(None, pl.String)
    cpu = pl.col("cpu_model") if "cpu_model" in f.columns else pl.lit(None, pl.String)
    gpu_count = (
        pl.col("gpu_count").cast(pl.Float64, strict=False)
        if "gpu_count" in f.columns
        else pl.lit(None, pl.Float64)
    )
    device = pl.when((gpu_count > 0) & (gpu != "")).then(gpu).otherwise(
        pl.when(cpu != "").then(cpu)
    )  # fmt: skip
    good = good.with_columns(
        pl.lit(meter, pl.String).alias("meter_id"), pl.lit(phase).alias("phase")
    )
    if "country_iso_code" in good.columns:
        iso = pl.col("country_iso_code")
        zone = pl.when(iso.is_not_null() & (iso != "")).then(
            iso.map_elements(alpha3, return_dtype=pl.String)
        )
    else:
        zone = pl.lit(None, pl.String)
    runs = run_rows(
        good,
        "codecarbon",
        n_inferences=pl.lit(inferences, pl.Int64),
        device=device,
        measured_energy_j=pl.col("measured_energy_j"),
        zone=zone,
    )
    return table.batch(
        "runs",
        "codecarbon",
        f,
        {"runs": runs},
        {
            "tz": tz,
            "model": model,
            "phase": phase,
            "meter": meter,
            "inferences": inferences,
        },
    )
