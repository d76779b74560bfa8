"""Run intervals: naive local times with DST, counts, bad rows."""

from __future__ import annotations

from datetime import datetime

import pytest
from flopwatt.ingest import runs

from flopwatt.core.errors import IngestError


def test_summer_and_winter_local_times_to_utc(make_file):
    # London is UTC+1 in August (BST) and UTC+0 in January (GMT): the seed's fixed "- 1 hour"
    # is right only for the first row
    f = make_file(
        "pm.csv",
        "model,start_time,end_time\n"
        "alexnet,2020-08-07 15:46:21.270897,2020-08-07 15:50:52.335178\n"
        "vgg16,2021-01-10 09:00:00.000000,2021-01-10 09:05:00.000000\n",
    )
    b = runs.parse(f, tz="Europe/London", inferences=10000)
    rows = b.tables["runs"].select("model_name", "started_at", "ended_at", "n_inferences").rows()
    assert rows == [
        (
            "alexnet",
            datetime(2020, 8, 7, 14, 46, 21, 270897),
            datetime(2020, 8, 7, 14, 50, 52, 335178),
            10000,
        ),
        ("vgg16", datetime(2021, 1, 10, 9, 0), datetime(2021, 1, 10, 9, 5), 10000),
    ]


def test_run_crossing_fall_back_and_ambiguous_times(make_file):
    # 2020-10-25 in London: 01:00-02:00 BST happens, then 01:00-02:00 GMT again
    f = make_file(
        "pm.csv",
        "model,start_time,end_time\n"
        "a,2020-10-25 00:30:00,2020-10-25 02:30:00\n"
        "b,2020-10-25 01:30:00,2020-10-25 02:40:00\n",
    )
    b = runs.parse(f, tz="Europe/London")
    (row,) = b.tables["runs"].select("started_at", "ended_at").rows()
    # 00:30 BST = 23:30 UTC the day before; 02:30 GMT = 02:30 UTC: three hours, not two
    assert row == (datetime(2020, 10, 24, 23, 30), datetime(2020, 10, 25, 2, 30))
    (q,) = b.quarantine.to_dicts()
    assert q["line_number"] == 3 and "ambiguous" in q["reason"] and "start_time" in q["reason"]


def test_optional_columns_override_defaults_and_bad_rows(make_file):
    f = make_file(
        "runs.csv",
        "model,start_time,end_time,n_inferences,batch_size,meter_id,phase\n"
        "r18,2024-01-01T00:00:00Z,2024-01-01T00:01:00Z,500,8,plug,\n"
        "r18,2024-01-01T00:02:00Z,2024-01-01T00:01:00Z,500,8,plug,\n"
        "r18,2024-01-01T00:03:00Z,2024-01-01T00:04:00Z,2.5,8,plug,\n"
        "idle,2024-01-01T00:05:00Z,2024-01-01T00:06:00Z,,,,idle\n"
        ",2024-01-01T00:05:00Z,2024-01-01T00:06:00Z,,,,\n",
    )
    b = runs.parse(f, inferences=10000, meter="wall")
    got = (
        b.tables["runs"]
        .select("model_name", "n_inferences", "batch_size", "meter_id", "phase")
        .rows()
    )
    assert got == [("r18", 500, 8, "plug", "inference"), ("idle", 10000, None, "wall", "idle")]
    reasons = dict(b.quarantine.select("line_number", "reason").rows())
    assert "not after" in reasons[3] and "whole number" in reasons[4] and "empty" in reasons[6]


def test_run_id_is_deterministic_and_distinct(make_file):
    text = "model,start_time,end_time\na,2024-01-01T00:00:00Z,2024-01-01T00:01:00Z\n"
    a = runs.parse(make_file("x.csv", text)).tables["runs"]["run_id"][0]
    b = runs.parse(make_file("y.csv", text)).tables["runs"]["run_id"][0]
    c = runs.parse(make_file("z.csv", text), phase="training").tables["runs"]["run_id"][0]
    assert a == b and a != c


def test_not_a_runs_file(make_file):
    f = make_file("m.csv", "model,macs,parameters\nalexnet,1,2\n")
    with pytest.raises(IngestError, match=r"line 1.*start_time"):
        runs.parse(f)
