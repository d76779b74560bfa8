"""Power readings: generic CSV/Parquet, Home Assistant exports, units, bad states, time zones."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from flopwatt.ingest import power
from helpers import raw

from flopwatt.core.errors import IngestError


def readings(batch) -> list[tuple]:
    return batch.tables["power_readings"].select("meter_id", "measured_at", "power_w").rows()


@pytest.mark.parametrize(
    ("text", "expected_format", "expected_readings", "expected_quarantine"),
    [
        pytest.param(
            "timestamp,watts,meter_id\n"
            "2024-01-01T10:00:00Z,100,plug\n"
            "2024-01-01T11:00:03+01:00,150.5,plug\n"
            "2024-01-01 10:00:06.250-02:00,0,gpu0\n",
            "generic",
            [
                ("plug", datetime(2024, 1, 1, 10, 0, 0), 100.0),
                ("plug", datetime(2024, 1, 1, 10, 0, 3), 150.5),
                ("gpu0", datetime(2024, 1, 1, 12, 0, 6, 250000), 0.0),
            ],
            {},
            id="generic-offsets-and-meter-column",
        ),
        pytest.param(
            # the reference study's event export: a unit on each row (0.1 kW = 100 W)
            "last_changed,entity_id,node_id,power_consumption,unit\n"
            "2020-08-07 14:46:20.5+00:00,sensor.pm,7,95.5,W\n"
            "2020-08-07 14:46:23.5+00:00,sensor.pm,7,0.1,kW\n"
            "2020-08-07 14:46:26.5+00:00,sensor.pm,7,5,MW-ish\n",
            "ha-events",
            [
                ("sensor.pm", datetime(2020, 8, 7, 14, 46, 20, 500000), 95.5),
                ("sensor.pm", datetime(2020, 8, 7, 14, 46, 23, 500000), 100.0),
            ],
            {4: "is not a power unit"},
            id="reference-study-event-export-with-unit-column",
        ),
    ],
)
def test_auto_format_readings_meters_and_quarantine(
    make_file, text, expected_format, expected_readings, expected_quarantine
):
    b = power.parse(make_file("p.csv", text)).collect()
    assert b.format == expected_format
    assert readings(b) == expected_readings
    meters = sorted(b.tables["meters"]["meter_id"].to_list())
    assert meters == sorted({meter for meter, _, _ in expected_readings})
    reasons = dict(b.quarantine.select("line_number", "reason").rows())
    assert set(reasons) == set(expected_quarantine)
    assert all(expected in reasons[line] for line, expected in expected_quarantine.items())


def test_naive_timestamps_need_tz_and_name_file_and_line(make_file):
    f = make_file("p.csv", "timestamp,watts\n2024-06-01 12:00:00,5\n")
    with pytest.raises(IngestError) as err:
        power.parse(f, meter="m").collect()
    assert str(f) in str(err.value) and "line 2" in str(err.value) and "--tz" in str(err.value)


def test_missing_meter_is_an_error(make_file):
    f = make_file("p.csv", "timestamp,watts\n2024-06-01T12:00:00Z,5\n")
    with pytest.raises(IngestError, match="--meter"):
        power.parse(f)


def test_naive_local_times_across_spring_forward(make_file):
    # Europe/London 2021-03-28: 01:00 GMT jumps to 02:00 BST; 01:30 local does not exist
    f = make_file(
        "p.csv",
        "timestamp,watts\n2021-03-28 00:30:00,10\n2021-03-28 01:30:00,11\n2021-03-28 02:30:00,12\n",
    )
    b = power.parse(f, meter="m", tz="Europe/London").collect()
    assert [r[1] for r in readings(b)] == [
        datetime(2021, 3, 28, 0, 30),
        datetime(2021, 3, 28, 1, 30),
    ]
    q = b.quarantine.to_dicts()
    assert len(q) == 1 and q[0]["line_number"] == 3 and "non-existent" in q[0]["reason"]
    assert q[0]["raw_text"] == "2021-03-28 01:30:00,11"


def test_ha_history_export_states_and_kw(make_file):
    f = make_file(
        "history.csv",
        "entity_id,state,last_changed\n"
        "sensor.plug_power,0.25,2024-02-01T08:00:00.000Z\n"
        "sensor.plug_power,unavailable,2024-02-01T08:00:05.000Z\n"
        "sensor.plug_power,unknown,2024-02-01T08:00:09.000Z\n"
        "sensor.plug_power,,2024-02-01T08:00:12.000Z\n"
        "sensor.plug_power,n/a,2024-02-01T08:00:15.000Z\n"
        "sensor.plug_power,0.3,2024-02-01T08:00:20.000Z\n",
    )
    b = power.parse(f, unit="kW").collect()
    assert b.format == "ha-history"
    assert readings(b) == [
        ("sensor.plug_power", datetime(2024, 2, 1, 8, 0, 0), 250.0),
        ("sensor.plug_power", datetime(2024, 2, 1, 8, 0, 20), 300.0),
    ]
    reasons = dict(b.quarantine.select("line_number", "reason").rows())
    assert set(reasons) == {3, 4, 5, 6}
    assert "unavailable" in reasons[3] and "unknown" in reasons[4]
    gaps = b.quarantine.filter(pl.col("reason").str.starts_with("gap: "))
    # outages keep meter and instant (the energy model stops holding the last value there)
    assert gaps.select("line_number", "meter_id", "measured_at").rows() == [
        (3, "sensor.plug_power", datetime(2024, 2, 1, 8, 0, 5)),
        (4, "sensor.plug_power", datetime(2024, 2, 1, 8, 0, 9)),
        (5, "sensor.plug_power", datetime(2024, 2, 1, 8, 0, 12)),
    ]
    assert "not a number" in reasons[6]
    assert b.rows_read == b.rows_loaded + b.rows_quarantined == 6


def test_parquet_generic(tmp_path):
    path = tmp_path / "p.parquet"
    pl.DataFrame(
        {"timestamp": ["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z"], "watts": [1.5, -2.0]}
    ).write_parquet(path)
    b = power.parse(path, meter="m1", meter_kind="gpu", zone="FRA").collect()
    assert readings(b) == [("m1", datetime(2024, 1, 1), 1.5)]
    assert "negative" in b.quarantine["reason"][0] and b.quarantine["line_number"][0] == 2
    assert b.tables["meters"].row(0, named=True)["meter_kind"] == "gpu"


def test_wrong_format_fails_naming_file_and_line_and_loads_nothing(make_file, db_file):
    f = make_file("runs.csv", "model,start_time,end_time\nresnet18,2020-01-01,2020-01-02\n")
    with pytest.raises(IngestError) as err:
        power.parse(f)
    assert str(f) in str(err.value) and "line 1" in str(err.value)
    assert not db_file.exists()


def test_mixed_good_and_bad_rows_load_and_quarantine(load_counts, quarantine, db_file):
    text = (
        "timestamp,watts,meter_id\n"
        "2024-01-01T00:00:00Z,10,a\n"
        "not a time,10,a\n"
        "2024-01-01T00:00:02Z,ten,a\n"
        "2024-01-01T00:00:03Z,12,a\n"
    )
    assert load_counts(power.parse, text) == (4, 2, 2)
    assert raw(db_file, "select count(*) from raw.power_readings") == [(2,)]
    q = quarantine()
    assert list(q) == [3, 4]
    assert "unparseable timestamp" in q[3] and "not a number" in q[4]
