"""The Spark side of ``bench/energy``: the same dbt models timed on Apache Spark (dbt-spark).

    python -m bench.energy_spark --readings 1000000 --runs 10000 [--meters 4] [--command run]

Standalone, it generates and loads the data set exactly as ``bench.energy`` does (same generator,
same loader), times ``dbt <command> --select +fct_run_energy`` on DuckDB, syncs the raw layer to
Spark, times the same command on Spark (``--target spark``, ``local[2]`` from profiles.yml), and
prints both with their ratio and the largest relative difference of ``fct_run_energy.energy_j``
between the engines.

From ``bench.energy --engine spark``: :func:`time_spark_build` (dbt wall seconds on Spark, after
the raw sync) or :func:`spark_build` (sync time, dbt time, the models' own times).

Every Spark step runs in a child process: dbt-spark's ``method: session`` starts a JVM inside dbt,
and the Derby metastore admits one process at a time. The dbt wall time includes starting that
JVM (~10-15 s), as a user's ``dbt run --target spark`` does; the models' own times do not.
Needs ``pip install -e .[spark]`` and Java 17.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flopwatt.spark_sync import (  # noqa: E402
    export_tables_subprocess,
    run_dbt_subprocess,
    sync_raw_subprocess,
)


@dataclass
class SparkBuild:
    sync_s: float  # DuckDB raw.* -> Parquet -> Spark tables (own process, includes a JVM start)
    dbt_s: float  # dbt wall time on Spark (subprocess, includes the JVM start)
    per_node: dict[str, float] = field(default_factory=dict)  # each model's own execution time
    work_dir: Path | None = None

    @property
    def models_s(self) -> float:
        return sum(self.per_node.values())


def _per_node(work_dir: Path) -> dict[str, float]:
    results = json.loads((work_dir / "target" / "run_results.json").read_text())
    return {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results["results"]}


def spark_build(
    duckdb_path: Path | str,
    select: str = "+fct_run_energy +fct_run_meter_energy",
    command: str = "run",
    *,
    spark_dir: Path | str | None = None,
    timeout: float = 3600,
) -> SparkBuild:
    """Sync ``duckdb_path``'s raw layer to Spark and time ``dbt <command> --select <select>`` there.

    ``spark_dir`` (warehouse, metastore, Parquet copies of raw, dbt's target/ and logs/) defaults to
    a fresh temp folder. ``FLOPWATT_SPARK_DRIVER_MEMORY`` and ``FLOPWATT_SPARK_SHUFFLE_PARTITIONS``
    tune the session (profiles.yml).
    """
    spark_dir = Path(spark_dir) if spark_dir else Path(tempfile.mkdtemp(prefix="flopwatt-spark-"))
    env = {"FLOPWATT_DB": str(Path(duckdb_path).resolve()), "FLOPWATT_SPARK_DIR": str(spark_dir)}
    sync_s = sync_raw_subprocess(duckdb_path, env=env, timeout=timeout)
    work = spark_dir / "dbt-spark"
    dbt_s = run_dbt_subprocess(
        ["--quiet", command, "--select", select],
        target="spark",
        env=env,
        work_dir=work,
        timeout=timeout,
    )
    return SparkBuild(sync_s, dbt_s, _per_node(work), spark_dir)


def time_spark_build(
    duckdb_path: Path | str, select: str = "+fct_run_energy +fct_run_meter_energy"
) -> float:
    """Seconds of ``dbt run --select <select> --target spark`` (after syncing the raw layer)."""
    return spark_build(duckdb_path, select).dbt_s


def spark_table(spark_dir: Path | str, name: str = "marts.fct_run_energy"):
    """A Spark table of a finished build as a polars frame (exported through Parquet)."""
    import polars as pl

    out = Path(spark_dir) / "export" / f"{name}.parquet"
    export_tables_subprocess({name: out}, env={"FLOPWATT_SPARK_DIR": str(spark_dir)})
    return pl.read_parquet(out)


def main(argv: list[str] | None = None) -> int:
    import duckdb
    import numpy as np

    from bench.energy import generate, load_into

    ap = argparse.ArgumentParser(
        prog="python -m bench.energy_spark", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--readings", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--meters", type=int, default=4)
    ap.add_argument("--command", choices=["run", "build"], default="run")
    ap.add_argument("--select", default="+fct_run_energy +fct_run_meter_energy")
    ap.add_argument(
        "--keep", action="store_true", help="keep the temp folder (DuckDB file, Spark dir)"
    )
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="flopwatt-bench-spark-"))
    db = tmp / "bench.duckdb"
    try:
        print(
            f"generating {args.readings:,} readings / {args.runs:,} runs / {args.meters} meters ..."
        )
        meters, runs = generate(args.readings, args.runs, args.meters)
        t_load = load_into(db, meters, runs)
        del meters, runs
        print(f"  loaded via ingest.loader in {t_load:.1f} s")

        env = {"FLOPWATT_DB": str(db), "FLOPWATT_SPARK_DIR": str(tmp / "spark")}
        duck_work = tmp / "dbt-duckdb"
        t_duck = run_dbt_subprocess(
            ["--quiet", args.command, "--select", args.select],
            target="duckdb",
            env=env,
            work_dir=duck_work,
            timeout=3600,
        )
        duck_nodes = _per_node(duck_work)
        print(f"  duckdb done in {t_duck:.1f} s; syncing raw to spark and building ...")
        sb = spark_build(db, args.select, args.command, spark_dir=tmp / "spark")

        con = duckdb.connect(str(db), read_only=True)
        duck = con.sql("select run_id, energy_j from marts.fct_run_energy").pl()
        con.close()
        spark = spark_table(tmp / "spark").select("run_id", "energy_j")
        both = duck.join(spark, on="run_id", suffix="_spark")
        a, b = both["energy_j"].to_numpy(), both["energy_j_spark"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.nanmax(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b)))

        print()
        print(
            f"readings={args.readings:,} runs={args.runs:,} meters={args.meters} "
            f"command={args.command} cores={os.cpu_count()}"
        )
        print(f"  duckdb  dbt {args.command} wall                 {t_duck:10.2f} s")
        print(f"  duckdb  models' own time (sum)            {sum(duck_nodes.values()):10.2f} s")
        print(f"  spark   raw sync (DuckDB -> Parquet -> Spark) {sb.sync_s:8.2f} s")
        print(f"  spark   dbt {args.command} wall (incl. JVM start)   {sb.dbt_s:10.2f} s")
        print(f"  spark   models' own time (sum)            {sb.models_s:10.2f} s")
        for name, secs in sorted(sb.per_node.items(), key=lambda kv: -kv[1])[:6]:
            print(
                f"            {name:36s} {secs:8.2f} s (duckdb {duck_nodes.get(name, 0.0):.2f} s)"
            )
        print(f"  ratio spark / duckdb (dbt wall)           {sb.dbt_s / t_duck:10.2f}")
        ratio_models = sb.models_s / sum(duck_nodes.values())
        print(f"  ratio spark / duckdb (models)             {ratio_models:10.2f}")
        print(f"  rows compared {both.height:,}; max rel diff energy_j spark vs duckdb {rel:.3e}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
