"""CodeCarbon emissions.csv, three column generations: runs with the energy CodeCarbon measured."""

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from flopwatt.ingest import codecarbon_csv
from flopwatt.ingest.loader import load

from flopwatt.core.errors import IngestError

FIX = Path(__file__).parent / "fixtures"


def test_v1_columns_local_time_and_dst_gap():
    b = codecarbon_csv.parse(FIX / "codecarbon_v1_emissions.csv", tz="Europe/Paris")
    runs = b.tables["runs"].to_dicts()
    assert len(runs) == 1
    r = runs[0]
    # 18:00:10 CET = 17:00:10 UTC is the end; duration 10 s
    assert (r["started_at"], r["ended_at"]) == (datetime(2021, 3, 27, 17, 0, 0),
                                                datetime(2021, 3, 27, 17, 0, 10))  # fmt: skip
    assert r["model_name"] == "resnet50"
    assert r["measured_energy_j"] == pytest.approx(0.0002 * 3.6e6)  # 720 J
    assert r["source_format"] == "codecarbon"
    # 2021-03-28 02:30 does not exist in Paris (clocks 02:00 -> 03:00)
    (reason,) = b.quarantine["reason"].to_list()
    assert "non-existent local time" in reason


def test_v2_cumulative_flushes_keep_the_last_row():
    b = codecarbon_csv.parse(FIX / "codecarbon_v2_emissions.csv", tz="Europe/Paris",
                             inferences=10000)  # fmt: skip
    runs = b.tables["runs"].to_dicts()
    assert len(runs) == 1
    r = runs[0]
    # 14:30:10 CEST = 12:30:10 UTC; minus 70.5 s
    assert r["ended_at"] == datetime(2022, 7, 1, 12, 30, 10)
    assert r["started_at"] == datetime(2022, 7, 1, 12, 28, 59, 500000)
    assert r["measured_energy_j"] == pytest.approx(9000.0)  # 0.0025 kWh
    assert r["device"] == "1 x NVIDIA GeForce RTX 3090"
    assert r["n_inferences"] == 10000
    reasons = dict(b.quarantine.select("line_number", "reason").rows())
    assert reasons[2].startswith("superseded") and "line 3" in reasons[2]
    assert reasons[4] == "energy_consumed is empty"
    assert b.rows_read == 3 and b.rows_loaded == 1


def test_v3_columns_model_override_cpu_device(tmp_path):
    b = codecarbon_csv.parse(FIX / "codecarbon_v3_emissions.csv", tz="Europe/London",
                             model="resnet18", phase="training")  # fmt: skip
    r = b.tables["runs"].row(0, named=True)
    assert (r["model_name"], r["phase"]) == ("resnet18", "training")
    assert (r["started_at"], r["ended_at"]) == (datetime(2025, 1, 10, 8), datetime(2025, 1, 10, 9))
    assert r["measured_energy_j"] == pytest.approx(144000.0)  # 0.04 kWh
    assert r["device"] == "Intel(R) Core(TM) i7-1185G7"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    res = load(b, con=con)
    assert res.rows_loaded == 1
    got = con.execute(
        "select model_name, measured_energy_j, source_format from raw.runs"
    ).fetchall()
    assert got == [("resnet18", pytest.approx(144000.0), "codecarbon")]


def test_tz_required_and_not_codecarbon(tmp_path):
    with pytest.raises(IngestError, match="--tz"):
        codecarbon_csv.parse(FIX / "codecarbon_v3_emissions.csv", tz=None)
    p = tmp_path / "x.csv"
    p.write_text("model,start_time,end_time\na,2020-01-01,2020-01-02\n")
    with pytest.raises(IngestError, match="energy_consumed"):
        codecarbon_csv.parse(p, tz="UTC")
