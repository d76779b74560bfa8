"""End to end through dbt: an outage in a Home Assistant export, an idle baseline and a
time-resolved carbon intensity, each checked against values worked out by hand."""

from __future__ import annotations

import pytest
from flopwatt.ingest import carbon, carbon_series, codecarbon_csv, power, runs
from helpers import load_and_build, run_energy_row, warehouse_env

from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow

# sensor.plug (zero-order hold): 100 W from 0 s (the first instant written twice: one row kept,
# the other quarantined as a duplicate), unavailable at 10 s, 100 W from 20 s, 60 W from 40 s to
# the last reading at 60 s. Runs: resnet18 [5, 35] s and an idle run [40, 60] s on sensor.plug
HISTORY = FIXTURES / "ha_history_plug_outage.csv"
RUNS = FIXTURES / "runs_plug.csv"
# CodeCarbon tracked the same 30 s as resnet18's run and reported 0.0005 kWh = 1800 J; a second
# run a day later in Germany (alpha-2 DE) overlaps no meter: only its reported 0.002 kWh is known
EMISSIONS = """timestamp,project_name,duration,emissions,energy_consumed,country_iso_code
2024-05-01T12:00:35,cc-exp,30.0,0.0001,0.0005,GBR
2024-05-02T09:01:00,cc-de,60.0,0.0008,0.002,DE
"""
ANNUAL = """zone,year,g_per_kwh,source
DEU,2023,380,test annual
GBR,2023,200,test annual
"""
SERIES = """zone,from,to,g_per_kwh,source
GBR,2024-05-01T12:00:00Z,2024-05-01T12:00:20Z,100,test grid
GBR,2024-05-01T12:00:20Z,2024-05-01T12:01:00Z,300,test grid
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sources")
    with warehouse_env(tmp / "w.duckdb") as db:
        (tmp / "series.csv").write_text(SERIES)
        (tmp / "emissions.csv").write_text(EMISSIONS)
        (tmp / "annual.csv").write_text(ANNUAL)
        con = load_and_build(
            db,
            [
                power.parse(HISTORY, zone="GBR"),
                runs.parse(RUNS),
                carbon_series.parse_csv(tmp / "series.csv"),
                codecarbon_csv.parse(tmp / "emissions.csv", tz="UTC"),
                carbon.parse_csv(tmp / "annual.csv"),
            ],
        )
        yield con
        con.close()


def test_outage_is_a_gap_not_a_held_value(warehouse):
    r = run_energy_row(warehouse, "resnet18")
    # [5, 10) s at 100 W = 500 J; [10, 20) s unavailable: nothing; [20, 35) s at 100 W = 1500 J
    assert r["energy_j"] == pytest.approx(2000.0, rel=1e-12)
    assert r["coverage_ratio"] == pytest.approx(20 / 30, rel=1e-12)
    assert r["is_complete"] is False


def test_idle_run_gives_the_baseline(warehouse):
    r = run_energy_row(warehouse, "resnet18")
    # idle run [40, 60] s at 60 W: 1200 J over 20 s; net = 2000 J - 60 W x 30 s
    assert r["baseline_power_w"] == pytest.approx(60.0, rel=1e-12)
    assert r["net_energy_j"] == pytest.approx(200.0, rel=1e-9)


def test_time_resolved_intensity_is_energy_weighted(warehouse):
    r = run_energy_row(warehouse, "resnet18")
    # 500 J fall in the 100 g/kWh period and 1500 J in the 300 g/kWh one
    assert r["carbon_intensity_g_per_kwh"] == pytest.approx((500 * 100 + 1500 * 300) / 2000)
    assert r["co2_g"] == pytest.approx(2000 / 3.6e6 * 250, rel=1e-9)


def test_a_model_known_only_from_runs_has_no_profile(warehouse):
    # no FLOP profile was loaded: the run is kept, attributed to no profile, with no GFLOPs
    r = run_energy_row(warehouse, "resnet18")
    assert r["profile_choice"] == "no_profile" and r["energy_per_gflop_j"] is None


def test_codecarbon_run_is_tied_to_the_metered_run_it_overlaps(warehouse):
    rows = warehouse.execute(
        "select measured_model_name, overlap_s, overlap_share_of_reported, reported_energy_j,"
        " measured_energy_in_overlap_j from marts.fct_run_source_comparison"
    ).fetchall()
    # one pair (the idle run is not compared): both runs cover [5, 35] s; resnet18's meter gave
    # 2000 J over its 30 s of data: prorated, 2000 J measured against 1800 J reported
    assert len(rows) == 1
    model, overlap_s, share, reported_j, measured_j = rows[0]
    assert model == "resnet18" and overlap_s == pytest.approx(30.0) and share == pytest.approx(1.0)
    assert reported_j == pytest.approx(1800.0) and measured_j == pytest.approx(2000.0, rel=1e-9)
    fmts = warehouse.execute(
        "select distinct source_format from marts.fct_run_energy"
        " where reported_energy_j is not null"
    ).fetchall()
    assert fmts == [("codecarbon",)]


def test_codecarbon_run_without_a_meter_gets_its_country_and_co2(warehouse):
    """No meter saw the German run: its zone is the file's country (DE -> DEU) and its reported
    0.002 kWh x 380 g/kWh = 0.76 g; the British run's reported 0.0005 kWh x 200 g/kWh = 0.1 g."""
    rows = warehouse.execute(
        "select zone, energy_j, reported_co2_g from marts.fct_run_energy"
        " where source_format = 'codecarbon' order by started_at"
    ).fetchall()
    assert [r[0] for r in rows] == ["GBR", "DEU"]
    assert rows[1][1] is None  # nothing metered it: no measured energy, never 0
    assert rows[0][2] == pytest.approx(0.0005 * 200, rel=1e-12)
    assert rows[1][2] == pytest.approx(0.002 * 380, rel=1e-12)
