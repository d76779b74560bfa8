"""Reading the marts, read-only, into polars frames.

Columns are read by name. A missing *required* column stops with an error naming the table and
the column; a missing *optional* table or column becomes a null column and a note the report
shows, so that a mart that lands slightly different still gives a report that says what it lacks.

With ``since``, runs started before that date are left out and the per-model efficiency is
recomputed from the remaining runs (same rules as ``fct_model_efficiency``: complete inference
runs of the model's chosen meter kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from flopwatt.core.errors import FlopwattError


class MartError(FlopwattError):
    """A mart the report needs is missing, or lacks a column the report needs."""


# table -> (required columns, optional columns). Optional ones become null when absent.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "marts.fct_model_efficiency": (
        ("model_name", "gflops", "energy_per_inference_j_mean"),
        (
            "weights",
            "family",
            "params",
            "top1_acc_pct",
            "top5_acc_pct",
            "top1_err_pct",
            "top5_err_pct",
            "n_runs",
            "n_complete_runs",
            "meter_kind",
            "energy_per_inference_j_std",
            "energy_kwh_mean",
            "mean_power_w",
            "time_per_inference_ms_mean",
            "co2_g_per_1000_inferences",
            "j_per_gflop",
            "carbon_intensity_g_per_kwh",
            "carbon_source",
            "profile_choice",
            "energy_scope",
            "gpu_energy_per_inference_j_mean",
            "cpu_energy_per_inference_j_mean",
            "dram_energy_per_inference_j_mean",
            "wall_energy_per_inference_j_mean",
        ),
    ),
    "marts.dim_models": (
        ("model_name", "gflops"),
        (
            "weights",
            "family",
            "macs",
            "macs_thop",
            "params",
            "top1_acc_pct",
            "top5_acc_pct",
            "top1_err_pct",
            "top5_err_pct",
            "macs_source",
            "accuracy_source",
            "flops_per_epoch",
            "pf_days_per_epoch",
        ),
    ),
    "marts.fct_run_energy": (
        ("run_id", "model_name", "started_at"),
        (
            "weights",
            "phase",
            "meter_id",
            "meter_kind",
            "ended_at",
            "duration_s",
            "n_inferences",
            "energy_j",
            "energy_kwh",
            "mean_power_w",
            "energy_per_inference_j",
            "time_per_inference_ms",
            "readings_count",
            "max_gap_s",
            "coverage_ratio",
            "is_complete",
            "has_overlap",
            "baseline_power_w",
            "net_energy_j",
            "carbon_intensity_g_per_kwh",
            "co2_g",
            "carbon_source",
            "carbon_data_year",
            "energy_per_gflop_j",
            "host_id",
            "energy_scope",
            "unmetered_components",
            "gpu_energy_j",
            "cpu_energy_j",
            "dram_energy_j",
            "wall_energy_j",
        ),
    ),
    "marts.rpt_reference_inference": (
        ("model", "GFLOPS", "empirical (kWh)", "kg CO2e", "top1score", "top5score"),
        (),
    ),
    "marts.fct_data_quality": ((), ()),  # any shape: shown as it is
    "staging.stg_raw__quarantined_rows": ((), ()),
    "staging.stg_raw__loads": ((), ()),
}
# Tables whose absence stops the report; the rest are optional.
REQUIRED_TABLES = ("marts.fct_model_efficiency", "marts.dim_models")
# Sort keys that make every read deterministic.
ORDER_BY = {
    "marts.fct_model_efficiency": ("model_name", "weights"),
    "marts.dim_models": ("model_name", "weights"),
    "marts.fct_run_energy": ("started_at", "run_id", "meter_id"),
    "marts.rpt_reference_inference": ("model",),
    "staging.stg_raw__quarantined_rows": ("load_id", "line_number"),
    "staging.stg_raw__loads": ("load_id",),
}
FLOAT_TYPES = {"gflops", "params", "energy_per_inference_j_mean"}
# preference when choosing a meter kind for a model (wall: what the study measured)
METER_PREFERENCE = ("wall", "gpu", "cpu_package", "dram", "estimate")
# the same for the scope of runs' totals (fct_model_efficiency's order; single-meter runs rank as
# their meter kind above)
SCOPE_PREFERENCE = ("wall", "components", "gpu_only", "cpu_package_only", "dram_only", "estimate")


@dataclass
class MartData:
    efficiency: pl.DataFrame  # one row per model (with runs)
    models: pl.DataFrame  # one row per profiled model
    runs: pl.DataFrame | None = None  # one row per run x meter
    reference: pl.DataFrame | None = None  # rpt_reference_inference, when present
    data_quality: pl.DataFrame | None = None
    quarantined: pl.DataFrame | None = None
    loads: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)  # what was missing or left out, for the report
    db_path: str = ""
    since: date | None = None

    def tables(self) -> dict[str, pl.DataFrame]:
        """Every frame present, by export name."""
        named = {
            "fct_model_efficiency": self.efficiency,
            "dim_models": self.models,
            "fct_run_energy": self.runs,
            "rpt_reference_inference": self.reference,
            "fct_data_quality": self.data_quality,
            "stg_raw__quarantined_rows": self.quarantined,
            "stg_raw__loads": self.loads,
        }
        return {k: v for k, v in named.items() if v is not None}


def _existing(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "select table_schema || '.' || table_name, column_name from information_schema.columns "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    existing: dict[str, list[str]],
    notes: list[str],
) -> pl.DataFrame | None:
    """Read one table by column name; None (and a note) when an optional table is missing."""
    required, optional = TABLES[table]
    if table not in existing:
        if table in REQUIRED_TABLES:
            raise MartError(
                f"table {table} is missing from the warehouse: run `flopwatt build` first"
            )
        notes.append(f"table {table} is not in the warehouse; its section is left out")
        return None
    have = existing[table]
    missing = [c for c in required if c not in have]
    if missing:
        raise MartError(
            f"table {table} lacks column(s) {', '.join(missing)} that the report needs "
            f"(it has: {', '.join(have)})"
        )
    if required or optional:
        cols = [*required, *[c for c in optional if c in have]]
        absent = [c for c in optional if c not in have]
        if absent:
            notes.append(f"{table}: column(s) {', '.join(absent)} missing; shown as empty")
    else:
        cols, absent = list(have), []
    order = [c for c in ORDER_BY.get(table, ()) if c in have]
    sql = f"select {', '.join(_quote(c) for c in cols)} from {table}"
    if order:
        sql += " order by " + ", ".join(f"{_quote(c)} nulls first" for c in order)
    frame = con.sql(sql).pl()
    if absent:
        frame = frame.with_columns(pl.lit(None).alias(c) for c in absent)
    casts = [pl.col(c).cast(pl.Float64) for c in FLOAT_TYPES if c in frame.columns]
    return frame.with_columns(casts) if casts else frame


def load_marts(
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    since: date | None = None,
) -> MartData:
    """Read the marts (opening the warehouse read-only unless ``con`` is given)."""
    from flopwatt.core.db import connect

    own = con is None
    if own:
        con = connect(read_only=True)
    notes: list[str] = []
    try:
        existing = _existing(con)
        frames = {t: read_table(con, t, existing, notes) for t in TABLES}
        db_file = con.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchone()
    finally:
        if own:
            con.close()
    data = MartData(
        efficiency=frames["marts.fct_model_efficiency"],
        models=frames["marts.dim_models"],
        runs=frames["marts.fct_run_energy"],
        reference=frames["marts.rpt_reference_inference"],
        data_quality=frames["marts.fct_data_quality"],
        quarantined=frames["staging.stg_raw__quarantined_rows"],
        loads=frames["staging.stg_raw__loads"],
        notes=notes,
        db_path=str(Path(db_file[0])) if db_file and db_file[0] else "",
        since=since,
    )
    if since is not None:
        data = restrict_since(data, since)
    return data


def _scope_column(runs: pl.DataFrame, efficiency: pl.DataFrame) -> tuple[str, tuple[str, ...]]:
    """Which column tells runs of different scopes apart: energy_scope when the marts have it."""
    if all("energy_scope" in f.columns and f["energy_scope"].null_count() < f.height
           for f in (runs, efficiency)):  # fmt: skip
        return "energy_scope", SCOPE_PREFERENCE
    return "meter_kind", METER_PREFERENCE


def _pick_meter_kind(runs: pl.DataFrame, efficiency: pl.DataFrame, col: str = "meter_kind",
                     preference: tuple[str, ...] = METER_PREFERENCE) -> pl.DataFrame:  # fmt: skip
    """model_name -> ``col`` (meter kind or scope): the mart's choice when it made one, else by
    preference."""
    rank = {k: i for i, k in enumerate(preference)}
    ranked = (
        runs.select("model_name", col)
        .unique()
        .with_columns(pl.col(col).replace_strict(rank, default=len(rank)).alias("_rank"))
        .sort("model_name", "_rank", col)
        .group_by("model_name", maintain_order=True)
        .first()
        .select("model_name", col)
    )
    chosen = efficiency.select("model_name", pl.col(col).alias("_chosen")).unique(
        "model_name", keep="first"
    )
    return (
        ranked.join(chosen, on="model_name", how="left")
        .select("model_name", pl.coalesce("_chosen", col).alias(col))
        .sort("model_name")
    )


def restrict_since(data: MartData, since: date) -> MartData:
    """Keep runs started on or after ``since`` and recompute the per-model efficiency from them."""
    if data.runs is None:
        data.notes.append(
            f"--since {since}: marts.fct_run_energy is missing, so the efficiency table is "
            "shown unfiltered"
        )
        return data
    start = datetime(since.year, since.month, since.day)
    runs = data.runs.filter(pl.col("started_at") >= start)
    data.runs = runs
    usable = runs.filter(
        (pl.col("phase").fill_null("inference") == "inference")
        & pl.col("is_complete").fill_null(True)
        & pl.col("energy_per_inference_j").is_not_null()
    )
    col, preference = _scope_column(usable, data.efficiency)
    kinds = _pick_meter_kind(usable, data.efficiency, col, preference)
    usable = usable.join(kinds, on=["model_name", col], how="semi")
    counts = runs.group_by("model_name").agg(
        pl.col("run_id").n_unique().alias("n_runs"),
        pl.col("run_id").filter(pl.col("is_complete").fill_null(True)).n_unique()
        .alias("n_complete_runs"),
    )  # fmt: skip
    agg = usable.group_by("model_name").agg(
        pl.col("meter_kind").first(),
        *([pl.col("energy_scope").first()] if "energy_scope" in usable.columns else []),
        pl.col("energy_per_inference_j").mean().alias("energy_per_inference_j_mean"),
        pl.col("energy_per_inference_j").std().alias("energy_per_inference_j_std"),
        pl.col("energy_kwh").mean().alias("energy_kwh_mean"),
        pl.col("mean_power_w").mean(),
        pl.col("time_per_inference_ms").mean().alias("time_per_inference_ms_mean"),
        (pl.col("co2_g").sum() / pl.col("n_inferences").sum() * 1000).alias(
            "co2_g_per_1000_inferences"
        ),
        pl.col("carbon_intensity_g_per_kwh").mean(),
        pl.col("carbon_source").drop_nulls().sort().first(),
    )
    model_cols = [
        c
        for c in ("model_name", "weights", "family", "gflops", "params", "top1_acc_pct",
                  "top5_acc_pct", "top1_err_pct", "top5_err_pct")
        if c in data.models.columns
    ]  # fmt: skip
    models = data.models.select(model_cols).unique("model_name", keep="first")
    eff = (
        agg.join(counts, on="model_name", how="left")
        .join(models, on="model_name", how="left")
        .with_columns(
            (pl.col("energy_per_inference_j_mean") / pl.col("gflops")).alias("j_per_gflop"),
            pl.lit(f"runs since {since.isoformat()}").alias("profile_choice"),
        )
        .sort("model_name")
    )
    keep = [c for c in data.efficiency.columns if c in eff.columns]
    data.efficiency = eff.select(keep).with_columns(
        pl.col(c).cast(data.efficiency.schema[c]) for c in keep
    )
    data.notes.append(
        f"--since {since}: {runs.height} run row(s) started on or after {since}; "
        f"per-model efficiency recomputed from them ({data.efficiency.height} model(s))"
    )
    if data.reference is not None:
        data.reference = None  # the reference-shaped table is rebuilt from the filtered runs
    return data


def reference_shape(data: MartData) -> pl.DataFrame:
    """``cv_inference.csv`` as the study wrote it: model, GFLOPS, empirical (kWh per run of the
    study's size), kg CO2e, top1score, top5score. From ``rpt_reference_inference`` when the mart
    exists (and no --since), else derived from the efficiency table."""
    cols = ["model", "GFLOPS", "empirical", "kg CO2e", "top1score", "top5score"]
    if data.reference is not None:
        return data.reference.rename({"empirical (kWh)": "empirical"}).select(cols).sort("model")
    e = data.efficiency
    co2_g_per_run = pl.col("energy_kwh_mean") * pl.col("carbon_intensity_g_per_kwh").cast(
        pl.Float64
    )
    return e.select(
        pl.col("model_name").alias("model"),
        pl.col("gflops").alias("GFLOPS"),
        pl.col("energy_kwh_mean").cast(pl.Float64).alias("empirical"),
        (co2_g_per_run / 1000).alias("kg CO2e"),
        pl.col("top1_acc_pct").cast(pl.Float64).alias("top1score"),
        pl.col("top5_acc_pct").cast(pl.Float64).alias("top5score"),
    ).sort("model")
