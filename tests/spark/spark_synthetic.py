"""A small synthetic warehouse for engine-parity checks (DuckDB vs Spark).

Power meters sampled irregularly (1-5 s, microsecond timestamps, a few long gaps), cumulative
counters that wrap (RAPL-like range) and reset, runs inside, across and outside the data,
overlapping runs, idle runs, an annual carbon intensity and a half-hourly series for one zone.
Hosts: pm0 and pm2 (GPUs), pm1 (a wall plug) and cm0 (a CPU package) are one host, "box"; some runs
name the host instead of a meter (a few also name the GPU pm0), some name nothing.
Everything goes through ``ingest.loader.load`` so the raw layer is exactly what ingest would write.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from flopwatt.ingest.loader import Batch, load, sha256_bytes

T0 = datetime(2024, 3, 30, 22, 0, 0)  # spans the UK DST switch (UTC stored, so nothing special)
COUNTER_RANGE_J = 262143.328850  # RAPL energy_uj wraps at 2^32 uJ on some CPUs: use a short range


def _ts(us: np.ndarray) -> pl.Series:
    return pl.Series(np.datetime64(T0, "us") + us.astype("timedelta64[us]"))


def _batch(
    kind: str, fmt: str, tables: dict[str, pl.DataFrame], tag: str, quarantine=None
) -> Batch:
    rows = sum(f.height for f in tables.values())
    batch = Batch(
        kind=kind,
        format=fmt,
        source=f"synthetic:{tag}",
        sha256=sha256_bytes(tag.encode()),
        rows_read=rows,
        tables=tables,
    )
    if quarantine is not None:
        batch.quarantine = quarantine
        batch.rows_read += quarantine.height
    return batch


def _gap_markers(meter: str, t: np.ndarray, rng) -> pl.DataFrame:
    """Outage markers ("gap: ..." quarantined rows with meter and instant) halfway between some
    consecutive readings: they end the held reading (a Home Assistant 'unavailable' state)."""
    k = rng.choice(t.size - 1, size=max(1, t.size // 2000), replace=False)
    at = t[k] + (t[k + 1] - t[k]) // 2
    return pl.DataFrame(
        {
            "line_number": (k + 1).astype(np.int64),
            "raw_text": ["unavailable"] * k.size,
            "reason": ["gap: state 'unavailable' (no reading)"] * k.size,
            "is_gap": [True] * k.size,
            "meter_id": [meter] * k.size,
            "measured_at": _ts(at),
        }
    )


def build(
    db_path: Path | str,
    n_readings: int = 100_000,
    n_runs: int = 1_000,
    n_power_meters: int = 3,
    n_counter_meters: int = 2,
    seed: int = 7,
) -> dict[str, int]:
    """Load a synthetic data set into a fresh DuckDB file; return row counts per raw table."""
    rng = np.random.default_rng(seed)
    meters = [f"pm{i}" for i in range(n_power_meters)] + [f"cm{i}" for i in range(n_counter_meters)]
    box = {"pm0", "pm1", "pm2", "cm0"}  # one host: two GPUs, a wall plug, a CPU package
    per_meter = n_readings // len(meters)
    con = duckdb.connect(str(db_path))
    try:
        spans: dict[str, tuple[int, int]] = {}
        for i, meter in enumerate(meters):
            step = rng.integers(1_000_000, 5_000_001, per_meter)  # 1-5 s in microseconds
            gaps = rng.choice(per_meter, size=max(1, per_meter // 5000), replace=False)
            step[gaps] += rng.integers(40_000_000, 400_000_000, gaps.size)  # gaps > max_gap_s
            t = np.cumsum(step) + rng.integers(0, 30_000_000)  # meters start at different times
            spans[meter] = (int(t[0]), int(t[-1]))
            if meter.startswith("pm"):
                power = np.round(rng.uniform(20.0, 350.0, per_meter), 3)
                readings = pl.DataFrame(
                    {
                        "line_number": np.arange(1, per_meter + 1, dtype=np.int64),
                        "meter_id": [meter] * per_meter,
                        "measured_at": _ts(t),
                        "power_w": power,
                    }
                )
                meta = pl.DataFrame(
                    {
                        "meter_id": [meter],
                        "meter_kind": ["wall" if i == 1 else "gpu"],
                        "zone": [None if i % 2 else "GBR"],
                        "host_id": ["box" if meter in box else None],
                        "source_format": ["synthetic"],
                        "description": ["synthetic power meter"],
                    }
                )
                load(
                    _batch(
                        "power",
                        "synthetic",
                        {"power_readings": readings, "meters": meta},
                        f"power-{meter}-{seed}-{n_readings}",
                        quarantine=_gap_markers(meter, t, rng),
                    ),
                    con,
                )
            else:
                dt_s = np.diff(t, prepend=t[0]) / 1e6
                true_energy = np.cumsum(rng.uniform(5.0, 90.0, per_meter) * dt_s)
                counter = np.mod(true_energy, COUNTER_RANGE_J)  # wraps
                reset_at = per_meter // 2
                counter[reset_at:] = np.mod(
                    true_energy[reset_at:] - true_energy[reset_at], COUNTER_RANGE_J
                )
                readings = pl.DataFrame(
                    {
                        "line_number": np.arange(1, per_meter + 1, dtype=np.int64),
                        "meter_id": [meter] * per_meter,
                        "measured_at": _ts(t),
                        "energy_j": np.round(counter, 6),
                        "counter_range_j": [COUNTER_RANGE_J] * per_meter,
                    }
                )
                meta = pl.DataFrame(
                    {
                        "meter_id": [meter],
                        "meter_kind": ["cpu_package"],
                        "zone": ["FRA"],
                        "host_id": ["box" if meter in box else None],
                        "source_format": ["synthetic"],
                        "description": ["synthetic energy counter"],
                    }
                )
                load(
                    _batch(
                        "power",
                        "synthetic",
                        {"energy_counters": readings, "meters": meta},
                        f"counter-{meter}-{seed}-{n_readings}",
                    ),
                    con,
                )

        # runs: mostly inside a meter's span, some across its start / end, some fully outside
        run_meter = rng.choice(meters, n_runs)
        lo = np.array([spans[m][0] for m in run_meter])
        hi = np.array([spans[m][1] for m in run_meter])
        dur = rng.integers(2_000_000, 600_000_000, n_runs)
        start = lo + (rng.uniform(0, 1, n_runs) * (hi - lo - dur)).astype(np.int64)
        edge = rng.uniform(0, 1, n_runs)
        start = np.where(edge < 0.02, lo - dur // 2, start)  # begins before the first reading
        start = np.where(
            (edge >= 0.02) & (edge < 0.04), hi - dur // 2, start
        )  # ends after the last
        start = np.where((edge >= 0.04) & (edge < 0.05), hi + 10_000_000, start)  # all outside
        phase = np.where(rng.uniform(0, 1, n_runs) < 0.05, "idle", "inference")
        n_inf = rng.integers(100, 10_001, n_runs)
        # runs on box's meters: 30% name the host (a third of those also the GPU), 10% nothing
        naming = rng.uniform(0, 1, n_runs)
        on_box = np.isin(run_meter, sorted(box))
        by_host = on_box & (naming < 0.3)
        by_nothing = on_box & (naming >= 0.3) & (naming < 0.4)
        devices = [("pm0" if d else None) for d in by_host & (naming < 0.1)]
        named = by_host | by_nothing
        run_meters = [None if n else m for m, n in zip(run_meter, named, strict=True)]
        hosts = [
            "box" if h else None if n else "synthetic"
            for h, n in zip(by_host, by_nothing, strict=True)
        ]
        runs = pl.DataFrame(
            {
                "line_number": np.arange(1, n_runs + 1, dtype=np.int64),
                "run_id": [f"run{i:06d}" for i in range(n_runs)],
                "model_name": [f"model_{k}" for k in rng.integers(0, 25, n_runs)],
                "weights": [None] * n_runs,
                "phase": phase,
                "started_at": _ts(start),
                "ended_at": _ts(start + dur),
                "n_inferences": pl.Series(n_inf).set(pl.Series(phase == "idle"), None),
                "batch_size": np.ones(n_runs, dtype=np.int32),
                "meter_id": run_meters,
                "device": ["cpu"] * n_runs,
                "host": hosts,
                "devices": devices,
                "torch_threads": np.full(n_runs, 2, dtype=np.int32),
                "measured_energy_j": [None] * n_runs,
                "source_format": ["synthetic"] * n_runs,
            },
            schema_overrides={
                "weights": pl.String,
                "meter_id": pl.String,
                "host": pl.String,
                "devices": pl.String,
                "measured_energy_j": pl.Float64,
                "n_inferences": pl.Int64,
            },
        )
        load(_batch("runs", "synthetic", {"runs": runs}, f"runs-{seed}-{n_runs}-{n_readings}"), con)

        annual = pl.DataFrame(
            {
                "line_number": [1, 2, 3],
                "zone": ["GBR", "FRA", "USA"],
                "zone_name": ["United Kingdom", "France", "United States"],
                "year": [2024, 2024, 2024],
                "g_per_kwh": [238.0, 56.0, 369.0],
                "source": ["synthetic"] * 3,
                "source_version": ["1"] * 3,
            }
        )
        load(_batch("carbon", "synthetic", {"carbon_intensity": annual}, f"carbon-{seed}"), con)
        horizon = max(s[1] for s in spans.values()) + 3_600_000_000
        half_hours = np.arange(-3_600_000_000, horizon, 1_800_000_000, dtype=np.int64)
        series = pl.DataFrame(
            {
                "line_number": np.arange(1, half_hours.size + 1, dtype=np.int64),
                "zone": ["GBR"] * half_hours.size,
                "from_at": _ts(half_hours),
                "to_at": _ts(half_hours + 1_800_000_000),
                "g_per_kwh": np.round(rng.uniform(80.0, 320.0, half_hours.size), 1),
                "is_forecast": [False] * half_hours.size,
                "source": ["synthetic"] * half_hours.size,
            }
        )
        load(
            _batch(
                "carbon",
                "synthetic",
                {"carbon_intensity_series": series},
                f"carbon-series-{seed}-{n_readings}",
            ),
            con,
        )
        return {
            t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in ("power_readings", "energy_counters", "runs", "meters", "quarantine")
        }
    finally:
        con.close()
