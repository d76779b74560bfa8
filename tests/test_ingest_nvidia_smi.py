"""nvidia-smi --query-gpu CSV logs: units or nounits, [N/A] gaps, one meter per GPU, local time."""

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from flopwatt.ingest import nvidia_smi
from flopwatt.ingest.loader import load

from flopwatt.core.errors import IngestError

FIX = Path(__file__).parent / "fixtures"
A = "nvidia-smi:GPU-7f3a1c52-0000-4d1e-9a51-aaaaaaaaaaaa"
B = "nvidia-smi:GPU-0b9e44d1-1111-4f2c-8e07-bbbbbbbbbbbb"


def readings(batch):
    return {
        (m, at, w)
        for m, at, w in batch.tables["power_readings"]
        .select("meter_id", "measured_at", "power_w")
        .iter_rows()
    }


def test_units_in_values_uuid_meters_and_na_gap():
    b = nvidia_smi.parse(FIX / "nvidia_smi_units.csv", tz="Europe/London")
    # June: BST = UTC+1, so 10:00 local is 09:00 UTC; "100.00 W" -> 100.0
    assert readings(b) == {
        (A, datetime(2024, 6, 3, 9, 0, 0), 100.0),
        (A, datetime(2024, 6, 3, 9, 0, 1), 110.5),
        (A, datetime(2024, 6, 3, 9, 0, 2), 120.25),
        (B, datetime(2024, 6, 3, 9, 0, 0, 4000), 200.0),
        (B, datetime(2024, 6, 3, 9, 0, 2, 4000), 210.0),
    }
    assert b.rows_read == 6 and b.rows_loaded == 5
    q = b.quarantine.to_dicts()
    assert len(q) == 1
    assert q[0]["line_number"] == 5
    assert q[0]["reason"].startswith("gap: ")
    assert q[0]["meter_id"] == B
    assert q[0]["measured_at"] == datetime(2024, 6, 3, 9, 0, 1, 4000)
    assert b.tables["meters"]["meter_kind"].to_list() == ["gpu", "gpu"]
    assert not b.warnings


def test_nounits_index_meters_repeated_header_and_not_supported():
    b = nvidia_smi.parse(FIX / "nvidia_smi_nounits.csv", tz="Europe/London")
    # January: GMT = UTC; bare numbers under "power.draw [W]"
    assert readings(b) == {
        ("nvidia-smi:0", datetime(2024, 1, 15, 9, 30, 0, 250000), 71.3),
        ("nvidia-smi:1", datetime(2024, 1, 15, 9, 30, 0, 251000), 65.0),
        ("nvidia-smi:0", datetime(2024, 1, 15, 9, 30, 0, 750000), 72.7),
        ("nvidia-smi:0", datetime(2024, 1, 15, 9, 31, 0, 250000), 30.0),
    }
    reasons = dict(b.quarantine.select("line_number", "reason").iter_rows())
    assert reasons[6] == "repeated header line"
    assert reasons[5].startswith("gap: ") and "N/A" in reasons[5]
    assert reasons[8].startswith("gap: ") and "Not Supported" in reasons[8]
    assert b.rows_read == 7 == b.rows_loaded + b.rows_quarantined


def test_interleaved_split_by_static_columns_across_dst_with_warning():
    b = nvidia_smi.parse(FIX / "nvidia_smi_interleaved_static.csv", tz="Europe/London")
    # 2024-03-31: clocks go 01:00 GMT -> 02:00 BST; 00:59:59 local = 00:59:59 UTC,
    # 02:00:00 local = 01:00:00 UTC (one second later, not an hour)
    assert readings(b) == {
        ("nvidia-smi:gpu0", datetime(2024, 3, 31, 0, 59, 59), 300.0),
        ("nvidia-smi:gpu0", datetime(2024, 3, 31, 1, 0, 0), 310.0),
        ("nvidia-smi:gpu0", datetime(2024, 3, 31, 1, 0, 1), 320.0),
        ("nvidia-smi:gpu1", datetime(2024, 3, 31, 0, 59, 59, 3000), 150.0),
        ("nvidia-smi:gpu1", datetime(2024, 3, 31, 1, 0, 0, 3000), 155.0),
        ("nvidia-smi:gpu1", datetime(2024, 3, 31, 1, 0, 1, 3000), 160.0),
    }
    assert any("memory.total" in w for w in b.warnings)
    desc = dict(b.tables["meters"].select("meter_id", "description").iter_rows())
    assert "RTX 3060" in desc["nvidia-smi:gpu1"]


def test_interleaved_identical_gpus_split_by_position_with_warning():
    b = nvidia_smi.parse(FIX / "nvidia_smi_interleaved_position.csv", tz="UTC", meter="box1")
    got = readings(b)
    assert {w for m, _, w in got if m == "box1:gpu0"} == {50.0, 51.0, 52.0}
    assert {w for m, _, w in got if m == "box1:gpu1"} == {60.0, 61.0, 62.0}
    assert any("position" in w for w in b.warnings)


def test_single_gpu_takes_the_meter_name():
    b = nvidia_smi.parse(FIX / "nvidia_smi_units.csv", tz="UTC", meter="x")
    assert set(b.tables["power_readings"]["meter_id"]) == {"x:" + A.split(":", 1)[1],
                                                           "x:" + B.split(":", 1)[1]}  # fmt: skip


def test_tz_is_required():
    with pytest.raises(ValueError, match="--tz"):
        nvidia_smi.parse(FIX / "nvidia_smi_units.csv", tz=None)


def test_no_header_and_no_power_are_format_errors(tmp_path):
    p = tmp_path / "noheader.csv"
    p.write_text("2024/01/15 09:30:00.250, 0, 71.30\n2024/01/15 09:30:01.250, 0, 71.30\n")
    with pytest.raises(IngestError, match="noheader"):
        nvidia_smi.parse(p, tz="UTC")
    p2 = tmp_path / "nopower.csv"
    p2.write_text("timestamp, index, temperature.gpu\n2024/01/15 09:30:00.250, 0, 40\n")
    with pytest.raises(IngestError, match=r"power\.draw"):
        nvidia_smi.parse(p2, tz="UTC")


def test_loads_with_gap_rows_carrying_meter_and_time(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    r = load(nvidia_smi.parse(FIX / "nvidia_smi_units.csv", tz="Europe/London"), con=con)
    assert (r.rows_loaded, r.rows_quarantined) == (5, 1)
    gap = con.execute(
        "select meter_id, measured_at from raw.quarantine where reason like 'gap:%'"
    ).fetchall()
    assert gap == [(B, datetime(2024, 6, 3, 9, 0, 1, 4000))]
    again = load(nvidia_smi.parse(FIX / "nvidia_smi_units.csv", tz="Europe/London"), con=con)
    assert again.skipped_as_duplicate_of == r.load_id


def test_poll_threshold_one_gpu_with_an_outage_is_not_split():
    # one GPU every 1 s (+-2 ms jitter) and a one-hour outage: no within-poll cluster
    steps = [1_000_000, 998_000, 1_002_000, 1_000_000, 3_600_000_000, 1_001_000]
    assert nvidia_smi._poll_threshold(steps) == 0


def test_poll_threshold_two_gpus_with_an_outage():
    # within a poll 3 ms, polls 1 s apart, one outage: threshold is the within-poll step
    steps = [3000, 997_000, 3000, 3_600_000_000, 3000, 997_000, 3000]
    assert nvidia_smi._poll_threshold(steps) == 3000


def test_same_timestamp_rows_form_a_poll(tmp_path):
    p = tmp_path / "same.csv"
    p.write_text(
        "timestamp, power.draw [W]\n"
        "2024/02/01 12:00:00.100, 50.00 W\n2024/02/01 12:00:00.100, 60.00 W\n"
        "2024/02/01 12:00:01.100, 51.00 W\n2024/02/01 12:00:01.100, 61.00 W\n"
    )
    b = nvidia_smi.parse(p, tz="UTC")
    got = readings(b)
    assert {w for m, _, w in got if m == "nvidia-smi:gpu0"} == {50.0, 51.0}
    assert {w for m, _, w in got if m == "nvidia-smi:gpu1"} == {60.0, 61.0}
