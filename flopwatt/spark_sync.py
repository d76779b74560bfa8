"""The Spark target's raw layer: DuckDB ``raw.*`` -> Parquet -> Spark tables ``raw.*``.

ingest/ writes the raw layer into DuckDB (the one writer). To build the same dbt models on Spark
(``dbt build --target spark``), every ``raw.*`` table is exported to Parquet and registered as an
external table in the Spark session's metastore, so ``source('raw', ...)`` resolves unchanged.

The Spark session is configured from the ``spark`` output of the project's ``profiles.yml``
(rendered with the same ``env_var`` defaults), so this module and dbt share one warehouse and one
Derby metastore (``FLOPWATT_SPARK_DIR``, default ``.flopwatt/spark``). Derby is single-process:
run the sync, let it exit, then run dbt — ``sync_raw_subprocess`` does exactly that from tests
and benchmarks, keeping the JVM out of the caller's process.

    python -m flopwatt.spark_sync [--db flopwatt.duckdb] [--spark-dir .flopwatt/spark]

Timestamps: raw ``*_at`` columns are naive UTC ``TIMESTAMP``s in DuckDB; they are written as
UTC-adjusted Parquet timestamps, which Spark reads as ``TIMESTAMP`` (session time zone UTC).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from flopwatt.core.config import db_path, dbt_project_dir, workspace

DEFAULT_SPARK_DIR = ".flopwatt/spark"


def spark_dir() -> Path:
    """``FLOPWATT_SPARK_DIR`` (relative to the workspace), default ``.flopwatt/spark``."""
    p = Path(os.environ.get("FLOPWATT_SPARK_DIR", DEFAULT_SPARK_DIR)).expanduser()
    return p if p.is_absolute() else workspace() / p


def spark_conf(profiles_dir: Path | str | None = None, target: str = "spark") -> dict[str, str]:
    """The ``server_side_parameters`` of the profile's Spark output, ``env_var`` rendered.

    Rendered with the working directory at the project root semantics: relative paths in the
    profile are resolved against the project root, as dbt (run from the root) resolves them.
    """
    import jinja2
    import yaml

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise KeyError(f"env var {name} required by profiles.yml is not set")
        return default

    text = (Path(profiles_dir or dbt_project_dir()) / "profiles.yml").read_text(encoding="utf-8")
    profile = yaml.safe_load(text)["flopwatt"]["outputs"][target]
    env = jinja2.Environment()
    conf = {}
    for key, value in (profile.get("server_side_parameters") or {}).items():
        conf[str(key)] = env.from_string(str(value)).render(env_var=env_var)
    conf["spark.sql.ansi.enabled"] = "false"  # dbt-spark forces this too
    return conf


def _duckdb_type_cast(column: str, dtype: str) -> str:
    q = '"' + column.replace('"', '""') + '"'
    t = dtype.upper()
    if t == "TIMESTAMP" or t.startswith("TIMESTAMP_") or t == "DATETIME":
        # naive UTC -> UTC-adjusted parquet timestamp (Spark TIMESTAMP, not TIMESTAMP_NTZ)
        return f"cast({q} as timestamptz) as {q}"
    if t in {"UBIGINT", "HUGEINT", "UHUGEINT"}:
        return f"cast({q} as decimal(38, 0)) as {q}"
    if t == "UINTEGER":
        return f"cast({q} as bigint) as {q}"
    return q


def export_raw_parquet(duckdb_path: Path | str, out_dir: Path | str) -> dict[str, Path]:
    """Write every ``raw.*`` table of the DuckDB file to ``out_dir/<table>/data.parquet``."""
    import duckdb

    out_dir = Path(out_dir)
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' and table_type = 'BASE TABLE' order by table_name"
            ).fetchall()
        ]
        written: dict[str, Path] = {}
        for table in tables:
            cols = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            select = ", ".join(_duckdb_type_cast(c, t) for c, t in cols)
            target = out_dir / table
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            path = target / "data.parquet"
            con.execute(
                f"copy (select {select} from raw.\"{table}\") to '{path}' "
                "(format parquet, compression zstd, row_group_size 1000000)"
            )
            written[table] = target
        return written
    finally:
        con.close()


def sync_raw(
    duckdb_path: Path | str | None = None,
    *,
    database: str = "raw",
    parquet_dir: Path | str | None = None,
) -> dict[str, int]:
    """Export DuckDB ``raw.*`` to Parquet and (re)register each as ``<database>.<table>`` in Spark.

    Runs Spark in this process (with the profile's configuration); returns row counts per table
    as Spark sees them. Call it from a process that does not also run dbt-spark afterwards, or use
    :func:`sync_raw_subprocess`.
    """
    duckdb_path = Path(duckdb_path) if duckdb_path is not None else db_path()
    base = spark_dir()
    parquet_dir = Path(parquet_dir) if parquet_dir is not None else base / "raw_parquet"
    base.mkdir(parents=True, exist_ok=True)
    written = export_raw_parquet(duckdb_path, parquet_dir)

    spark = _session()
    counts: dict[str, int] = {}
    spark.sql(f"create database if not exists {database}")
    for table, location in written.items():
        spark.sql(f"drop table if exists {database}.{table}")
        spark.sql(
            f"create table {database}.{table} using parquet "
            f"location '{location.resolve().as_uri()}'"
        )
        counts[table] = spark.table(f"{database}.{table}").count()
    return counts


def export_tables(tables: dict[str, Path | str]) -> dict[str, int]:
    """Write Spark tables (``schema.table`` -> Parquet file path) with this process's Spark session.

    Timestamps are written as UTC-adjusted ``TIMESTAMP_MICROS`` (readable by DuckDB and polars).
    Returns row counts.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    spark = _session()
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    counts: dict[str, int] = {}
    for name, path in tables.items():
        df = spark.table(name)
        # collect through Arrow: one file, no _SUCCESS/part-* folder
        arrow = df.toArrow() if hasattr(df, "toArrow") else pa.Table.from_pandas(df.toPandas())
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(arrow, str(path))
        counts[name] = arrow.num_rows
    return counts


def _session():
    from pyspark.sql import SparkSession

    cwd = os.getcwd()
    os.chdir(workspace())  # relative paths in the profile are relative to the workspace
    try:
        builder = SparkSession.builder.enableHiveSupport()
        for key, value in spark_conf().items():
            builder = builder.config(key, value)
        return builder.getOrCreate()
    finally:
        os.chdir(cwd)


def sync_raw_subprocess(
    duckdb_path: Path | str, *, env: dict[str, str] | None = None, timeout: float = 600
) -> float:
    """Run :func:`sync_raw` in a child Python process (own JVM); return its wall seconds."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flopwatt.spark_sync", "--db", str(duckdb_path)],
        check=True,
        cwd=workspace(),
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    return time.perf_counter() - t0


class DbtFailed(subprocess.CalledProcessError):
    """A failed dbt subprocess; its message ends with the tail of dbt's output."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.output or ''}"


def run_dbt_subprocess(
    args: list[str],
    *,
    target: str = "spark",
    env: dict[str, str] | None = None,
    work_dir: Path | str | None = None,
    timeout: float = 600,
) -> float:
    """Run ``dbt <args> --target <target>`` in a child process from the project root.

    dbt-spark's session method starts a JVM inside the dbt process, so Spark builds always run in
    their own process. ``work_dir`` (default: a folder under the Spark dir) receives dbt's target/
    and logs/, so a build never disturbs the project's own target/. Returns wall seconds; raises
    ``subprocess.CalledProcessError`` (with the tail of dbt's output) on failure.
    """
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [str(dbt) if dbt.exists() else "dbt", *args, "--target", target]
    work = Path(work_dir) if work_dir is not None else spark_dir() / f"dbt-{target}"
    cmd += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    project = str(dbt_project_dir())
    cmd += ["--project-dir", project, "--profiles-dir", project]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=workspace(),
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join(
            line for line in proc.stdout.splitlines() if "WARN SparkSession" not in line
        )[-6000:]
        raise DbtFailed(proc.returncode, cmd, output=tail)
    return elapsed


def export_tables_subprocess(
    tables: dict[str, Path | str], *, env: dict[str, str] | None = None, timeout: float = 600
) -> None:
    """:func:`export_tables` in a child process (own JVM)."""
    cmd = [sys.executable, "-m", "flopwatt.spark_sync"]
    for name, path in tables.items():
        cmd += ["--export", f"{name}={path}"]
    subprocess.run(
        cmd, check=True, cwd=workspace(), env={**os.environ, **(env or {})}, timeout=timeout
    )


def compare_frames(
    duck,
    spark,
    key: str,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    scales: dict[str, list[str]] | None = None,
) -> dict:
    """Compare two polars frames row by row on ``key`` (same columns, same keys).

    Numbers agree when ``|a - b| <= rtol * scale + atol``, both null, or both NaN; everything else
    (strings, booleans, timestamps) must be equal. ``scale`` is ``max(|a|, |b|)``, and for a
    column listed in ``scales`` also the magnitudes of the named columns (a difference of two
    large terms, e.g. net = energy - baseline x duration, is as exact as its terms, not as its
    possibly tiny result). ``max_rel_diff`` is reported against that scale too.
    Returns ``rows``, ``max_rel_diff``, ``worst`` (column, key, a, b) and ``mismatches`` (a list
    of readable lines, empty when the frames agree).
    """
    import polars as pl

    mismatches: list[str] = []
    cols_d, cols_s = set(duck.columns), set(spark.columns)
    if cols_d != cols_s:
        mismatches.append(
            f"columns differ: only duckdb {sorted(cols_d - cols_s)}, "
            f"only spark {sorted(cols_s - cols_d)}"
        )
    if duck.height != spark.height:
        mismatches.append(f"row counts differ: duckdb {duck.height}, spark {spark.height}")
    keys_d, keys_s = set(duck[key].to_list()), set(spark[key].to_list())
    if keys_d != keys_s:
        mismatches.append(
            f"keys differ: only duckdb {sorted(keys_d - keys_s)[:5]}, "
            f"only spark {sorted(keys_s - keys_d)[:5]}"
        )
    if duck[key].n_unique() != duck.height:
        mismatches.append(f"{key} is not unique in the duckdb result")
    joined = duck.join(spark, on=key, how="inner", suffix="__spark")
    max_rel, worst = 0.0, None
    for col in sorted((cols_d & cols_s) - {key}):
        a, b = joined[col], joined[f"{col}__spark"]
        if a.dtype.is_numeric() or b.dtype.is_numeric():
            x = a.cast(pl.Float64, strict=False)
            y = b.cast(pl.Float64, strict=False)
            frame = pl.DataFrame({"k": joined[key], "x": x, "y": y})
            extra = [
                joined[c].cast(pl.Float64, strict=False).abs().alias(f"s{i}")
                for i, c in enumerate((scales or {}).get(col, []))
            ]
            frame = (
                frame.with_columns(*extra)
                .with_columns(
                    diff=(pl.col("x") - pl.col("y")).abs(),
                    scale=pl.max_horizontal(
                        pl.col("x").abs(), pl.col("y").abs(), *[pl.col(e.name) for e in extra]
                    ),
                )
                .with_columns(
                    rel=pl.when(pl.col("scale") > 0)
                    .then(pl.col("diff") / pl.col("scale"))
                    .otherwise(0.0),
                    bad=(
                        (pl.col("x").is_null() != pl.col("y").is_null())
                        | (pl.col("x").is_nan() != pl.col("y").is_nan())
                        | (pl.col("diff") > rtol * pl.col("scale") + atol)
                    ).fill_null(False),
                )
            )
            top = frame.filter(pl.col("rel").is_not_nan()).sort("rel", descending=True).head(1)
            if top.height and top["rel"][0] > max_rel:
                max_rel = float(top["rel"][0])
                worst = (col, top["k"][0], top["x"][0], top["y"][0])
            for row in frame.filter(pl.col("bad")).head(3).iter_rows(named=True):
                mismatches.append(
                    f"{col} [{key}={row['k']}]: duckdb {row['x']!r} spark {row['y']!r}"
                )
        else:
            if a.dtype != b.dtype and not (a.dtype.is_temporal() and b.dtype.is_temporal()):
                b = b.cast(a.dtype, strict=False)
            if a.dtype.is_temporal() and b.dtype.is_temporal():
                a = a.cast(pl.Datetime("us")).dt.replace_time_zone(None)
                b = b.cast(pl.Datetime("us")).dt.replace_time_zone(None)
            bad = ~(a.eq_missing(b))
            for k, x, y in zip(
                joined[key].filter(bad).head(3),
                a.filter(bad).head(3),
                b.filter(bad).head(3),
                strict=True,
            ):
                mismatches.append(f"{col} [{key}={k}]: duckdb {x!r} spark {y!r}")
    return {
        "rows": joined.height,
        "max_rel_diff": max_rel,
        "worst": worst,
        "mismatches": mismatches,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flopwatt.spark_sync", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", help="DuckDB file (default: FLOPWATT_DB or flopwatt.duckdb)")
    parser.add_argument("--spark-dir", help="warehouse/metastore folder (FLOPWATT_SPARK_DIR)")
    parser.add_argument(
        "--export",
        action="append",
        default=[],
        metavar="SCHEMA.TABLE=FILE.parquet",
        help="instead of syncing: write a Spark table to a Parquet file (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.spark_dir:
        os.environ["FLOPWATT_SPARK_DIR"] = str(Path(args.spark_dir).resolve())
    if args.export:
        pairs = dict(item.split("=", 1) for item in args.export)
        for name, n in export_tables(pairs).items():
            print(f"{name}: {n} rows -> {pairs[name]}")
        return 0
    counts = sync_raw(args.db)
    for table, n in counts.items():
        print(f"raw.{table}: {n} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
