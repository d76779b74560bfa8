"""Time-resolved grid intensity: NESO API JSON, both Electricity Maps headers, generic CSV."""

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from flopwatt.ingest import carbon_series
from flopwatt.ingest.loader import load

from flopwatt.core.errors import IngestError

FIX = Path(__file__).parent / "fixtures"


def series(b):
    return (
        b.tables["carbon_intensity_series"]
        .select("line_number", "zone", "from_at", "to_at", "g_per_kwh", "is_forecast")
        .rows()
    )


def test_neso_actual_beats_forecast_and_empty_periods_are_quarantined(tmp_path):
    b = carbon_series.parse_neso(FIX / "neso_national.json")
    assert series(b) == [
        (4, "GBR", datetime(2024, 3, 31, 0, 30), datetime(2024, 3, 31, 1, 0), 118.0, False),
        (9, "GBR", datetime(2024, 3, 31, 1, 0), datetime(2024, 3, 31, 1, 30), 125.0, True),
    ]
    assert b.quarantine.select("line_number", "reason").rows() == [
        (14, "intensity has neither actual nor forecast")
    ]
    assert b.rows_read == 3 and any("forecast" in w for w in b.warnings)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    r = load(b, con=con)
    assert (r.rows_loaded, r.rows_quarantined) == (2, 1)


def test_neso_regional_is_forecast_per_region():
    b = carbon_series.parse_neso(FIX / "neso_regional.json")
    got = {(z, g, fc) for _, z, _, _, g, fc in series(b)}
    assert got == {("GBR-1", 10.0, True), ("GBR-13", 150.0, True)}


def test_electricitymaps_2021_2023_headers_hourly_lifecycle():
    b = carbon_series.parse_electricitymaps(FIX / "DE_2022_hourly.csv")
    assert series(b) == [
        (2, "DEU", datetime(2022, 1, 1, 0), datetime(2022, 1, 1, 1), 350.25, False),
        (3, "DEU", datetime(2022, 1, 1, 1), datetime(2022, 1, 1, 2), 360.0, False),
    ]
    assert b.quarantine["reason"].to_list() == ["carbon intensity is empty"]
    assert "lifecycle" in b.tables["carbon_intensity_series"]["source"][0]
    assert any("estimates" in w for w in b.warnings)
    direct = carbon_series.parse_electricitymaps(FIX / "DE_2022_hourly.csv", basis="direct")
    assert [r[4] for r in series(direct)] == [301.5, 310.0]


def test_electricitymaps_2024_headers_monthly_with_bom():
    b = carbon_series.parse_electricitymaps(FIX / "GB_2024_monthly.csv")
    assert series(b) == [
        (2, "GBR", datetime(2024, 1, 1), datetime(2024, 2, 1), 190.0, False),
        (3, "GBR", datetime(2024, 2, 1), datetime(2024, 3, 1), 180.0, False),  # leap February
    ]


def test_electricitymaps_period_from_spacing_and_zone_override(tmp_path):
    p = tmp_path / "export.csv"
    p.write_text(
        "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n"
        "2022-01-01 00:00:00,US-CAL-CISO,250\n2022-01-01 00:05:00,US-CAL-CISO,251\n",
        encoding="utf-8",
    )
    b = carbon_series.parse_electricitymaps(p)
    assert [(z, t) for _, z, _, t, _, _ in series(b)] == [
        ("US-CAL-CISO", datetime(2022, 1, 1, 0, 5)),
        ("US-CAL-CISO", datetime(2022, 1, 1, 0, 10)),
    ]
    one = tmp_path / "one.csv"
    one.write_text("Datetime (UTC),Carbon Intensity gCO₂eq/kWh (LCA)\n2022-01-01 00:00:00,250\n")
    with pytest.raises(IngestError, match="--zone"):
        carbon_series.parse_electricitymaps(one)
    with pytest.raises(IngestError, match="--period"):
        carbon_series.parse_electricitymaps(one, zone="DEU")
    assert series(carbon_series.parse_electricitymaps(one, zone="deu", period="1h"))[0][1] == "DEU"


def test_not_electricitymaps():
    with pytest.raises(IngestError, match="Electricity Maps"):
        carbon_series.parse_electricitymaps(FIX / "carbon_series.csv")


def test_generic_series_csv():
    b = carbon_series.parse_csv(FIX / "carbon_series.csv")
    assert series(b) == [
        (2, "FRA", datetime(2024, 6, 1, 8), datetime(2024, 6, 1, 9), 35.5, False),
        (3, "FRA", datetime(2024, 6, 1, 9), datetime(2024, 6, 1, 10), 37.0, True),
    ]
    assert dict(b.quarantine.select("line_number", "reason").rows()) == {
        4: "to is not after from",
        5: "zone is empty",
        6: "is_forecast 'maybe' is not true/false",
    }
