"""Accuracy tables ``model,top1,top5``. Whether the numbers are accuracies or errors (the reference
study's ``accuracy.csv`` holds top-1/top-5 **error** %) must be said with ``--as``: no guessing.

A missing metric (empty, ``nan``, ``n/a``: weights published without an ImageNet score) is null,
never NaN; a row with neither metric is quarantined."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch
from flopwatt.ingest.tabular import first_reason, numeric, read_table

from flopwatt.core.errors import OptionError

MEANINGS = ("error", "accuracy")
MISSING = ("", "nan", "n/a", "na", "-")


def parse(path: Path | str, *, as_: str | None, dataset: str = "ImageNet-1K") -> Batch:
    if as_ not in MEANINGS:
        raise OptionError(
            "say what the top1/top5 columns hold with --as error or --as accuracy "
            "(percentages; the reference study's accuracy.csv holds errors)"
        )
    table = read_table(path)
    table.require("model", "top1", "top5", format_name="accuracy (model,top1,top5)")
    f = table.frame
    missing = {
        c: pl.col(c).is_null() | pl.col(c).str.to_lowercase().is_in(MISSING)
        for c in ("top1", "top5")
    }
    top1, top1_reason = numeric("top1")
    top5, top5_reason = numeric("top5")
    top1 = pl.when(~missing["top1"]).then(top1)
    top5 = pl.when(~missing["top5"]).then(top5)
    top1_reason = pl.when(~missing["top1"]).then(top1_reason)
    top5_reason = pl.when(~missing["top5"]).then(top5_reason)

    def pct_range(v: pl.Expr, what: str) -> pl.Expr:
        return pl.when((v < 0) | (v > 100)).then(pl.format(f"{what} {{}} is outside 0-100 %", v))

    to_acc = (lambda v: 100.0 - v) if as_ == "error" else (lambda v: v)
    f = f.with_columns(
        to_acc(top1).alias("top1_acc_pct"),
        to_acc(top5).alias("top5_acc_pct"),
        first_reason(
            pl.when(pl.col("model").is_null() | (pl.col("model") == "")).then(
                pl.lit("model name is empty")
            ),
            pl.when(missing["top1"] & missing["top5"]).then(
                pl.lit("no accuracy: top1 and top5 are both missing")
            ),
            top1_reason,
            top5_reason,
            pct_range(top1, "top1"),
            pct_range(top5, "top5"),
            pl.when(to_acc(top5) < to_acc(top1)).then(
                pl.lit("top-5 accuracy below top-1 accuracy (columns swapped, or wrong --as?)")
            ),
        ).alias("reason"),
    )
    weights = pl.col("weights") if "weights" in f.columns else pl.lit(None, pl.String)
    good = f.filter(pl.col("reason").is_null())
    rows = good.select(
        pl.col("line").alias("line_number"),
        pl.col("model").alias("model_name"),
        pl.when(weights != "").then(weights).alias("weights"),
        "top1_acc_pct",
        "top5_acc_pct",
        pl.lit(dataset).alias("dataset"),
        pl.lit(f"file {table.path.name} (as {as_})").alias("source"),
    )
    return table.batch(
        "accuracy", "accuracy-csv", f, {"accuracy": rows}, {"as": as_, "dataset": dataset}
    )
