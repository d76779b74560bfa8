"""FLOP profiles, accuracy (BOM, CRLF, error vs accuracy) and annual carbon intensity."""

from __future__ import annotations

import json

import pytest
from flopwatt.ingest import accuracy, carbon, flops

from flopwatt.core.errors import IngestError


def test_flops_file_like_models_txt(make_file):
    f = make_file(
        "models.txt",
        "model,macs,parameters\nalexnet,714691904.0,61100840.0\nbad,-1,5\nodd,10,2.5\n",
    )
    b = flops.parse(f)
    row = b.tables["flop_profiles"].row(0, named=True)
    assert row["model_name"] == "alexnet" and row["weights"] is None
    assert row["macs"] == row["macs_thop"] == 714691904.0 and row["params"] == 61100840
    assert row["macs_counter"] == "thop (file)"
    assert b.quarantine["line_number"].to_list() == [3, 4]


def test_accuracy_with_bom_crlf_as_error(make_file):
    f = make_file(
        "accuracy.csv",
        "model,top1,top5\nalexnet,43.45,20.91\nvgg11,30.98,11.37\n",
        bom=True,
        crlf=True,
    )
    b = accuracy.parse(f, as_="error")
    rows = b.tables["accuracy"].select("model_name", "top1_acc_pct", "top5_acc_pct").rows()
    assert rows[0][0] == "alexnet"  # BOM not glued to the header or the first name
    assert rows[0][1] == pytest.approx(100 - 43.45) and rows[0][2] == pytest.approx(100 - 20.91)
    assert rows[1][1] == pytest.approx(69.02)


def test_accuracy_meaning_must_be_said(make_file):
    f = make_file("a.csv", "model,top1,top5\nx,70,90\n")
    with pytest.raises(ValueError, match="--as"):
        accuracy.parse(f, as_=None)
    b = accuracy.parse(f, as_="accuracy")
    assert b.tables["accuracy"].row(0)[3:5] == (70.0, 90.0)


def test_accuracy_wrong_meaning_is_caught_per_row(make_file):
    # as accuracies, these are error numbers: top-5 "accuracy" below top-1 is impossible
    f = make_file("a.csv", "model,top1,top5\nalexnet,43.45,20.91\nx,101,102\n")
    b = accuracy.parse(f, as_="accuracy")
    assert b.rows_loaded == 0
    reasons = b.quarantine["reason"].to_list()
    assert "wrong --as" in reasons[0] and "outside 0-100" in reasons[1]


def test_accuracy_not_that_format(make_file):
    with pytest.raises(IngestError, match="top1"):
        accuracy.parse(make_file("a.csv", "model,acc\nx,1\n"), as_="error")


def test_codecarbon_default_table_has_provenance():
    b = carbon.parse_codecarbon()
    t = b.tables["carbon_intensity"]
    raw = json.loads(carbon.codecarbon_mix_path().read_text())
    gbr = t.filter(zone="GBR").row(0, named=True)
    assert gbr["g_per_kwh"] == raw["GBR"]["carbon_intensity"]
    assert gbr["year"] == raw["GBR"]["year"]
    assert gbr["source"].startswith("codecarbon ") and gbr["source_version"]
    assert b.rows_read == len(raw) == b.rows_loaded + b.rows_quarantined


def test_codecarbon_style_mix_with_nan_tokens(tmp_path):
    p = tmp_path / "mix.json"
    p.write_text(
        '{\n    "AAA": {\n        "carbon_intensity": 100.5,\n        "country_name": "A",\n'
        '        "year": 2022\n    },\n    "BBB": {\n        "carbon_intensity": NaN,\n'
        '        "country_name": "B",\n        "year": 2022\n    }\n}\n'
    )
    b = carbon.parse_codecarbon(p)
    assert b.tables["carbon_intensity"]["zone"].to_list() == ["AAA"]
    (q,) = b.quarantine.to_dicts()
    assert q["line_number"] == 7 and "nan" in q["reason"].lower()


def test_carbon_csv(make_file):
    f = make_file("ci.csv", "zone,year,g_per_kwh,source\ngbr,2020,233,BEIS\nFRA,20x0,50,x\n")
    b = carbon.parse_csv(f)
    assert b.tables["carbon_intensity"].row(0, named=True)["zone"] == "GBR"
    assert "not a year" in b.quarantine["reason"][0]
