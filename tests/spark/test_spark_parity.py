"""The energy models give the same answer on Spark (dbt-spark, method: session) as on DuckDB.

A synthetic data set (power meters with irregular sampling and gaps, counters that wrap and reset,
runs inside / across / outside the data, idle runs, an intensity series) is loaded through
``ingest.loader.load`` into a temp DuckDB file; ``dbt build`` runs on DuckDB; the raw layer is
synced to Spark (``flopwatt.spark_sync``); ``dbt build --target spark`` builds the same models;
then every ``fct_run_energy`` row is compared, every number to 1e-9 relative.

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
SELECT = os.environ.get("FLOPWATT_SPARK_SELECT", "+fct_run_energy fct_run_source_comparison")
FACT = "marts.fct_run_energy"
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
    out = work / "spark_fct_run_energy.parquet"
    _step("export spark fact", export_tables_subprocess, {FACT: out}, env=env)
    con = duckdb.connect(str(db), read_only=True)
    try:
        duck = con.sql(f"select * from {FACT}").pl()
    finally:
        con.close()
    return {"duckdb": duck, "spark": pl.read_parquet(out), "work": work}


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


def test_the_data_set_exercises_the_hard_cases(engines):
    """Parity means little if the hard cases are absent: check they are in the fact."""
    f = engines["duckdb"]
    assert f.filter(~pl.col("is_complete")).height > 0  # runs outside / across the data, gaps
    assert f.filter(pl.col("is_complete")).height > N_RUNS // 2
    assert f["energy_j"].null_count() > 0  # runs with no data at all: null, never 0
    if "has_overlap" in f.columns:
        assert f["has_overlap"].any()


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
