"""Reading the marts, read-only, into polars frames.

Columns are read by name. A missing *required* column stops with an error naming the table and
the column; a missing *optional* table or column becomes a null column and a note the report
shows, so that a mart that lands slightly different still gives a report that says what it lacks.

With ``since``, runs started before that date are left out and the per-model efficiency is read
from ``marts.rpt_model_efficiency_since``: the SQL of ``fct_model_efficiency`` over the days since
then (the same sums, the same rules; see :func:`restrict_since`).
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
            "energy_per_gflop_j_mean",
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
# fct_model_efficiency over the runs since the session variable flopwatt_since (report --since)
SINCE_VIEW = "marts.rpt_model_efficiency_since"


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
    *,
    source: str | None = None,
) -> pl.DataFrame | None:
    """Read one table by column name; None (and a note) when an optional table is missing.
    ``source``: read that relation instead, with the columns ``TABLES`` gives for ``table``."""
    required, optional = TABLES[table]
    if source is not None:
        existing = {**existing, table: existing[source]}
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
    sql = f"select {', '.join(_quote(c) for c in cols)} from {source or table}"
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
            data = restrict_since(con, data, since, existing)
    finally:
        if own:
            con.close()
    return data


def restrict_since(
    con: duckdb.DuckDBPyConnection,
    data: MartData,
    since: date,
    existing: dict[str, list[str]],
) -> MartData:
    """Runs started on or after ``since``, and the per-model efficiency over them.

    The efficiency comes from ``marts.rpt_model_efficiency_since``, the view that divides the
    additive day rows of ``fct_model_efficiency_daily`` with the SQL of ``fct_model_efficiency``
    itself (macros/model_efficiency.sql), filtered by the session variable ``flopwatt_since``.
    """
    if data.runs is not None:
        start = datetime(since.year, since.month, since.day)
        data.runs = data.runs.filter(pl.col("started_at") >= start)
    if SINCE_VIEW not in existing:
        data.notes.append(
            f"--since {since}: {SINCE_VIEW} is missing (run `flopwatt build`), so the "
            "efficiency table is shown unfiltered"
        )
        return data
    con.execute(f"set variable flopwatt_since = date '{since.isoformat()}'")
    try:
        data.efficiency = read_table(
            con, "marts.fct_model_efficiency", existing, [], source=SINCE_VIEW
        )
    finally:
        con.execute("reset variable flopwatt_since")
    runs = "" if data.runs is None else f"{data.runs.height} run row(s) started on or after it; "
    data.notes.append(
        f"--since {since}: {runs}per-model efficiency over the runs since then "
        f"({data.efficiency.height} model(s))"
    )
    data.reference = None  # the reference-shaped table is rebuilt from the filtered efficiency
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
