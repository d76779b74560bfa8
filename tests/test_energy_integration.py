"""End to end: synthetic meters with a known integral -> loader -> dbt build -> fct_run_energy.

The expected energies are computed independently of the models' method (no cumulative sum, no
searchsorted): for every run, the sum over all reading intervals of the integral of the held
(zero-order hold) or linearly interpolated (trapezoid) signal over the overlap of the interval and
the run, in exact rational steps with numpy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from flopwatt.ingest.loader import Batch, load
from helpers import warehouse_env

pytestmark = pytest.mark.slow

T0 = datetime(2024, 1, 10)
US = 1_000_000


def _us(dt: datetime) -> int:
    return int((dt - datetime(1970, 1, 1)).total_seconds()) * US + dt.microsecond


def _expected(
    ts_us: np.ndarray, p: np.ndarray, start_us: int, end_us: int, trapezoid: bool
) -> float:
    """Integral over [start, end] of the held / interpolated signal, clipped to the data span."""
    a = np.maximum(ts_us[:-1], start_us)
    b = np.minimum(ts_us[1:], end_us)
    keep = b > a
    if not keep.any():
        return float("nan")
    t_lo, t_hi, p_lo, p_hi = ts_us[:-1][keep], ts_us[1:][keep], p[:-1][keep], p[1:][keep]
    a, b = a[keep], b[keep]
    if not trapezoid:
        return float(np.sum(p_lo * (b - a)) / US)
    slope = (p_hi - p_lo) / (t_hi - t_lo)
    pa = p_lo + slope * (a - t_lo)
    pb = p_lo + slope * (b - t_lo)
    return float(np.sum((pa + pb) / 2 * (b - a)) / US)


def _signals(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    base = _us(T0)
    out = {}
    # piecewise constant with irregular 1-5 s sampling and a 2 minute hole
    dt = rng.integers(1 * US, 5 * US + 1, size=600)
    dt[300] = 120 * US
    ts = base + np.concatenate([[0], np.cumsum(dt)])
    p = np.repeat([50.0, 180.0, 95.5, 240.25, 10.0, 130.0], len(ts) // 6 + 1)[: len(ts)]
    out["pc"] = (ts, p)
    # a sinusoid sampled irregularly (to the microsecond)
    dt = rng.integers(1 * US, 5 * US + 1, size=800) + rng.integers(0, US, size=800)
    ts = base + 7 * US + np.concatenate([[0], np.cumsum(dt)])
    p = 120 + 80 * np.sin(2 * np.pi * (ts - base) / US / 300.0)
    out["sin"] = (ts, p)
    return out


def _runs_for(ts: np.ndarray, rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    lo, hi = int(ts[0]), int(ts[-1])
    starts = rng.integers(lo + 1, hi - 60 * US, size=n)
    lengths = rng.integers(1 * US, 600 * US, size=n)
    runs = [(int(s), int(min(s + d, hi))) for s, d in zip(starts, lengths, strict=True)]
    runs.append((lo - 30 * US, lo + 40 * US))  # starts before the first reading
    runs.append((hi - 20 * US, hi + 50 * US))  # ends after the last reading
    runs.append((int(ts[10]), int(ts[12])))  # bounds exactly on readings
    return runs


def _write_runs_csv(path) -> None:
    # naive local times (Europe/London) across both DST changes, no meter column (pm.csv style)
    path.write_text(
        "model,start_time,end_time\n"
        "resnet18,2024-03-31 00:50:00.250000,2024-03-31 02:10:00.750000\n"
        "resnet34,2023-10-29 00:30:00.000000,2023-10-29 02:30:00.000000\n",
        encoding="utf-8",
    )


def _dst_signal() -> tuple[np.ndarray, np.ndarray]:
    # a 4 W + 1 W/hour ramp of 1 Hz readings around both transitions, in UTC
    parts = []
    for day in (datetime(2023, 10, 28, 22), datetime(2024, 3, 30, 23)):
        ts = _us(day) + np.arange(0, 6 * 3600, 2) * US
        parts.append(ts)
    ts = np.concatenate(parts)
    p = 4.0 + (ts - ts[0]) / US / 3600.0
    return ts, p


def _build(tmp_path_factory, trapezoid: bool):
    from flopwatt.ingest.runs import parse

    from flopwatt.core.db import connect
    from flopwatt.dbt_runner import run_dbt_build

    rng = np.random.default_rng(20240310)
    folder = tmp_path_factory.mktemp("trapezoid" if trapezoid else "zoh")
    db = folder / "warehouse.duckdb"
    with warehouse_env(db):
        signals = _signals(rng)
        signals["dst"] = _dst_signal()
        con = connect()
        names = list(signals)
        load(Batch("meters", "test", "meters", f"m-{folder}", len(names), tables={
            "meters": pl.DataFrame({"meter_id": names, "meter_kind": ["wall"] * len(names),
                                    "zone": ["GBR"] * len(names)})}), con)  # fmt: skip
        for name, (ts, p) in signals.items():
            frame = pl.DataFrame({
                "meter_id": [name] * len(ts),
                "measured_at": pl.Series(ts).cast(pl.Datetime("us")),
                "power_w": p,
            })  # fmt: skip
            load(Batch("power", "test", name, f"p-{name}-{folder}", frame.height,
                       tables={"power_readings": frame}), con)  # fmt: skip
        expected = {}
        rows = []
        for name in ("pc", "sin"):
            ts, p = signals[name]
            for i, (s, e) in enumerate(_runs_for(ts, rng, 40)):
                rid = f"{name}-{i}"
                rows.append((rid, name, s, e))
                expected[rid] = _expected(ts, p, s, e, trapezoid)
        runs = pl.DataFrame(
            {
                "run_id": [r[0] for r in rows],
                "model_name": "resnet50",
                "phase": "inference",
                "started_at": pl.Series([r[2] for r in rows]).cast(pl.Datetime("us")),
                "ended_at": pl.Series([r[3] for r in rows]).cast(pl.Datetime("us")),
                "n_inferences": 100,
                "meter_id": [r[1] for r in rows],
            }
        )
        load(Batch("runs", "test", "runs", f"r-{folder}", runs.height, tables={"runs": runs}), con)
        csv = folder / "pm.csv"
        _write_runs_csv(csv)
        dst_batch = parse(csv, tz="Europe/London")
        load(dst_batch, con)
        for r in dst_batch.tables["runs"].iter_rows(named=True):
            ts, p = signals["dst"]
            expected[r["run_id"]] = _expected(
                ts, p, _us(r["started_at"]), _us(r["ended_at"]), trapezoid
            )
        con.close()
        args = ["--vars", "{energy_integration: trapezoid}"] if trapezoid else []
        run_dbt_build(args, quiet=True)
        con = connect(read_only=True)
        got = con.sql("select * from marts.fct_run_energy").pl()
        con.close()
    return got, expected, dst_batch


@pytest.fixture(scope="module")
def zoh(tmp_path_factory):
    return _build(tmp_path_factory, trapezoid=False)


@pytest.fixture(scope="module")
def trapezoid(tmp_path_factory):
    return _build(tmp_path_factory, trapezoid=True)


def _compare(got: pl.DataFrame, expected: dict[str, float]) -> None:
    assert set(got["run_id"]) == set(expected)
    for row in got.iter_rows(named=True):
        want = expected[row["run_id"]]
        assert row["energy_j"] is not None, row["run_id"]
        assert abs(row["energy_j"] - want) <= 1e-9 * abs(want), (
            row["run_id"],
            row["energy_j"],
            want,
        )


def test_zero_order_hold_matches_independent_integral(zoh):
    got, expected, _ = zoh
    _compare(got, expected)


def test_trapezoid_matches_independent_integral(trapezoid):
    got, expected, _ = trapezoid
    _compare(got, expected)


def test_trapezoid_of_sinusoid_is_close_to_the_analytic_integral(trapezoid):
    got, _, _ = trapezoid
    base = _us(T0) / US
    for row in got.filter(pl.col("meter_id") == "sin", pl.col("is_complete")).iter_rows(named=True):
        a = _us(row["started_at"]) / US - base
        b = _us(row["ended_at"]) / US - base
        w = 2 * np.pi / 300.0
        exact = 120 * (b - a) - 80 / w * (np.cos(w * b) - np.cos(w * a))
        assert abs(row["energy_j"] - exact) <= 2e-3 * exact


def test_gap_and_edges_are_flagged_not_zero(zoh):
    got, _, _ = zoh
    pc = got.filter(pl.col("meter_id") == "pc")
    # the 2 minute hole makes runs spanning it incomplete, with a max gap of 120 s
    holed = pc.filter(pl.col("max_gap_s") >= 120)
    assert holed.height > 0
    assert not holed["is_complete"].any()
    assert (holed["coverage_ratio"] < 1).all()
    # runs sticking out of the data are incomplete but keep the energy of their covered part
    edge = got.filter(pl.col("run_id").is_in(["pc-40", "pc-41", "sin-40", "sin-41"]))
    assert edge.height == 4
    assert not edge["is_complete"].any()
    assert (edge["energy_j"] > 0).all()
    # bounds exactly on readings: readings_count counts both ends
    assert got.filter(pl.col("run_id") == "pc-42")["readings_count"].item() == 3


def test_dst_local_logs_are_converted_and_attributed_to_the_only_meter(zoh):
    got, _, batch = zoh
    runs = batch.tables["runs"]
    spring = runs.filter(pl.col("model_name") == "resnet18").row(0, named=True)
    autumn = runs.filter(pl.col("model_name") == "resnet34").row(0, named=True)
    # 00:50:00.25 GMT -> 02:10:00.75 BST is 20 min 0.5 s; 00:30 BST -> 02:30 GMT is 3 h
    assert spring["ended_at"] - spring["started_at"] == timedelta(minutes=20, microseconds=500_000)
    assert autumn["ended_at"] - autumn["started_at"] == timedelta(hours=3)
    dst = got.filter(pl.col("model_name").is_in(["resnet18", "resnet34"]))
    assert dst["meter_id"].to_list() == ["dst", "dst"]
    assert set(dst["meter_source"]) == {"only_overlapping"}
    assert dst["is_complete"].all()


def test_no_carbon_intensity_gives_null_co2_not_zero(zoh):
    got, _, _ = zoh
    # no intensity was loaded: co2 is null, never 0
    assert got["co2_g"].null_count() == got.height
