"""FLOP profiles from a file: ``model,macs,parameters`` (the reference study's ``models.txt``,
counted with thop). ``weights`` may be a column; it stays null when absent."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch
from flopwatt.ingest.tabular import first_reason, numeric, read_table


def parse(path: Path | str, *, counter: str = "thop") -> Batch:
    table = read_table(path)
    table.require("model", "macs", "parameters", format_name="flops (model,macs,parameters)")
    f = table.frame
    macs, macs_reason = numeric("macs")
    params, params_reason = numeric("parameters")
    weights = pl.col("weights") if "weights" in f.columns else pl.lit(None, pl.String)
    f = f.with_columns(
        macs.alias("macs_v"),
        params.alias("params_v"),
        first_reason(
            pl.when(pl.col("model").is_null() | (pl.col("model") == "")).then(
                pl.lit("model name is empty")
            ),
            macs_reason,
            params_reason,
            pl.when(macs <= 0).then(pl.lit("macs must be positive")),
            pl.when((params <= 0) | (params != params.round(0))).then(
                pl.lit("parameters must be a positive whole number")
            ),
        ).alias("reason"),
    )
    good = f.filter(pl.col("reason").is_null())
    source = f"file {table.path.name} ({counter})"
    profiles = good.select(
        pl.col("line").alias("line_number"),
        pl.col("model").alias("model_name"),
        pl.when(weights != "").then(weights).alias("weights"),
        pl.col("macs_v").alias("macs"),
        pl.lit(f"{counter} (file)").alias("macs_counter"),
        pl.col("macs_v").alias("macs_thop") if counter == "thop" else pl.lit(None, pl.Float64),
        pl.col("params_v").cast(pl.Int64).alias("params"),
        pl.lit(source).alias("source"),
    )
    return table.batch("flops", "flops-csv", f, {"flop_profiles": profiles}, {"counter": counter})
