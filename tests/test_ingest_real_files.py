"""Shapes of real files that broke ingest (issue 11): several GPUs in one nvidia-smi log, rows that
share a meter and an instant, options that change a load, loads of nothing, cut-off last lines,
formats refused without a hint, and option gaps. Expected values are worked out by hand."""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from flopwatt.ingest import (
    accuracy,
    carbon_series,
    codecarbon_csv,
    counters,
    nvidia_smi,
    power,
    runs,
)
from flopwatt.ingest.loader import load
from flopwatt.ingest.tabular import TRUNCATED
from helpers import raw, run_cli

from flopwatt.core.errors import IngestError

FIX = Path(__file__).parent / "fixtures"


def zoh_energy_j(db_file) -> float:
    """Zero-order hold integral of every meter's loaded readings to its last reading (J)."""
    rows = raw(
        db_file,
        "select meter_id, epoch_us(measured_at), power_w from raw.power_readings order by 1, 2",
    )
    total = 0.0
    for (m, t, p), (m2, t2, _) in itertools.pairwise(rows):
        if m == m2:
            total += p * (t2 - t) / 1e6
    return total


# ------------------------------------------------------------------ 2: rows sharing an instant


def test_nvidia_smi_gpus_told_apart_by_the_gpu_column_when_index_is_always_0(db_file):
    # 8 GPUs x 6 polls; every row of a poll has the poll's timestamp; index is 0 on every row.
    # GPU k draws 50 + 25k W, except GPU 3: 100, 200, 150, 150, 300, 0 W at 0, 1.0, 2.1, 3.0, 4.2,
    # 5.0 s. Zero-order hold to the last poll: GPU 3 = 100*1 + 200*1.1 + 150*0.9 + 150*1.2 +
    # 300*0.8 = 875 J; the others 5 s x (1100 - 125) W = 4875 J; 5750 J in all.
    b = nvidia_smi.parse(FIX / "nvidia_smi_gpu_column.csv", tz="UTC")
    meters = sorted(b.tables["meters"]["meter_id"].to_list())
    assert meters == [f"nvidia-smi:{k}" for k in range(8)]
    res = load(b)
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (48, 48, 0)
    assert zoh_energy_j(db_file) == pytest.approx(5750.0, rel=1e-12)


def test_nvidia_smi_device_columns_that_vary_together_name_the_meter_by_the_first(make_file):
    f = make_file(
        "smi.csv",
        "timestamp, index, uuid, power.draw [W]\n"
        "2024-06-03T10:00:00+00:00, 0, GPU-a, 10 W\n2024-06-03T10:00:00+00:00, 1, GPU-b, 20 W\n"
        "2024-06-03T10:00:01+00:00, 0, GPU-a, 11 W\n2024-06-03T10:00:01+00:00, 1, GPU-b, 21 W\n",
    )
    b = nvidia_smi.parse(f)  # every timestamp has an offset: no --tz needed
    assert sorted(b.tables["meters"]["meter_id"].to_list()) == [
        "nvidia-smi:GPU-a",
        "nvidia-smi:GPU-b",
    ]
    assert b.tables["power_readings"]["measured_at"].to_list()[0] == datetime(2024, 6, 3, 10)


def test_identical_rows_are_duplicates_differing_rows_a_conflict(load_counts, quarantine, db_file):
    # line 3 repeats line 2 exactly: a duplicate (one copy kept); lines 5 and 6 give two values
    # for one instant of one meter: both quarantined, each naming the other line
    text = (
        "timestamp,watts,meter_id\n"
        "2024-01-01T00:00:00Z,100,plug\n"
        "2024-01-01T00:00:00Z,100,plug\n"
        "2024-01-01T00:00:05Z,120,plug\n"
        "2024-01-01T00:00:10Z,90,plug\n"
        "2024-01-01T00:00:10Z,95,plug\n"
        "2024-01-01T00:00:10Z,90,other\n"
        "2024-01-01T00:00:15Z,110,plug\n"
    )
    assert load_counts(power.parse, text) == (7, 4, 3)
    q = quarantine()
    assert set(q) == {3, 5, 6}
    assert q[3].startswith("duplicate") and "line 2" in q[3]
    assert q[5].startswith("conflict") and "line 6" in q[5]
    assert q[6].startswith("conflict") and "line 5" in q[6]
    assert quarantine("raw_text")[5] == "2024-01-01T00:00:10Z,90,plug"
    # one row per (meter, instant) is left for staging: nothing it could collapse silently
    assert raw(
        db_file,
        "select count(*) from (select meter_id, measured_at from raw.power_readings "
        "group by all having count(*) > 1)",
    ) == [(0,)]


def test_smart_plug_export_with_12_rows_a_minute_keeps_every_distinct_instant(load_counts, db_file):
    # a plug logged every 5 s (12 rows a minute, timestamps to the second) for 10 minutes; at the
    # 3rd minute the logger wrote its buffered row again (same second, same value): 121 rows, one
    # duplicate. Plug: 60 W for the first 5 minutes, 120 W after -> zero-order hold over 595 s:
    # 60 * 300 + 120 * 295 = 53,400 J.
    rows = [
        (f"2024-03-01T12:{s // 60:02d}:{s % 60:02d}Z", 60 if s < 300 else 120)
        for s in range(0, 600, 5)
    ]
    rows.insert(37, rows[36])
    text = "timestamp,watts\n" + "".join(f"{t},{w}\n" for t, w in rows)
    assert load_counts(power.parse, text, meter="plug") == (121, 120, 1)
    assert zoh_energy_j(db_file) == pytest.approx(53_400.0, rel=1e-12)


def test_counters_with_two_values_at_one_instant_are_a_conflict(load_counts):
    text = (
        "timestamp,counter\n2024-01-01T00:00:00Z,10\n2024-01-01T00:00:00Z,11\n"
        "2024-01-01T00:01:00Z,12\n"
    )
    loaded = load_counts(counters.parse, text, format="generic", unit="Wh", meter="plug")
    assert loaded == (3, 1, 2)


# ------------------------------------------------------------------ 7: options in the load key


def test_same_file_with_other_options_is_a_new_load(make_file, db_file, capsys):
    f = make_file("p.csv", "timestamp,watts\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:10Z,2\n")
    first = load(power.parse(f, meter="m", unit="kW"))
    again = load(power.parse(f, meter="m", unit="kW"))
    assert again.skipped_as_duplicate_of == first.load_id
    assert '"unit": "kW"' in again.summary() and "same content and options" in again.summary()
    other = load(power.parse(f, meter="m", unit="W", zone="GBR"))
    assert other.load_id == 2 and other.rows_loaded == 2
    assert other.same_content_as == 1 and "other options" in other.summary()
    assert raw(db_file, "select options_json like '%GBR%' from raw.loads order by load_id") == [
        (False,),
        (True,),
    ]


def test_a_load_that_quarantined_every_row_can_be_retried(make_file, db_file):
    f = make_file("p.csv", "timestamp,watts\n2024-06-01 12:00:00,1\n2024-06-01 12:00:10,2\n")
    # the timestamps are naive: with --tz they load; first a run where every value is refused
    g = make_file("q.csv", "timestamp,watts\n2024-06-01T12:00:00Z,x\n2024-06-01T12:00:10Z,y\n")
    assert load(power.parse(g, meter="m")).rows_loaded == 0
    retry = load(power.parse(g, meter="m"))
    assert retry.skipped_as_duplicate_of is None and retry.load_id == 2
    assert load(power.parse(f, meter="m", tz="UTC")).rows_loaded == 2


# ------------------------------------------------------------------ 8: loads of nothing


def test_a_file_that_loads_nothing_exits_non_zero(make_file, db_file, capsys):
    f = make_file("p.csv", "timestamp,watts\n2024-06-01T12:00:00Z,x\n2024-06-01T12:00:10Z,y\n")
    code, out, err = run_cli(["ingest", "power", str(f), "--meter", "m"], capsys)
    assert code == 1 and "loaded 0 of 2 rows" in err and "Traceback" not in err
    assert "quarantined line 2" in out


def test_estimate_warning_counts_only_loaded_rows(make_file):
    f = make_file(
        "GB_2024_hourly.csv",
        "Datetime (UTC),Country,Zone name,Zone id,Carbon intensity gCO₂eq/kWh (direct),"
        "Carbon intensity gCO₂eq/kWh (Life cycle),Data source,Data estimated,"
        "Data estimation method\n"
        "2024-01-01 00:00:00,United Kingdom,Great Britain,GB,,,x,true,TIME_SLICER\n"
        "2024-01-01 01:00:00,United Kingdom,Great Britain,GB,,,x,true,TIME_SLICER\n"
        "2024-01-01 02:00:00,United Kingdom,Great Britain,GB,100,120,x,true,TIME_SLICER\n",
    )
    b = carbon_series.parse_electricitymaps(f)
    assert b.rows_loaded == 1
    assert b.warnings == ["1 loaded rows are Electricity Maps estimates (Data Estimated = true)"]


# ------------------------------------------------------------------ 9: a cut-off last line


def test_truncated_last_line_is_quarantined_not_the_file(load_counts, quarantine):
    # the logger was writing "2024-06-01T12:00:20+00:00,14" when the file was copied
    text = (
        "timestamp,watts\n2024-06-01T12:00:00+00:00,10\n2024-06-01T12:00:10+00:00,12\n"
        "2024-06-01T12:00:20"
    )
    assert load_counts(power.parse, text, meter="m") == (3, 2, 1)
    assert quarantine("raw_text", "reason") == {4: ("2024-06-01T12:00:20", TRUNCATED)}


def test_a_naive_timestamp_among_offsets_is_quarantined(make_file):
    f = make_file(
        "p.csv",
        "timestamp,watts\n2024-06-01T12:00:00+02:00,10\n2024-06-01T12:00:10,12\n"
        "2024-06-01T12:00:20+02:00,14\n",
    )
    b = power.parse(f, meter="m").collect()
    assert b.rows_loaded == 2
    assert "no UTC offset" in b.quarantine["reason"][0] and b.quarantine["line_number"][0] == 3


# ------------------------------------------------------------------ 10: formats with a hint


def test_default_power_format_suggests_nvidia_smi(db_file):
    with pytest.raises(IngestError, match="--format nvidia-smi"):
        power.parse(FIX / "nvidia_smi_units.csv")


def test_runs_suggests_codecarbon_for_an_emissions_csv():
    with pytest.raises(IngestError, match="--format codecarbon"):
        runs.parse(FIX / "codecarbon_v2_emissions.csv", tz="UTC")


def test_rapl_dump_error_says_what_it_expects_in_words(make_file):
    f = make_file("rapl.csv", "timestamp,joules\n2024-01-01T00:00:00Z,1\n")
    with pytest.raises(IngestError) as err:
        counters.parse(f, format="rapl-dump")
    msg = str(err.value)
    assert "energy_uj" in msg and not any(c in msg for c in ("^", "$", "(?P", "\\"))


def test_generic_reader_accepts_nvidia_smi_dates(make_file):
    f = make_file("p.csv", "timestamp,watts\n2024/06/03 10:00:00.500,5\n")
    b = power.parse(f, meter="m", tz="UTC").collect()
    assert b.tables["power_readings"]["measured_at"].to_list() == [
        datetime(2024, 6, 3, 10, 0, 0, 500000)
    ]


# ------------------------------------------------------------------ 11: option gaps


def test_power_unit_mw_is_milliwatts_and_MW_is_refused(make_file, db_file, capsys):
    f = make_file("jtop.csv", "timestamp,watts\n2024-01-01T00:00:00Z,4500\n")
    b = power.parse(f, meter="jetson", unit="mW").collect()
    assert b.tables["power_readings"]["power_w"].to_list() == [4.5]
    code, _, err = run_cli(["ingest", "power", str(f), "--meter", "j", "--unit", "MW"], capsys)
    assert code == 2 and "mW" in err
    code, out, _ = run_cli(["ingest", "power", str(f), "--meter", "j", "--unit", "mW"], capsys)
    assert code == 0 and "loaded 1" in out


HA_FULL = (
    "entity_id,state,last_changed\n"
    "sensor.plug_power,100,2024-02-01T08:00:00.000Z\n"
    "sensor.temperature,21.5,2024-02-01T08:00:01.000Z\n"
    "sensor.plug_power,unavailable,2024-02-01T08:00:05.000Z\n"
    "sensor.temperature,21.6,2024-02-01T08:00:06.000Z\n"
    "sensor.plug_power,120,2024-02-01T08:00:10.000Z\n"
)


def test_ha_history_entity_filter(make_file):
    f = make_file("history.csv", HA_FULL)
    b = power.parse(f, entities=["sensor.plug_power"]).collect()
    assert set(b.tables["power_readings"]["meter_id"]) == {"sensor.plug_power"}
    assert b.rows_read == 3 and b.rows_loaded == 2 and b.quarantine["is_gap"].to_list() == [True]


def test_ha_history_of_several_entities_without_entity_is_refused(make_file):
    f = make_file("history.csv", HA_FULL)
    with pytest.raises(IngestError, match="--entity") as err:
        power.parse(f)
    assert "sensor.temperature" in str(err.value)


def test_codecarbon_runs_carry_the_files_country_as_zone(make_file, db_file):
    f = make_file(
        "emissions.csv",
        "timestamp,project_name,duration,emissions,energy_consumed,country_iso_code\n"
        "2024-05-01T12:00:35,cc,30.0,0.0001,0.0005,FRA\n"
        "2024-05-01T12:10:35,cc,30.0,0.0001,0.0005,DE\n",
    )
    load(codecarbon_csv.parse(f, tz="UTC"))
    assert raw(db_file, "select zone from raw.runs order by line_number") == [("FRA",), ("DEU",)]


# ------------------------------------------------------------------ 5: missing metrics


def test_accuracy_csv_missing_metric_is_null_never_nan(load_counts, db_file):
    text = (
        "model,weights,top1,top5\nvgg16,IMAGENET1K_FEATURES,nan,nan\n"
        "resnet18,IMAGENET1K_V1,69.758,\n"
    )
    assert load_counts(accuracy.parse, text, as_="accuracy") == (2, 1, 1)
    assert raw(db_file, "select model_name, top1_acc_pct, top5_acc_pct from raw.accuracy") == [
        ("resnet18", 69.758, None)
    ]


def test_profile_of_weights_without_a_score_stores_null(db_file):
    pytest.importorskip("torchvision")
    from flopwatt.profiling.accuracy import accuracy_record
    from flopwatt.profiling.catalog import Variant

    rec = accuracy_record(Variant("vgg16", "IMAGENET1K_FEATURES", 224))
    assert rec["top1_acc_pct"] is None and rec["top5_acc_pct"] is None
    assert rec["dataset"] is None and rec["file_size_mb"] == pytest.approx(527.802)


def test_the_loader_never_writes_nan(db_file):
    from flopwatt.ingest.loader import Batch

    b = Batch(
        "accuracy",
        "test",
        "nan-source",
        "0" * 64,
        1,
        tables={
            "accuracy": pl.DataFrame(
                {"line_number": [1], "model_name": ["m"], "top1_acc_pct": [math.nan]}
            )
        },
    )
    load(b)
    assert raw(db_file, "select top1_acc_pct is null from raw.accuracy") == [(True,)]
