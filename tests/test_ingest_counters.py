"""Cumulative energy counters: units to J, wrap ranges, resets kept as read (dbt undoes them)."""

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from flopwatt.ingest import counters
from flopwatt.ingest.loader import load

from flopwatt.core.errors import IngestError

FIX = Path(__file__).parent / "fixtures"


def rows(b):
    return b.tables["energy_counters"].select("meter_id", "measured_at", "energy_j").rows()


def test_rapl_dump_uj_with_wrap_range_and_domains():
    b = counters.parse(FIX / "rapl_dump.csv", format="rapl-dump")
    got = rows(b)
    pkg = [(t, e) for m, t, e in got if m == "rapl:package-0"]
    # 262143000000 uJ = 262143 J; after the wrap the counter reads 100 J (kept as read)
    assert [e for _, e in pkg] == pytest.approx([262143.0, 262143.3, 100.0])
    assert pkg[0][0] == datetime(2024, 5, 1, 10, 0, 0)
    dram = [e for m, _, e in got if m == "rapl:dram"]
    assert dram == pytest.approx([5.0, 7.5])
    ranges = dict(b.tables["energy_counters"].select("meter_id", "counter_range_j").unique().rows())
    assert ranges["rapl:package-0"] == pytest.approx(262143.32885)
    assert ranges["rapl:dram"] == pytest.approx(65712.999613)
    kinds = dict(b.tables["meters"].select("meter_id", "meter_kind").rows())
    assert kinds == {"rapl:package-0": "cpu_package", "rapl:dram": "dram"}
    assert b.quarantine["reason"].to_list() == ["energy_uj is empty"]


def test_shelly_gen2_wh_from_status_json():
    b = counters.parse(FIX / "shelly_gen2_status.jsonl", format="shelly", meter="plug")
    assert rows(b) == [
        ("plug", datetime(2024, 5, 1, 10, 0, 0), pytest.approx(6.532 * 3600)),
        ("plug", datetime(2024, 5, 1, 10, 1, 0), pytest.approx(6.682 * 3600)),
    ]


def test_shelly_gen1_watt_minutes_two_channels():
    b = counters.parse(FIX / "shelly_gen1_status.jsonl", format="shelly", meter="sh25")
    got = {(m, e) for m, _, e in rows(b)}
    # Gen1 relay meters count watt-minutes: 600 Wmin = 36000 J
    assert got == {("sh25:meters.0", 36000.0), ("sh25:meters.0", 36720.0),
                   ("sh25:meters.1", 1800.0)}  # fmt: skip
    assert len(rows(b)) == 4


def test_shelly_plain_total_needs_a_unit(tmp_path):
    p = tmp_path / "shelly.csv"
    p.write_text("timestamp,total\n2024-05-01T10:00:00Z,600\n")
    with pytest.raises(IngestError, match="--unit"):
        counters.parse(p, format="shelly", meter="s")
    b = counters.parse(p, format="shelly", meter="s", unit="watt-minutes")
    assert rows(b)[0][2] == 36000.0


def test_tasmota_kwh_local_time_mqtt_log():
    with pytest.raises(IngestError, match="--tz"):
        counters.parse(FIX / "tasmota_sensor.log", format="tasmota", meter="t1")
    b = counters.parse(FIX / "tasmota_sensor.log", format="tasmota", meter="t1",
                       tz="Europe/Berlin")  # fmt: skip
    # 12:00 CEST = 10:00 UTC; 12.345 kWh = 44,442,000 J
    assert rows(b) == [
        ("t1", datetime(2024, 5, 1, 10, 0), pytest.approx(44_442_000.0)),
        ("t1", datetime(2024, 5, 1, 10, 5), pytest.approx(44_456_400.0)),
    ]


def test_kasa_both_hardware_generations_and_reset_kept():
    v2 = counters.parse(FIX / "kasa_hs110_v2.csv", format="kasa", meter="k")
    assert [e for _, _, e in rows(v2)] == [5_400_000.0, 5_403_600.0, 0.0]  # Wh; reset to 0 kept
    v1 = counters.parse(FIX / "kasa_hs110_v1.csv", format="kasa", meter="k")
    assert [e for _, _, e in rows(v1)] == pytest.approx([5_400_000.0, 5_403_600.0])  # kWh


def test_generic_needs_unit_range_in_unit_and_bad_rows(tmp_path):
    with pytest.raises(ValueError, match="--unit"):
        counters.parse(FIX / "counters_generic.csv", format="generic", meter="g", tz="UTC")
    b = counters.parse(FIX / "counters_generic.csv", format="generic", meter="g", tz="UTC",
                       unit="Wh", range_=1000)  # fmt: skip
    assert [e for _, _, e in rows(b)] == [360_000.0, 468_000.0]
    assert set(b.tables["energy_counters"]["counter_range_j"]) == {3_600_000.0}
    reasons = dict(b.quarantine.select("line_number", "reason").rows())
    assert reasons == {3: "counter -5 is negative", 4: "counter 'abc' is not a number"}
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    r = load(b, con=con)
    assert (r.kind, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("counters", 4, 2, 2)
    assert con.execute("select count(*) from raw.energy_counters").fetchone()[0] == 2


def test_unit_aliases():
    assert counters.unit_factor("µJ") == 1e-6
    assert counters.unit_factor("kwh") == 3.6e6
    assert counters.unit_factor("watt-minutes") == 60.0
    with pytest.raises(ValueError):
        counters.unit_factor("cal")
