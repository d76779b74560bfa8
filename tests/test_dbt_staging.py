"""dbt staging over the raw layer: data tests pass, overlapping exports are deduplicated."""

from __future__ import annotations

import duckdb
import pytest
from flopwatt.ingest import accuracy, carbon, flops, power, runs
from flopwatt.ingest.loader import load

from flopwatt.core.errors import FlopwattError
from flopwatt.dbt_runner import run_dbt_build

pytestmark = pytest.mark.slow


def test_staging_builds_and_deduplicates(make_file, db_file):
    a = make_file("a.csv", "timestamp,watts\n2024-01-01T00:00:00Z,10\n2024-01-01T00:00:03Z,20\n")
    b = make_file("b.csv", "timestamp,watts\n2024-01-01T00:00:03Z,21\n2024-01-01T00:00:06Z,30\n")
    load(power.parse(a, meter="plug"))
    load(power.parse(b, meter="plug"))  # overlaps a at 00:00:03: the later load wins
    load(
        runs.parse(
            make_file(
                "r.csv", "model,start_time,end_time\nx,2024-01-01T00:00:01Z,2024-01-01T00:00:05Z\n"
            )
        )
    )
    load(flops.parse(make_file("f.csv", "model,macs,parameters\nx,100,10\n")))
    load(accuracy.parse(make_file("acc.csv", "model,top1,top5\nx,30,10\n"), as_="error"))
    load(carbon.parse_csv(make_file("c.csv", "zone,year,g_per_kwh\nGBR,2023,200\n")))
    run_dbt_build(["--select", "staging"], quiet=True)
    con = duckdb.connect(str(db_file), read_only=True)
    got = con.execute(
        "select measured_at::varchar, power_w from staging.stg_raw__power_readings order by 1"
    ).fetchall()
    assert got == [
        ("2024-01-01 00:00:00", 10.0),
        ("2024-01-01 00:00:03", 21.0),
        ("2024-01-01 00:00:06", 30.0),
    ]
    assert con.execute("select top1_err_pct from staging.stg_raw__accuracy_scores").fetchone() == (
        30.0,
    )


def test_data_tests_catch_bad_rows_written_behind_the_loader(make_file, db_file):
    load(
        runs.parse(
            make_file(
                "r.csv", "model,start_time,end_time\nx,2024-01-01T00:00:01Z,2024-01-01T00:00:05Z\n"
            )
        )
    )
    con = duckdb.connect(str(db_file))
    con.execute("update raw.runs set ended_at = started_at - interval 1 second")
    con.close()
    with pytest.raises(FlopwattError, match="did not pass"):
        run_dbt_build(["--select", "staging"], quiet=True)
