"""The reference study's own input files (skipped when ../shared is absent)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from flopwatt.cli import main


def ingest(args) -> None:
    try:
        main(["ingest", *args])
    except SystemExit as exc:
        assert not exc.code, f"ingest {args} exited {exc.code}"


def test_reference_inputs_load_once(reference_dir, db_file, capsys):
    r = reference_dir
    ingest(["runs", str(r / "pm.csv"), "--tz", "Europe/London", "--inferences", "10000"])
    ingest(["flops", str(r / "models.txt")])
    ingest(["accuracy", str(r / "accuracy.csv"), "--as", "error"])
    con = duckdb.connect(str(db_file), read_only=True)
    counts = {
        t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
        for t in ("runs", "flop_profiles", "accuracy", "quarantine")
    }
    assert counts == {"runs": 30, "flop_profiles": 35, "accuracy": 29, "quarantine": 0}
    first = con.execute(
        "select model_name, started_at, n_inferences from raw.runs order by started_at limit 1"
    ).fetchone()
    # pm.csv says 15:46:21.270897 London summer time (BST = UTC+1)
    assert first == ("alexnet", datetime(2020, 8, 7, 14, 46, 21, 270897), 10000)
    top1 = con.execute(
        "select top1_acc_pct from raw.accuracy where model_name = 'alexnet'"
    ).fetchone()
    assert abs(top1[0] - (100 - 43.45)) < 1e-9  # the file holds error %
    con.close()
    capsys.readouterr()
    ingest(["runs", str(r / "pm.csv"), "--tz", "Europe/London", "--inferences", "10000"])
    ingest(["flops", str(r / "models.txt")])
    ingest(["accuracy", str(r / "accuracy.csv"), "--as", "error"])
    assert capsys.readouterr().out.count("0 rows added") == 3
    con = duckdb.connect(str(db_file), read_only=True)
    assert con.execute("select count(*) from raw.runs").fetchone()[0] == 30
    assert con.execute("select count(*) from raw.loads").fetchone()[0] == 3
