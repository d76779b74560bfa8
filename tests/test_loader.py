"""The shared loader: idempotent, one transaction per load, a clear error when busy."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import flopwatt.ingest.loader as loader
import pytest
from flopwatt.ingest import power

from flopwatt.core.db import DatabaseBusyError, connect

CSV = (
    "timestamp,watts,meter_id\n"
    "2024-01-01T00:00:00Z,10,a\n2024-01-01T00:00:01Z,x,a\n2024-01-01T00:00:02Z,12,a\n"
)


def counts(db_file) -> tuple[int, int, int]:
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        return tuple(
            con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in ("loads", "power_readings", "quarantine")
        )
    finally:
        con.close()


def test_load_log_and_second_load_adds_nothing(make_file, db_file):
    f = make_file("p.csv", CSV)
    first = loader.load(power.parse(f))
    assert first.load_id == 1 and first.skipped_as_duplicate_of is None
    again = loader.load(power.parse(f))
    assert again.skipped_as_duplicate_of == 1 and "0 rows added" in again.summary()
    assert counts(db_file) == (1, 2, 1)
    con = duckdb.connect(str(db_file), read_only=True)
    row = con.execute(
        "select source_path, source_sha256, rows_read, rows_loaded, rows_quarantined from raw.loads"
    ).fetchone()
    assert row[0] == str(f) and len(row[1]) == 64 and row[2:] == (3, 2, 1)
    (load_ids,) = con.execute("select list(distinct load_id) from raw.power_readings").fetchone()
    assert load_ids == [1]


def test_crash_mid_load_leaves_nothing(make_file, db_file, monkeypatch):
    batch = power.parse(make_file("p.csv", CSV))
    real_insert = loader._insert
    calls = []

    def failing_insert(con, table, frame):
        calls.append(table)
        if len(calls) == 2:  # readings written, then the next table fails
            raise RuntimeError("simulated crash")
        real_insert(con, table, frame)

    monkeypatch.setattr(loader, "_insert", failing_insert)
    with pytest.raises(RuntimeError, match="simulated crash"):
        loader.load(batch)
    assert counts(db_file) == (0, 0, 0)
    monkeypatch.setattr(loader, "_insert", real_insert)
    assert loader.load(batch).rows_loaded == 2  # and it can be loaded afterwards


def test_second_writer_gets_database_is_busy(db_file, make_file):
    loader.load(power.parse(make_file("p.csv", CSV)))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(db_file)!r}); print('ok', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        t0 = time.monotonic()
        with pytest.raises(DatabaseBusyError, match="database is busy"):
            connect(db_file)
        with pytest.raises(DatabaseBusyError):
            loader.load(power.parse(make_file("q.csv", CSV.replace("10,a", "11,a"))))
        assert time.monotonic() - t0 < 20
    finally:
        holder.kill()
        holder.wait()
    assert counts(db_file) == (1, 2, 1)
