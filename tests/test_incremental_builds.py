"""Incremental builds equal a full refresh (issue 15).

A warehouse grows load by load, as meter logs do: a first export, then appended exports of the
same meters, late readings inside an already processed span, an overlapping re-export with
changed values, an outage marker, counters, runs added after their readings, and a meter registered
again under another source format. After each load
the warehouse is built incrementally; a copy of it is then rebuilt with ``--full-refresh`` and
every row of every energy model and mart must agree (numbers to 1e-9 relative).

Meters, shaped like the real logs: a Home Assistant history export (changes only, "unavailable"
outages), a generic two-device power CSV sampled irregularly (1-4 s, local time; a re-export
repeats instants), and a RAPL-like energy counter that wraps.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from flopwatt.ingest import carbon_series, counters, power, runs
from flopwatt.ingest.loader import Batch, load

from flopwatt.dbt_runner import run_dbt

pytestmark = pytest.mark.slow

T0 = datetime(2024, 3, 30, 23, 0, 0)  # local Europe/London, across the clocks-forward night
MODELS = ["+fct_run_energy", "+fct_run_meter_energy"]
COUNTER_WRAP_J = 50_000  # the rapl counter's range
# a short idle-baseline window (default 3600 s, longer than these logs), so that an append
# recomputes the idle readings' tail only (in both the incremental and the full-refresh builds)
VARS = ["--vars", "{baseline_window_s: 120}"]
# (schema.table, key columns) compared row by row; through_load_id records when a row was
# computed, so it differs by design and is left out
TABLES = {
    "intermediate.int_energy_curve": ["meter_id", "reading_index"],
    "intermediate.int_meter_spans": ["meter_id"],
    "intermediate.int_meter_interval_counts": ["meter_id", "bucket"],
    "intermediate.int_run_bounds": ["run_id", "meter_id"],
    "intermediate.int_run_energy": ["run_id", "meter_id"],
    "intermediate.int_meter_idle_readings": ["meter_id", "ts_us"],
    "intermediate.int_meter_baselines": ["meter_id"],
    "intermediate.int_run_carbon": ["run_id", "meter_id"],
    "intermediate.int_run_meter_energy": ["run_id", "meter_id"],
    "intermediate.int_run_energy_totals": ["run_id"],
    "intermediate.int_counted_meter_sets": ["counted_meter_ids"],
    "marts.fct_run_meter_energy": ["run_id", "meter_id"],
    "marts.fct_run_energy": ["run_id"],
}


def _power_csv(path, rng, meters, start_s, end_s, *, scale=1.0):
    """Generic power CSV (timestamp,watts,meter_id), local naive times, 1-4 s irregular steps."""
    lines = ["timestamp,watts,meter_id"]
    for meter in meters:
        t = float(start_s)
        while t < end_s:
            ts = T0 + timedelta(seconds=round(t, 3))
            watts = scale * (80 + 40 * np.sin(t / 50) ** 2 + rng.uniform(0, 3))
            lines.append(f"{ts:%Y-%m-%d %H:%M:%S.%f},{watts:.3f},{meter}")
            t += rng.uniform(1, 4)
    path.write_text("\n".join(lines) + "\n")
    return path


def _history_csv(path, rows):
    """Home Assistant history export: changes only, 'unavailable' for an outage (UTC, Z)."""
    lines = ["entity_id,state,last_changed"]
    for second, state in rows:
        instant = T0 + timedelta(seconds=second)
        lines.append(f"sensor.desk_plug,{state},{instant:%Y-%m-%dT%H:%M:%S}Z")
    path.write_text("\n".join(lines) + "\n")
    return path


def _counter_csv(path, start_s, end_s, first_j, *, wrap_at=None):
    """A cumulative counter in J every 2 s, about 50 W, wrapping at wrap_at."""
    lines = ["timestamp,counter"]
    value = first_j
    for second in range(start_s, end_s, 2):
        lines.append(f"{T0 + timedelta(seconds=second):%Y-%m-%d %H:%M:%S},{value:.1f}")
        value += 100 + (second % 7)
        if wrap_at is not None and value >= wrap_at:
            value -= wrap_at
    path.write_text("\n".join(lines) + "\n")
    return path, value


def _runs_csv(path, rows):
    lines = ["model,start_time,end_time,n_inferences,meter_id,phase"]
    for model, start_s, end_s, meter in rows:
        start, end = T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s)
        meter = meter or ""
        when = f"{start:%Y-%m-%d %H:%M:%S},{end:%Y-%m-%d %H:%M:%S}"
        lines.append(f"{model},{when},100,{meter},inference")
    path.write_text("\n".join(lines) + "\n")
    return path


def _runs_over(meters, start_s, end_s, every_s, length_s, model="resnet18"):
    return [
        (model, s, s + length_s, meter)
        for meter in meters
        for s in range(start_s, end_s - length_s, every_s)
    ]


def _query(db, sql: str, *, frame: bool = False):
    """Rows of a read-only query on the warehouse file (a polars frame with frame=True)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        result = con.sql(sql)
        return result.pl() if frame else result.fetchall()
    finally:
        con.close()


def _rows(db, table: str, keys: list[str]) -> pl.DataFrame:
    frame = _query(db, f"select * from {table}", frame=True)
    return frame.drop([c for c in frame.columns if c == "through_load_id"]).sort(keys)


def _assert_equal(incremental: pl.DataFrame, full: pl.DataFrame, table: str) -> None:
    assert incremental.columns == full.columns, table
    assert incremental.height == full.height, f"{table}: {incremental.height} != {full.height} rows"
    for column in full.columns:
        a, b = incremental[column], full[column]
        assert (a.is_null() == b.is_null()).all(), f"{table}.{column}: nulls differ"
        if a.dtype.is_numeric() or a.dtype == pl.Decimal:
            x = a.cast(pl.Float64).to_numpy()
            y = b.cast(pl.Float64).to_numpy()
            ok = ~np.isnan(y)
            err = np.abs(x[ok] - y[ok]) / np.maximum(np.abs(y[ok]), 1e-9)
            assert err.max(initial=0) <= 1e-9, f"{table}.{column}: max rel error {err.max()}"
        else:
            diff = (a != b).fill_null(False)
            assert not diff.any(), f"{table}.{column}: {a.filter(diff)[:3]} != {b.filter(diff)[:3]}"


def _check_against_full_refresh(db, tmp, step: str) -> None:
    copy = tmp / f"full-{step}.duckdb"
    shutil.copy(db, copy)
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOPWATT_DB", str(copy))
    try:
        run_dbt(["run", "--full-refresh", "--select", *MODELS, *VARS], quiet=True)
    finally:
        mp.undo()
    for table, keys in TABLES.items():
        _assert_equal(_rows(db, table, keys), _rows(copy, table, keys), f"{step}: {table}")


def _curve_rows_rewritten(db, table="intermediate.int_energy_curve", latest=True) -> dict[str, int]:
    """Rows per meter computed by the latest build (through_load_id = the latest load; all rows
    with latest=False)."""
    where = "where through_load_id = (select max(load_id) from raw.loads)" if latest else ""
    return dict(_query(db, f"select meter_id, count(*) from {table} {where} group by meter_id"))


def _idle_rows(db) -> dict[str, tuple[int, int]]:
    """Per meter: (idle readings recomputed by the latest build, idle readings stored)."""
    rows = _query(
        db,
        "select meter_id, count(*) filter (where through_load_id = "
        "(select max(load_id) from raw.loads)), count(*) "
        "from intermediate.int_meter_idle_readings group by meter_id",
    )
    return {meter: (recomputed, stored) for meter, recomputed, stored in rows}


def _run_level_state(db) -> dict:
    """The runs int_run_energy_totals rewrote in the latest build, every run's (meter, end_us)
    pairs, and each meter's last reading (int_meter_spans)."""
    rewritten = {
        r[0]
        for r in _query(
            db,
            "select run_id from intermediate.int_run_energy_totals "
            "where through_load_id = (select max(load_id) from raw.loads)",
        )
    }
    ends: dict[str, list] = {}
    for run_id, meter_id, end_us in _query(
        db, "select run_id, meter_id, end_us from intermediate.int_run_bounds"
    ):
        ends.setdefault(run_id, []).append((meter_id, end_us))
    last = dict(_query(db, "select meter_id, last_us from intermediate.int_meter_spans"))
    bounds: dict[str, set] = {}
    bounds_rewritten = set()
    for row in _query(
        db,
        "select * exclude (through_load_id), "
        "through_load_id = (select max(load_id) from raw.loads) from intermediate.int_run_bounds",
    ):
        bounds.setdefault(row[0], set()).add(row[:-1])
        if row[-1]:
            bounds_rewritten.add(row[0])
    return {
        "rewritten": rewritten,
        "ends": ends,
        "last_us": last,
        "bounds": bounds,
        "bounds_rewritten": bounds_rewritten,
    }


def _build() -> None:
    run_dbt(["run", "--select", *MODELS, *VARS], quiet=True)


def _load_power(path) -> None:
    load(power.parse(path, tz="Europe/London", zone="GBR"))


def _load_history(path, rows) -> None:
    load(power.parse(_history_csv(path, rows), zone="GBR"))


def _load_counter(path, start_s, end_s, first_j) -> float:
    """Load the rapl counter from start_s to end_s; its value after the last line."""
    path, last_j = _counter_csv(path, start_s, end_s, first_j, wrap_at=COUNTER_WRAP_J)
    parsed = counters.parse(
        path, format="generic", unit="J", meter="rapl", tz="Europe/London", range_=COUNTER_WRAP_J
    )
    load(parsed)
    return last_j


def _load_runs(path, rows) -> None:
    load(runs.parse(_runs_csv(path, rows), tz="Europe/London"))


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    db = tmp / "warehouse.duckdb"
    rng = np.random.default_rng(15)
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOPWATT_DB", str(db))
    steps = {}

    def build(step: str) -> None:
        """Build incrementally, record what the build rewrote, compare with a full refresh."""
        _build()
        steps[step] = _curve_rows_rewritten(db)
        if step != "first":
            _check_against_full_refresh(db, tmp, step)

    try:
        # 1. first exports and runs; annual carbon via a series file ending before the data
        (tmp / "series.csv").write_text(
            "zone,from,to,g_per_kwh,source\n"
            f"GBR,{T0:%Y-%m-%dT%H:%M:%S}Z,{T0 + timedelta(seconds=400):%Y-%m-%dT%H:%M:%S}Z,"
            "150,test grid\n"
        )
        load(carbon_series.parse_csv(tmp / "series.csv"))
        _load_power(_power_csv(tmp / "p1.csv", rng, ["rack-a", "rack-b"], 0, 900))
        _load_history(
            tmp / "h1.csv", [(0, 60), (200, 75), (450, "unavailable"), (500, 70), (800, 65)]
        )
        counter_j = _load_counter(tmp / "c1.csv", 0, 900, 1000.0)
        meters = ["rack-a", "rack-b", "sensor.desk_plug", "rapl"]
        _load_runs(
            tmp / "r1.csv",
            [*_runs_over(meters, 10, 900, 97, 40), ("vit_b_16", 850, 1000, "rack-a")],
        )
        build("first")
        steps["runs_first"] = _run_level_state(db)

        # 2. appended exports of every meter, runs over them, one run ending past the data
        _load_power(_power_csv(tmp / "p2.csv", rng, ["rack-a", "rack-b"], 905, 1800))
        _load_history(tmp / "h2.csv", [(1000, 90), (1300, "unavailable"), (1350, 90), (1700, 55)])
        counter_j = _load_counter(tmp / "c2.csv", 900, 1800, counter_j)
        _load_runs(
            tmp / "r2.csv",
            [*_runs_over(meters, 910, 1800, 89, 35), ("resnet50", 1750, 1900, "rack-b")],
        )
        build("append")
        steps["idle_append"] = _idle_rows(db)
        steps["runs_append"] = _run_level_state(db)
        steps["append_total"] = _curve_rows_rewritten(db, latest=False)

        # 3. late readings inside rack-a's processed span, an overlapping re-export of rack-b with
        #    other values (the newest load wins), and rapl appended
        _load_power(_power_csv(tmp / "p3.csv", rng, ["rack-a"], 300.5, 330))
        _load_power(_power_csv(tmp / "p4.csv", rng, ["rack-b"], 1500, 2400, scale=1.1))
        counter_j = _load_counter(tmp / "c3.csv", 1800, 2400, counter_j)
        build("late")

        # 4. runs only: new runs over old readings (no meter named: the only overlapping meter)
        _load_runs(
            tmp / "r3.csv",
            [
                ("resnet18", 100, 160, "rapl"),
                ("resnet18", 2000, 2100, "rapl"),
                ("alexnet", 1950, 2050, None),
            ],
        )
        build("runs")

        # 5. rack-b registered again as a change-only source (no gap limit any more), rapl appended
        registration = pl.DataFrame(
            {
                "meter_id": ["rack-b"],
                "meter_kind": ["wall"],
                "zone": ["GBR"],
                "source_format": ["ha-history"],
            }
        )
        load(Batch("meters", "test", "rack-b again", "sha-rack-b", 1, {"meters": registration}))
        _load_counter(tmp / "c4.csv", 2400, 2600, counter_j)
        build("meters")
        yield db, steps
    finally:
        mp.undo()


def test_incremental_builds_equal_a_full_refresh(grown):
    # the comparisons ran in the fixture after each load; reaching here means every row agreed
    _, steps = grown
    assert set(steps["first"]) == {"rack-a", "rack-b", "sensor.desk_plug", "rapl"}


def test_an_append_recomputes_only_the_tails(grown):
    _, steps = grown
    first, append, total = steps["first"], steps["append"], steps["append_total"]
    for meter in first:
        # the tail: the last processed reading (recomputed, its next reading is new) and the new
        # ones; the readings before it are kept
        assert append[meter] == total[meter] - first[meter] + 1, meter


def test_an_append_recomputes_only_the_idle_readings_tail(grown):
    # new runs start after the processed ones: each meter's idle readings are recomputed from the
    # last reading at or before baseline_window_s (120 s) ahead of its first new run, not whole
    _, steps = grown
    for meter in ("rack-a", "rack-b", "rapl"):
        recomputed, stored = steps["idle_append"][meter]
        assert 0 < recomputed < stored, (meter, recomputed, stored)


def test_an_append_rewrites_only_the_runs_it_reaches(grown):
    # the run-level rows hold no per-meter value that a new reading moves (baselines and gap
    # limits are joined by the fct_ views): an append rewrites the new runs and the old runs
    # ending at or after their meter's last reading before it (that reading's interval is new),
    # not every run of every appended meter
    _, steps = grown
    before, after = steps["runs_first"], steps["runs_append"]
    new_runs = set(after["ends"]) - set(before["ends"])
    assert new_runs and new_runs <= after["rewritten"]
    old_rewritten = after["rewritten"] - new_runs
    reaching = {
        run_id
        for run_id, pairs in before["ends"].items()
        if any(end_us >= before["last_us"].get(meter, end_us + 1) for meter, end_us in pairs)
    }
    assert old_rewritten == reaching
    assert len(old_rewritten) < len(before["ends"]) / 4
    # int_run_bounds computes every run but stores only the runs whose rows changed: the new ones
    # and the old ones a new run overlaps (their has_overlap flag)
    changed = {r for r, rows in before["bounds"].items() if rows != after["bounds"][r]}
    assert after["bounds_rewritten"] == new_runs | changed


def test_late_data_rebuilds_only_that_meter(grown):
    db, steps = grown
    late = steps["late"]
    counts = _curve_rows_rewritten(db, latest=False)
    assert late["rack-a"] == counts["rack-a"]  # late readings: the whole meter
    assert late["rack-b"] == counts["rack-b"]  # re-export reaching back: the whole meter
    assert late["rapl"] < counts["rapl"]  # appended: its tail only
    assert "sensor.desk_plug" not in late  # no new data: untouched


def test_runs_only_load_leaves_the_curve_alone(grown):
    _, steps = grown
    assert steps["runs"] == {}


def test_a_changed_registration_rebuilds_that_meter(grown):
    _, steps = grown
    assert set(steps["meters"]) == {"rack-b", "rapl"}
