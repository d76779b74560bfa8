"""Benchmark of the energy models: dbt on DuckDB vs a numpy reference vs the study's method.

    python -m bench.energy --readings 10000000 --runs 100000 [--meters 4] [--engine duckdb]

Generates N power readings over K meters (irregular 1-5 s spacing, a smooth positive signal),
M non-overlapping runs inside the data, loads them through ``ingest.loader`` into a fresh DuckDB
file, then times

* ``dbt run --select +fct_run_energy +fct_run_meter_energy`` in a subprocess (wall time, and the
  models' own times);
* the numpy reference: per meter cumulative sum of power x dt (zero-order hold) and
  ``searchsorted`` of the run bounds (timed with and without fetching the readings from DuckDB);
* the reference study's method: per run, slice the readings in [start, end] and take
  ``sum(watts) x 3 s`` (timed on a sample of runs and extrapolated to all).

It prints seconds, ratios, the max relative error of each against an exact (long double) integral,
and the peak resident memory of this process and of its children (the dbt subprocess). ``--floor``
adds dbt's start-up and the least exact DuckDB query (bench/floor.py); ``--append PCT`` an
incremental rebuild after appending PCT% more readings and runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute

ROOT = Path(__file__).resolve().parent.parent
EPOCH0_US = int(datetime(2024, 1, 1).timestamp() * 0) + 1_704_067_200_000_000  # 2024-01-01 UTC
CHUNK = 5_000_000


def _peak_rss_mb(who: int) -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(who).ru_maxrss / 1024


def _readings(rng, n: int, first_us: int, i: int):
    """n readings of meter i from first_us: irregular 1-5 s steps, a smooth positive signal."""
    dt = rng.integers(1_000_000, 5_000_001, size=n, dtype=np.int64)  # 1-5 s, microseconds
    dt[0] = 0
    ts = first_us + np.cumsum(dt)
    phase = rng.uniform(0, 2 * np.pi)
    base = 80 + 20 * i
    p = base + 60 * np.sin(ts / 1e6 / 600 + phase) ** 2 + rng.uniform(0, 5, size=n)
    return ts, p.astype(np.float64)


def _runs_within(rng, ts, m: int, i: int):
    """m non-overlapping runs of meter i inside the readings ts."""
    lo, hi = int(ts[0]), int(ts[-1])
    slot = (hi - lo) // max(m, 1)
    starts = lo + np.arange(m, dtype=np.int64) * slot + rng.integers(0, slot // 4 + 1, size=m)
    lengths = (slot * rng.uniform(0.3, 0.7, size=m)).astype(np.int64)
    return np.full(m, i), starts, starts + lengths


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def generate(n_readings: int, n_runs: int, n_meters: int, seed: int = 7, after=None):
    """Per meter: (ts_us int64 sorted, power_w float64); runs: (meter index, start_us, end_us).

    ``after``: the meters' last reading (epoch us) to continue from (an appended export), else
    the meters start on 2024-01-01."""
    rng = np.random.default_rng(seed)
    meters = []
    for i, n in enumerate(_split(n_readings, n_meters)):
        first = EPOCH0_US + i * 1_000 if after is None else int(after[i]) + 1_000_000
        meters.append(_readings(rng, n, first, i))
    runs = [_runs_within(rng, meters[i][0], m, i) for i, m in enumerate(_split(n_runs, n_meters))]
    run_meter = np.concatenate([r[0] for r in runs])
    run_start = np.concatenate([r[1] for r in runs])
    run_end = np.concatenate([r[2] for r in runs])
    return meters, (run_meter, run_start, run_end)


def load_into(db: Path, meters, runs, *, append: bool = False) -> float:
    os.environ["FLOPWATT_DB"] = str(db)
    from flopwatt.ingest.loader import Batch, load

    from flopwatt.core.db import connect

    t0 = time.perf_counter()
    con = connect(db)
    names = [f"bench-m{i}" for i in range(len(meters))]
    if not append:
        meters_frame = pl.DataFrame(
            {"meter_id": names, "meter_kind": ["wall"] * len(names), "zone": ["GBR"] * len(names)}
        )
        load(
            Batch("meters", "bench", "bench meters", f"bench-meters-{time.time_ns()}", len(names),
                  tables={"meters": meters_frame}),
            con,
        )  # fmt: skip
    for i, (ts, p) in enumerate(meters):
        for lo in range(0, len(ts), CHUNK):
            part_ts, part_p = ts[lo : lo + CHUNK], p[lo : lo + CHUNK]
            frame = pl.DataFrame(
                {
                    "meter_id": pl.Series([names[i]], dtype=pl.Categorical)
                    .extend_constant(names[i], len(part_ts) - 1)
                    .cast(pl.String),
                    "measured_at": pl.Series(part_ts).cast(pl.Datetime("us")),
                    "power_w": part_p,
                }
            )
            load(Batch("power", "bench", f"bench m{i} @{lo}", f"bench-p-{i}-{lo}-{time.time_ns()}",
                       frame.height, tables={"power_readings": frame}), con)  # fmt: skip
            del frame
    run_meter, run_start, run_end = runs
    frame = pl.DataFrame(
        {
            "run_id": [f"{'a' if append else 'r'}{i:08d}" for i in range(len(run_start))],
            "model_name": "resnet50",
            "phase": "inference",
            "started_at": pl.Series(run_start).cast(pl.Datetime("us")),
            "ended_at": pl.Series(run_end).cast(pl.Datetime("us")),
            "n_inferences": 1000,
            "meter_id": pl.Series(np.array(names)[run_meter]),
        }
    )
    load(Batch("runs", "bench", "bench runs", f"bench-r-{time.time_ns()}", frame.height,
               tables={"runs": frame}), con)  # fmt: skip
    if not append:
        carbon = pl.DataFrame(
            {"zone": ["GBR"], "year": [2023], "g_per_kwh": [200.0], "source": ["bench"]}
        )
        load(Batch("carbon", "bench", "bench carbon", f"bench-c-{time.time_ns()}", 1,
                   tables={"carbon_intensity": carbon}), con)  # fmt: skip
    con.execute("checkpoint")
    con.close()
    return time.perf_counter() - t0


# the run-level marts (views) and everything they read
SELECT = ["+fct_run_energy", "+fct_run_meter_energy"]


def run_dbt(db: Path, command: str, target: Path) -> tuple[float, dict[str, float]]:
    env = dict(os.environ, FLOPWATT_DB=str(db))
    dbt = str(Path(sys.executable).with_name("dbt"))
    t0 = time.perf_counter()
    subprocess.run(
        [dbt, "--quiet", command, "--select", *SELECT,
         "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
         "--target-path", str(target), "--log-path", str(target)],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    results = json.loads((target / "run_results.json").read_text())
    per_node = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results["results"]}
    return wall, per_node


def fetch_readings(db: Path):
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    t0 = time.perf_counter()
    tbl = con.sql(
        "select meter_id, epoch_us(measured_at) as ts_us, power_w from raw.power_readings"
    ).to_arrow_table()
    runs = con.sql(
        "select run_id, meter_id, epoch_us(started_at) as s, epoch_us(ended_at) as e from raw.runs"
    ).to_arrow_table()
    con.close()
    return tbl, runs, time.perf_counter() - t0


def numpy_reference(tbl, runs, dtype=np.float64):
    """Zero-order hold: E(t) = sum p_i (t_{i+1} - t_i) over readings before t + p_k (t - t_k)."""
    # meter ids to integer codes with Arrow's hash-based dictionary encoding (np.unique on 10M
    # Python strings would dominate the reference's time and flatter the SQL side)
    enc = pa.compute.dictionary_encode(tbl.column("meter_id")).combine_chunks()
    codes = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    meter_codes = enc.indices.to_numpy()
    ts = tbl.column("ts_us").to_numpy()
    p = tbl.column("power_w").to_numpy()
    relabel = np.argsort(codes)  # codes sorted, so runs' meter ids can be searchsorted
    codes = codes[relabel]
    meter_codes = np.argsort(relabel)[meter_codes]
    order = np.lexsort((ts, meter_codes))
    meter_codes, ts, p = meter_codes[order], ts[order], p[order].astype(dtype)
    run_meter = np.searchsorted(codes, runs.column("meter_id").to_numpy(zero_copy_only=False))
    s = runs.column("s").to_numpy()
    e = runs.column("e").to_numpy()
    out = np.full(len(s), np.nan, dtype=dtype)
    bounds = np.searchsorted(meter_codes, np.arange(len(codes) + 1))
    for m in range(len(codes)):
        lo, hi = bounds[m], bounds[m + 1]
        t, w = ts[lo:hi], p[lo:hi]
        seg = w[:-1] * (np.diff(t).astype(dtype) / dtype(1e6))
        cum = np.concatenate([np.zeros(1, dtype), np.cumsum(seg, dtype=dtype)])
        sel = np.nonzero(run_meter == m)[0]

        def energy_at(x, t=t, w=w, cum=cum):
            x = np.clip(x, t[0], t[-1])
            k = np.searchsorted(t, x, side="right") - 1
            return cum[k] + w[k] * ((x - t[k]).astype(dtype) / dtype(1e6))

        out[sel] = energy_at(e[sel]) - energy_at(s[sel])
    return out


def study_method(tbl, runs, sample: int, seed: int = 3):
    """The reference study: per run, the readings in [start, end], sum(watts) x 3 s."""
    meter = tbl.column("meter_id").to_numpy(zero_copy_only=False)
    ts = tbl.column("ts_us").to_numpy()
    p = tbl.column("power_w").to_numpy()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(runs), size=min(sample, len(runs)), replace=False)
    rm = runs.column("meter_id").to_numpy(zero_copy_only=False)[idx]
    s = runs.column("s").to_numpy()[idx]
    e = runs.column("e").to_numpy()[idx]
    out = np.empty(len(idx))
    t0 = time.perf_counter()
    for j in range(len(idx)):  # a full scan per run, as df.loc[...].between_time(...) does
        mask = (meter == rm[j]) & (ts >= s[j]) & (ts <= e[j])
        out[j] = p[mask].sum() * 3.0
    per_run = (time.perf_counter() - t0) / len(idx)
    return idx, out, per_run


def dbt_energies(db: Path, runs_tbl) -> np.ndarray:
    """fct_run_energy.energy_j of the runs of runs_tbl, in its order (nan: no row or no energy)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    got = con.sql(
        "select r.run_id, f.energy_j from raw.runs as r "
        "left join marts.fct_run_energy as f using (run_id)"
    ).pl()
    con.close()
    order = pl.DataFrame({"run_id": runs_tbl.column("run_id").to_pylist()}).with_row_index()
    energy = order.join(got, on="run_id", how="left").sort("index")["energy_j"]
    return energy.cast(pl.Float64).fill_null(np.nan).to_numpy()


def max_rel_error_vs_exact(db: Path) -> tuple[float, int]:
    """Max relative error of fct_run_energy.energy_j against the exact (long double) integral,
    and the number of runs without energy."""
    tbl, runs_tbl, _ = fetch_readings(db)
    exact = numpy_reference(tbl, runs_tbl, dtype=np.longdouble).astype(np.float64)
    energy = dbt_energies(db, runs_tbl)
    return float(np.nanmax(np.abs(energy - exact) / np.abs(exact))), int(np.isnan(energy).sum())


def _append(db: Path, args, target: Path, t_full: float, per_node_full: dict[str, float]) -> None:
    """--append PCT: load PCT% more readings and runs, rebuild (incremental), then rebuild again
    with nothing new; print both against the full build."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    last = [
        r[1]
        for r in con.sql(
            "select meter_id, max(epoch_us(measured_at)) from raw.power_readings "
            "group by meter_id order by meter_id"
        ).fetchall()
    ]
    con.close()
    n_readings = round(args.readings * args.append / 100)
    n_runs = round(args.runs * args.append / 100)
    meters, runs = generate(n_readings, n_runs, args.meters, seed=8, after=last)
    t_load = load_into(db, meters, runs, append=True)
    del meters, runs
    t_inc, per_node_inc = run_dbt(db, args.command, target)
    t_none, per_node_none = run_dbt(db, args.command, target)
    err, missing = max_rel_error_vs_exact(db)
    full, inc, none = (sum(d.values()) for d in (per_node_full, per_node_inc, per_node_none))
    print()
    print(f"append {args.append:g}%: {n_readings:,} readings + {n_runs:,} runs "
          f"(loaded in {t_load:.1f} s), then dbt {args.command} the same models again")  # fmt: skip
    print(f"  rebuild wall                                 {t_inc:10.2f} s"
          f"   full build {t_full:8.2f} s   ratio {t_inc / t_full:6.3f}")  # fmt: skip
    print(f"  rebuild models' own execution time (sum)     {inc:10.2f} s"
          f"   full build {full:8.2f} s   ratio {inc / full:6.3f}")  # fmt: skip
    for name, secs in sorted(per_node_inc.items(), key=lambda kv: -kv[1])[:6]:
        print(f"      {name:40s} {secs:8.2f} s   (full {per_node_full.get(name, 0):8.2f} s)")
    print(f"  no new data: wall {t_none:.2f} s, models' time (sum) {none:.2f} s")
    for name, secs in sorted(per_node_none.items(), key=lambda kv: -kv[1])[:4]:
        print(f"      {name:40s} {secs:8.2f} s")
    print(f"  max rel error dbt vs exact after the append  {err:10.3e}")
    print(f"  runs without energy in fct_run_energy        {missing:10d}")


def _floor(db: Path, tmp: Path, runs_tbl, exact, t_dbt: float, t_models: float, t_ref: float):
    """--floor: dbt's start-up and the least DuckDB query (bench/floor.py) beside the build."""
    from bench.floor import dbt_startup, duckdb_floor

    t_start = dbt_startup(tmp / "target")  # the build's target: its partial parse
    t_floor, energy = duckdb_floor(db, tmp / "floor.duckdb", runs_tbl.column("run_id").to_pylist())
    err = float(np.nanmax(np.abs(energy - exact) / np.abs(exact)))
    print()
    print("floor (bench/floor.py), same memory limit and threads")
    print(f"  dbt start-up (dbt run selecting no model)    {t_start:10.2f} s")
    print(f"  DuckDB floor: one sort, curve written + runs {t_floor:10.2f} s"
          f"   max rel error vs exact {err:.1e}")  # fmt: skip
    print(f"  floor / (numpy + fetch)                      {t_floor / t_ref:10.2f}"
          f"   with dbt start-up {(t_floor + t_start) / t_ref:6.2f}")  # fmt: skip
    print(f"  dbt wall / floor with start-up               {t_dbt / (t_floor + t_start):10.2f}"
          f"   models / floor {t_models / t_floor:6.2f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.energy", description=__doc__.split("\n")[0])
    ap.add_argument("--readings", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--meters", type=int, default=4)
    ap.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    ap.add_argument("--command", choices=["run", "build"], default="run",
                    help="dbt command timed (build also runs the data tests)")  # fmt: skip
    ap.add_argument("--study-sample", type=int, default=20)
    ap.add_argument("--db", help="DuckDB file to create (default: a temp file, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the DuckDB file")
    ap.add_argument("--floor", action="store_true",
                    help="also time dbt's start-up and the least exact DuckDB query with a "
                         "stored curve (bench/floor.py), beside numpy")  # fmt: skip
    ap.add_argument("--append", type=float, metavar="PCT",
                    help="then append PCT%% more readings and runs, rebuild incrementally, "
                         "and compare with the full build")  # fmt: skip
    args = ap.parse_args(argv)
    if args.engine == "spark":
        # Spark beside DuckDB on the same generated data (bench/energy_spark.py)
        from bench.energy_spark import main as spark_main

        return spark_main(
            ["--readings", str(args.readings), "--runs", str(args.runs),
             "--meters", str(args.meters), "--command", args.command]
            + (["--keep"] if args.keep else [])
        )  # fmt: skip

    tmp = Path(tempfile.mkdtemp(prefix="flopwatt-bench-"))
    db = Path(args.db) if args.db else tmp / "bench.duckdb"
    if db.exists():
        db.unlink()
    print(f"generating {args.readings:,} readings / {args.runs:,} runs / {args.meters} meters ...")
    t0 = time.perf_counter()
    meters, runs = generate(args.readings, args.runs, args.meters)
    print(f"  generated in {time.perf_counter() - t0:.1f} s")
    t_load = load_into(db, meters, runs)
    del meters, runs
    print(f"  loaded via ingest.loader in {t_load:.1f} s -> {db}")

    t_dbt, per_node = run_dbt(db, args.command, tmp / "target")
    t_models = sum(per_node.values())

    tbl, runs_tbl, t_fetch = fetch_readings(db)
    t0 = time.perf_counter()
    ref64 = numpy_reference(tbl, runs_tbl)
    t_numpy = time.perf_counter() - t0
    exact = numpy_reference(tbl, runs_tbl, dtype=np.longdouble)
    idx, study, study_per_run = study_method(tbl, runs_tbl, args.study_sample)
    t_study = study_per_run * len(runs_tbl)

    dbt_energy = dbt_energies(db, runs_tbl)
    exact64 = exact.astype(np.float64)

    def rel(a, b):
        return float(np.nanmax(np.abs(a - b) / np.abs(b)))

    rss_self = _peak_rss_mb(resource.RUSAGE_SELF)
    rss_children = _peak_rss_mb(resource.RUSAGE_CHILDREN)
    print()
    print(
        f"readings={args.readings:,} runs={args.runs:,} meters={args.meters} engine={args.engine}"
    )
    print(f"  dbt {args.command} run-level marts (subprocess wall) {t_dbt:10.2f} s")
    print(f"    models' own execution time (sum)          {t_models:10.2f} s")
    for name, secs in sorted(per_node.items(), key=lambda kv: -kv[1])[:8]:
        print(f"      {name:40s} {secs:8.2f} s")
    print(f"  numpy reference (cumsum + searchsorted)      {t_numpy:10.2f} s")
    print(f"  numpy reference incl. fetch from DuckDB      {t_numpy + t_fetch:10.2f} s")
    print(f"  reference study per-run slice (extrapolated) {t_study:10.2f} s"
          f"  ({study_per_run * 1e3:.2f} ms/run on {len(idx)} runs)")  # fmt: skip
    print(f"  ratio dbt wall / numpy                       {t_dbt / t_numpy:10.2f}")
    print(f"  ratio dbt wall / (numpy + fetch)             {t_dbt / (t_numpy + t_fetch):10.2f}")
    print(f"  ratio dbt models / (numpy + fetch)           {t_models / (t_numpy + t_fetch):10.2f}")
    print(f"  ratio study / dbt wall                       {t_study / t_dbt:10.2f}")
    print(f"  max rel error dbt vs exact (long double)     {rel(dbt_energy, exact64):10.3e}")
    print(f"  max rel error numpy float64 vs exact         {rel(ref64, exact64):10.3e}")
    print(f"  max rel error dbt vs numpy float64           {rel(dbt_energy, ref64):10.3e}")
    print(f"  max rel error study vs exact (sample)        {rel(study, exact64[idx]):10.3e}")
    print(f"  runs without energy in fct_run_energy        {int(np.isnan(dbt_energy).sum()):10d}")
    print(
        f"  peak RSS: this process {rss_self:,.0f} MB, "
        f"children (dbt + DuckDB) {rss_children:,.0f} MB"
    )
    if args.floor:
        _floor(db, tmp, runs_tbl, exact64, t_dbt, t_models, t_numpy + t_fetch)
    if args.append:
        del tbl, runs_tbl, ref64, exact, exact64, dbt_energy
        _append(db, args, tmp / "target", t_dbt, per_node)
    if not args.keep and not args.db:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
