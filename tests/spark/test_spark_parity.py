"""The energy models give the same answer on Spark (dbt-spark, method: session) as on DuckDB.

A synthetic data set (power meters with irregular sampling and gaps, counters that wrap and reset,
runs inside / across / outside the data, idle runs, an intensity series) is loaded through
``ingest.loader.load`` into a temp DuckDB file; ``dbt build`` runs on DuckDB; the raw layer is
synced to Spark (``flopwatt.spark_sync``); ``dbt build --target spark`` builds the same models;
then every ``fct_run_energy`` row is compared, every number to 1e-9 relative, and so are the
per-(run, meter) rows of ``fct_run_meter_energy`` and the wall-vs-components
``fct_run_reconciliation``.

Every Spark step runs in a child process (dbt-spark's session method starts a JVM in-process and
Derby allows one process per metastore). Skipped without pyspark, dbt-spark or Java.

    .ci/spark                                      # installs the spark extra, runs this
    .venv/bin/python -m pytest -m spark tests/spark -s
    FLOPWATT_SPARK_PARITY_READINGS=1000000 ...     # a larger data set
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import time

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

if importlib.util.find_spec("pyspark") is None:
    pytest.skip("pyspark is not installed (pip install -e .[spark])", allow_module_level=True)
if importlib.util.find_spec("dbt.adapters.spark") is None:
    pytest.skip("dbt-spark is not installed (pip install -e .[spark])", allow_module_level=True)
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java runtime (Spark needs Java 17)", allow_module_level=True)

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import spark_synthetic  # noqa: E402  (tests/spark is on sys.path: rootdir-relative import)

from flopwatt.core.config import CHECKOUT_ROOT  # noqa: E402
from flopwatt.spark_sync import (  # noqa: E402
    compare_frames,
    export_tables_subprocess,
    run_dbt_subprocess,
    sync_raw_subprocess,
)

N_READINGS = int(os.environ.get("FLOPWATT_SPARK_PARITY_READINGS", "100000"))
N_RUNS = int(os.environ.get("FLOPWATT_SPARK_PARITY_RUNS", "1000"))
SELECT = os.environ.get(
    "FLOPWATT_SPARK_SELECT",
    "+fct_run_energy +fct_run_meter_energy fct_run_source_comparison fct_run_reconciliation",
)
FACT = "marts.fct_run_energy"
# the other facts compared, with their key (fct_run_meter_energy: run and meter)
FACTS = {
    "marts.fct_run_meter_energy": ("run_id", "meter_id"),
    "marts.fct_run_reconciliation": ("run_id",),
}
RTOL = 1e-9  # every number, net_energy_j included, relative to its own magnitude


def _step(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        out = fn(*args, **kwargs)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"{label} failed (exit {exc.returncode}):\n{exc.output or ''}")
    print(f"{label}: {time.perf_counter() - t0:.1f} s")
    return out


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    if not (CHECKOUT_ROOT / "models_sql" / "marts" / "fct_run_energy.sql").exists():
        pytest.skip("models_sql/marts/fct_run_energy.sql does not exist yet")
    work = tmp_path_factory.mktemp("spark_parity")
    db = work / "warehouse.duckdb"
    env = {"FLOPWATT_DB": str(db), "FLOPWATT_SPARK_DIR": str(work / "spark")}
    counts = _step("synthetic load", spark_synthetic.build, db, N_READINGS, N_RUNS)
    print(f"raw rows: {counts}")
    # cautious: a data test runs when all its parents are built (a relationships test of a staging
    # model towards an unselected model would fail on a fresh warehouse)
    build = ["build", "--select", SELECT, "--indirect-selection", "cautious"]
    _step(
        "dbt build duckdb",
        run_dbt_subprocess,
        build,
        target="duckdb",
        env=env,
        work_dir=work / "dbt-duckdb",
    )
    _step("sync raw -> spark", sync_raw_subprocess, db, env=env)
    _step(
        "dbt build spark",
        run_dbt_subprocess,
        build,
        target="spark",
        env=env,
        work_dir=work / "dbt-spark",
    )
    outs = {t: work / f"spark_{t.split('.')[1]}.parquet" for t in (FACT, *FACTS)}
    _step("export spark facts", export_tables_subprocess, outs, env=env)
    con = duckdb.connect(str(db), read_only=True)
    try:
        duck = {t: con.sql(f"select * from {t}").pl() for t in outs}
    finally:
        con.close()
    spark = {t: pl.read_parquet(p) for t, p in outs.items()}
    return {"duckdb": duck[FACT], "spark": spark[FACT], "work": work,
            "others": {t: (duck[t], spark[t]) for t in FACTS}}  # fmt: skip


def test_every_fct_run_energy_row_equal(engines):
    duck, spark = engines["duckdb"], engines["spark"]
    assert duck.height == N_RUNS, "one fct_run_energy row per run"
    result = compare_frames(duck, spark, "run_id", rtol=RTOL)
    print(
        f"compared {result['rows']} rows x {len(duck.columns)} columns: "
        f"max relative difference {result['max_rel_diff']:.3e} (worst: {result['worst']})"
    )
    assert not result["mismatches"], "DuckDB and Spark differ:\n" + "\n".join(result["mismatches"])
    assert result["rows"] == N_RUNS


@pytest.mark.parametrize("table", sorted(FACTS))
def test_per_meter_and_reconciliation_rows_equal(engines, table):
    duck, spark = engines["others"][table]
    key = pl.concat_str([pl.col(c).fill_null("") for c in FACTS[table]], separator="|")
    duck, spark = (f.with_columns(key.alias("_key")) for f in (duck, spark))
    assert duck.height > 0
    result = compare_frames(duck, spark, "_key", rtol=RTOL)
    print(f"{table}: compared {result['rows']} rows, max relative difference "
          f"{result['max_rel_diff']:.3e} (worst: {result['worst']})")  # fmt: skip
    assert not result["mismatches"], "DuckDB and Spark differ:\n" + "\n".join(result["mismatches"])
    assert result["rows"] == duck.height


def test_the_data_set_exercises_the_hard_cases(engines):
    """Parity means little if the hard cases are absent: check they are in the fact."""
    f = engines["duckdb"]
    assert f.filter(~pl.col("is_complete")).height > 0  # runs outside / across the data, gaps
    assert f.filter(pl.col("is_complete")).height > N_RUNS // 2
    assert f["energy_j"].null_count() > 0  # runs with no data at all: null, never 0
    if "has_overlap" in f.columns:
        assert f["has_overlap"].any()
    # hosts: runs naming a host (wall, or components), runs naming nothing, other devices
    assert {"run", "host", "unresolved"} <= set(f["meter_source"])
    assert {"wall", "components"} <= set(f["energy_scope"].drop_nulls())
    per_meter, _ = engines["others"]["marts.fct_run_meter_energy"]
    assert (per_meter["meter_role"] == "other_device").any()


def test_spark_sql_has_no_native_asof(engines):
    """The compiled Spark SQL never contains `asof join` (Spark would parse it as an inner join)."""
    compiled = engines["work"] / "dbt-spark" / "target" / "compiled"
    texts = {
        p.name: re.sub(r"--[^\n]*|/\*.*?\*/", "", p.read_text(encoding="utf-8"), flags=re.S)
        for p in compiled.rglob("*.sql")
    }
    assert texts, "no compiled SQL found"
    native = [n for n, t in texts.items() if re.search(r"\basof\s+(left\s+)?join\b", t, re.I)]
    assert not native, f"native ASOF join in compiled Spark SQL: {native}"
    assert any("asof_lrow" in t for t in texts.values()), "the Spark ASOF emulation was not used"
