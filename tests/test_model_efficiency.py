"""fct_model_efficiency and `report --since` divide the same additive day rows.

A hand-made warehouse: constant-power meters (100 W wall plug, 40 W GPU) sampled irregularly
around runs on three days, so each run's energy is power x covered seconds, by hand. Expected
statistics are computed here with numpy from those hand values, never read from the code.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from flopwatt.plots.data import load_marts
from helpers import warehouse_env

from flopwatt.cli import main
from flopwatt.core.db import connect

DAY1, DAY2, DAY3 = date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)
WATTS = {"plug": 100.0, "plug2": 100.0, "plug3": 100.0, "gpu0": 40.0}
KIND = {"plug": "wall", "plug2": "wall", "plug3": "wall", "gpu0": "gpu"}
N_INFERENCES = 100
# run id, model, weights, meter, day, hh:mm, duration s, seconds of data (None: all), phase
RUNS = [
    ("a1", "resnet18", "IMAGENET1K_V1", "plug", DAY1, "10:00", 10, None, "inference"),
    ("a2", "resnet18", "IMAGENET1K_V1", "plug", DAY1, "11:00", 12, None, "inference"),
    ("a3", "resnet18", "IMAGENET1K_V1", "plug", DAY2, "10:00", 14, None, "inference"),
    ("a4", "resnet18", "IMAGENET1K_V1", "plug", DAY3, "10:00", 11, None, "inference"),
    ("ag", "resnet18", "IMAGENET1K_V1", "gpu0", DAY2, "12:00", 20, None, "inference"),
    ("at", "resnet18", "IMAGENET1K_V1", "plug", DAY2, "13:00", 30, None, "training"),
    ("b1", "mobilenet_v3_small", "IMAGENET1K_V1", "plug", DAY1, "14:00", 10, None, "inference"),
    ("b2", "mobilenet_v3_small", "IMAGENET1K_V1", "plug", DAY1, "15:00", 16, None, "inference"),
    # these plugs' last readings come 6 s / 8 s into the runs: incomplete, energy over that part
    ("b3", "mobilenet_v3_small", "IMAGENET1K_V1", "plug2", DAY3, "14:00", 10, 6, "inference"),
    ("b4", "mobilenet_v3_small", "IMAGENET1K_V1", "plug3", DAY3, "15:00", 12, 8, "inference"),
    ("c1", "resnet50", "IMAGENET1K_V1", "plug", DAY1, "16:00", 10, None, "inference"),
    ("c2", "resnet50", "IMAGENET1K_V1", "gpu0", DAY3, "16:00", 10, None, "inference"),
]


def _start(day: date, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m)


def _readings(start: datetime, end: datetime, covered_s: int | None) -> list[datetime]:
    """Irregular readings (1.5 s / 2.5 s apart) from 20 s before the run to 20 s after it, or up
    to exactly ``covered_s`` into it (the meter went silent)."""
    t, out, steps = start - timedelta(seconds=20), [], (1.5, 2.5)
    stop = (
        end + timedelta(seconds=20) if covered_s is None else start + timedelta(seconds=covered_s)
    )
    while t < stop:
        out.append(t)
        t += timedelta(seconds=steps[len(out) % 2])
    return [*out, stop] if covered_s is not None else out


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("efficiency")
    power = {kind: ["timestamp,watts,meter_id"] for kind in ("wall", "gpu")}
    runs = ["model,start_time,end_time,n_inferences,meter_id,weights,phase"]
    for _, model, weights, meter, day, hhmm, dur, covered, phase in RUNS:
        start = _start(day, hhmm)
        end = start + timedelta(seconds=dur)
        power[KIND[meter]] += [
            f"{t.isoformat()}Z,{WATTS[meter]},{meter}" for t in _readings(start, end, covered)
        ]
        runs.append(f"{model},{start.isoformat()}Z,{end.isoformat()}Z,{N_INFERENCES},{meter},"
                    f"{weights},{phase}")  # fmt: skip
    for kind, lines in power.items():
        (folder / f"{kind}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "runs.csv").write_text("\n".join(runs) + "\n", encoding="utf-8")
    with warehouse_env(folder / "warehouse.duckdb"):
        for args in (
            ["ingest", "power", str(folder / "wall.csv"), "--meter-kind", "wall"],
            ["ingest", "power", str(folder / "gpu.csv"), "--meter-kind", "gpu"],
            ["ingest", "runs", str(folder / "runs.csv")],
            ["build", "--quiet"],
        ):
            try:
                main(args)
            except SystemExit as exc:
                assert not exc.code, f"{args} exited {exc.code}"
        yield


def _expected(since: date) -> dict[str, dict]:
    """model -> expected statistics over the inference runs on or after ``since``, by the rule."""
    rank = {"wall": 1, "gpu": 2}
    kind_of = KIND
    out = {}
    for model in sorted({r[1] for r in RUNS}):
        rows = [r for r in RUNS if r[1] == model and r[8] == "inference" and r[4] >= since]
        if not rows:
            continue
        best = min(rank[kind_of[r[3]]] for r in rows)
        of_best = [r for r in rows if rank[kind_of[r[3]]] == best]
        complete = [r for r in of_best if r[7] is None]
        used = complete or of_best
        energy = np.array([WATTS[r[3]] * (r[7] or r[6]) for r in used])
        per_inference = energy / N_INFERENCES
        out[model] = {
            "n_runs": len(rows),
            "n_complete_runs": len(complete),
            "meter_kind": kind_of[used[0][3]],
            "energy_per_inference_j_mean": per_inference.mean(),
            "energy_per_inference_j_std": per_inference.std(ddof=1) if len(used) > 1 else None,
            "energy_kwh_mean": (energy / 3.6e6).mean(),
            "mean_power_w": WATTS[used[0][3]],
            "time_per_inference_ms_mean": np.mean([r[6] * 1000 / N_INFERENCES for r in used]),
        }
    return out


def _check(frame: pl.DataFrame, since: date) -> None:
    expected = _expected(since)
    assert sorted(frame["model_name"].to_list()) == sorted(expected)
    for row in frame.iter_rows(named=True):
        for col, want in expected[row["model_name"]].items():
            if want is None or isinstance(want, str | int):
                assert row[col] == want, (row["model_name"], col)
            else:
                assert row[col] == pytest.approx(want, rel=1e-12), (row["model_name"], col)


def test_mart_follows_the_rule(warehouse):
    con = connect(read_only=True)
    try:
        mart = con.sql("select * from marts.fct_model_efficiency").pl()
    finally:
        con.close()
    _check(mart, DAY1)


@pytest.mark.parametrize("since", [DAY2, DAY3])
def test_since_divides_the_same_sums_over_fewer_days(warehouse, since):
    # day 3 alone: resnet50 switches to its gpu runs, mobilenet_v3_small has only incomplete runs
    # (kept, n_complete_runs = 0), resnet18's training run never counts
    data = load_marts(since=since)
    _check(data.efficiency, since)
    assert data.runs["started_at"].min() >= datetime(since.year, since.month, since.day)
    assert any(f"--since {since}" in n for n in data.notes)


def test_since_covering_all_data_equals_the_mart(warehouse):
    whole = load_marts().efficiency
    since = load_marts(since=DAY1 - timedelta(days=30)).efficiency
    assert since.columns == whole.columns
    assert since.height == whole.height == 3
    for col in whole.columns:
        a, b = whole[col], since[col]
        if a.dtype.is_float():
            assert np.allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=0, equal_nan=True), col
        else:
            assert a.to_list() == b.to_list(), col
