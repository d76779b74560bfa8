"""bench/floor.py's query, the floor the README's benchmark table compares the models with: its run
energies must be exact, or the floor would be measured on a wrong answer."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from bench.floor import duckdb_floor


def _warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    con.execute(
        "create table raw.power_readings (meter_id varchar, measured_at timestamp, power_w double)"
    )
    con.execute(
        "create table raw.runs (run_id varchar, meter_id varchar, started_at timestamp, "
        "ended_at timestamp)"
    )
    # meter a: 10 W for 4 s, then 30 W for 6 s (readings at 0, 4, 10 s), inserted out of order;
    # meter b: 100 W every hour for three hours (change-only shape: hour-long holds)
    con.execute(
        """insert into raw.power_readings values
        ('a', timestamp '2024-03-31 00:00:10', 5.0),
        ('a', timestamp '2024-03-31 00:00:00', 10.0),
        ('b', timestamp '2024-03-31 01:00:00', 100.0),
        ('a', timestamp '2024-03-31 00:00:04', 30.0),
        ('b', timestamp '2024-03-31 00:00:00', 100.0),
        ('b', timestamp '2024-03-31 02:00:00', 50.0)"""
    )
    con.execute(
        """insert into raw.runs values
        ('r1', 'a', timestamp '2024-03-31 00:00:02', timestamp '2024-03-31 00:00:07'),
        ('r2', 'b', timestamp '2024-03-31 00:30:00', timestamp '2024-03-31 01:30:00'),
        ('r3', 'a', timestamp '2024-03-31 00:00:04', timestamp '2024-03-31 00:00:10')"""
    )
    con.close()


def test_the_floor_query_integrates_each_meter_exactly(tmp_path):
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    seconds, energy = duckdb_floor(db, tmp_path / "floor.duckdb", ["r1", "r2", "r3", "missing"])
    # by hand, zero-order hold: r1 = 10 W x 2 s + 30 W x 3 s; r2 = 100 W x 3600 s (both halves at
    # 100 W); r3 = 30 W x 6 s; a run the query never saw has no energy
    assert energy[:3] == pytest.approx([20.0 + 90.0, 360_000.0, 180.0], rel=1e-12)
    assert np.isnan(energy[3])
    assert seconds > 0
    assert not (tmp_path / "floor.duckdb").exists()  # the scratch file is removed
