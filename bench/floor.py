"""A floor under the energy models on this machine: the least that an exact DuckDB design with a
stored curve was found to need, timed beside the dbt build (``python -m bench.energy --floor``).

* ``dbt_startup``: ``dbt run`` selecting no model (import, project parse, connection): paid by
  every build, whatever the models do.
* ``duckdb_floor``: the least exact DuckDB query found, under the profile's memory limit and
  DuckDB's default threads (as the build), into a scratch file: the readings and the runs' bounds
  in ONE sort by (meter, time), then streaming windows in that order (the power held since the
  last reading, each step's energy, an exact ``decimal(38,9)`` running sum), the curve written
  with the bounds in it, and each run's energy E(end) - E(start) by a group by. No gap markers,
  counters, coverage, median, baselines, carbon or incremental bookkeeping: the dbt models do all
  of these on top of this floor. (Measured and not kept: a curve written by the same streaming
  pass and an ASOF join for the runs, which sorts the curve again: the same 4.6 s at 10M, 114 s
  against 70-75 s at 100M.)

Both print beside ``numpy + fetch`` so a target stated as a ratio to numpy can be read against
what the engine itself takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# One sort of readings (side 0) and run bounds (1 start, 2 end; a reading sorts before a bound at
# its instant), then windows over () that DuckDB streams in that order: the held power (last
# reading's), each row's step from the previous row of its meter, the exact running sum.
_CURVE_SQL = """
create table floor_curve as
with points as (
    select meter_id, epoch_us(measured_at) as ts_us, power_w, cast(null as varchar) as run_id,
        0 as side
    from warehouse.raw.power_readings
    union all
    select meter_id, epoch_us(started_at), null, run_id, 1 from warehouse.raw.runs
    union all
    select meter_id, epoch_us(ended_at), null, run_id, 2 from warehouse.raw.runs
),
ordered as (select * from points order by meter_id, ts_us, side),
sequenced as (
    select
        *,
        row_number() over () as sequence_index,
        lag(ts_us) over () as previous_ts_us,
        lag(meter_id) over () = meter_id as follows_same_meter
    from ordered
),
held as (
    select
        *,
        arg_max(power_w, sequence_index) filter (where side = 0)
            over (rows between unbounded preceding and current row) as held_w
    from sequenced
),
stepped as (
    select
        *,
        case
            when follows_same_meter then lag(held_w) over () * (ts_us - previous_ts_us) / 1e6
        end as step_j
    from held
)
select
    meter_id, ts_us, power_w, run_id, side,
    sum(cast(step_j as decimal(38, 9))) over (rows between unbounded preceding and current row)
        as energy_j
from stepped
"""

# E(end) - E(start) per run, subtracted exactly (decimal) before the conversion to double
_RUNS_SQL = """
create table floor_runs as
select
    run_id,
    cast(
        max(energy_j) filter (where side = 2) - max(energy_j) filter (where side = 1) as double
    ) as energy_j
from floor_curve
where side > 0
group by run_id
"""


def dbt_startup(target: Path) -> float:
    """Wall seconds of ``dbt run`` that selects no model (the per-build fixed cost)."""
    dbt = str(Path(sys.executable).with_name("dbt"))
    t0 = time.perf_counter()
    subprocess.run(
        [dbt, "--quiet", "run", "--select", "path:bench/none",
         "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
         "--target-path", str(target), "--log-path", str(target)],
        cwd=ROOT, env=dict(os.environ), check=True,
    )  # fmt: skip
    return time.perf_counter() - t0


def _remove(db: Path) -> None:
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)


def duckdb_floor(db: Path, scratch: Path, runs_order: list[str]) -> tuple[float, np.ndarray]:
    """Seconds of the floor query (curve written + run energies) and the run energies (J) in the
    order of ``runs_order`` (nan where a run got none)."""
    import duckdb

    from flopwatt.core.config import DEFAULT_MEMORY_LIMIT

    _remove(scratch)
    con = duckdb.connect(str(scratch))
    memory = os.environ.get("FLOPWATT_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    # the dbt profile's settings (profiles.yml): same cap, insertion order not kept
    con.execute(f"set memory_limit = '{memory}'; set preserve_insertion_order = false")
    con.execute(f"attach '{db}' as warehouse (read_only)")
    t0 = time.perf_counter()
    con.execute(_CURVE_SQL)
    con.execute(_RUNS_SQL)
    con.execute("checkpoint")
    seconds = time.perf_counter() - t0
    got = dict(con.sql("select run_id, energy_j from floor_runs").fetchall())
    con.close()
    _remove(scratch)
    energies = np.array([np.nan if got.get(r) is None else got[r] for r in runs_order])
    return seconds, energies
