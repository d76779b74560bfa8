"""Peak memory of ``flopwatt ingest power`` against the size of the CSV it loads.

    .venv/bin/python -m bench.ingest_memory [--size-mb 1000] [--meters 4] [--dir /tmp] [--keep]

Writes a generic power CSV (``timestamp,watts,meter_id``, readings 1 s apart per meter, a few
malformed values so the quarantine path runs too) of about ``--size-mb`` MB into ``--dir`` (never
into the repository), loads it with ``python -m flopwatt ingest power`` in a child process into a
fresh DuckDB file, and prints the file size, the child's peak RSS, their ratio, the rows loaded and
the wall time. The CSV and the warehouse are removed afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROWS_PER_BLOCK = 1_000_000


def write_csv(path: Path, size_mb: float, meters: int, seed: int = 1) -> int:
    """A power CSV of about ``size_mb`` MB; returns its data rows."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    rows = 0
    with open(path, "wb") as fh:
        fh.write(b"timestamp,watts,meter_id\n")
        block = 0
        while fh.tell() < size_mb * 1e6:
            n = ROWS_PER_BLOCK
            i = np.arange(block * n, (block + 1) * n)
            at = start + (i // meters) * np.timedelta64(1_000_000, "us")
            frame = pl.DataFrame(
                {
                    "timestamp": pl.Series(at).dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
                    "watts": np.round(rng.uniform(20.0, 400.0, n), 3).astype(str),
                    "meter_id": pl.Series([f"plug-{k:02d}" for k in range(meters)])[
                        (i % meters).tolist()
                    ],
                }
            )
            frame = frame.with_columns(
                pl.when(pl.int_range(pl.len()) % 250_000 == 7)
                .then(pl.lit("unavailable"))
                .otherwise(pl.col("watts"))
                .alias("watts")
            )
            frame.write_csv(fh, include_header=False)
            rows += n
            block += 1
    return rows


def measure(csv: Path, db: Path) -> tuple[float, float, str]:
    """(peak RSS of the ingest child in bytes, wall seconds, its last output line)."""
    env = {**os.environ, "FLOPWATT_DB": str(db)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "flopwatt", "ingest", "power", str(csv)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"ingest failed ({proc.returncode}):\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    summary = next(line for line in proc.stdout.splitlines() if ": load #" in line)
    return peak, wall, summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=1000.0)
    ap.add_argument("--meters", type=int, default=4)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="flopwatt-ingest-memory-", dir=args.dir))
    csv, db = work / "power.csv", work / "warehouse.duckdb"
    t0 = time.perf_counter()
    rows = write_csv(csv, args.size_mb, args.meters)
    size = csv.stat().st_size
    print(f"wrote {csv}: {size / 1e6:,.0f} MB, {rows:,} rows in {time.perf_counter() - t0:.0f} s")
    peak, wall, summary = measure(csv, db)
    print(summary)
    print(
        f"CSV {size / 2**30:.2f} GiB, peak RSS {peak / 2**30:.2f} GiB, "
        f"ratio {peak / size:.2f}, {wall:.0f} s ({rows / wall:,.0f} rows/s)"
    )
    if not args.keep:
        for p in sorted(work.glob("**/*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        work.rmdir()


if __name__ == "__main__":
    main()
