"""The command line: ingest, status, sql, and one-line errors with non-zero exits."""

from __future__ import annotations

from helpers import run_cli

RUNS = "model,start_time,end_time\nresnet18,2024-03-31 00:30:00,2024-03-31 00:40:00\n"


def test_ingest_status_sql(make_file, db_file, capsys):
    f = make_file("runs.csv", RUNS)
    code, out, _ = run_cli(
        ["ingest", "runs", str(f), "--tz", "Europe/London", "--inferences", "7"], capsys
    )
    assert code == 0 and "read 1, loaded 1, quarantined 0" in out
    code, out, _ = run_cli(
        ["ingest", "runs", str(f), "--tz", "Europe/London", "--inferences", "7"], capsys
    )
    assert code == 0 and "already loaded as load #1" in out
    code, out, _ = run_cli(["status"], capsys)
    assert code == 0 and "raw.runs" in out and "2024-03-31 00:30:00" in out  # GMT: UTC = local
    code, out, _ = run_cli(
        ["sql", "select model_name, n_inferences from raw.runs", "--format", "csv"], capsys
    )
    assert out.splitlines() == ["model_name,n_inferences", "resnet18,7"]


def test_sql_is_read_only(make_file, db_file, capsys):
    run_cli(["ingest", "runs", str(make_file("r.csv", RUNS)), "--tz", "UTC"], capsys)
    code, _, err = run_cli(["sql", "delete from raw.runs"], capsys)
    assert code != 0 and "read-only" in err.lower()


def test_errors_are_one_line_with_exit_1(make_file, db_file, capsys):
    code, _, err = run_cli(["ingest", "runs", str(make_file("r.csv", RUNS))], capsys)
    assert code == 1 and "line 2" in err and "--tz" in err and "Traceback" not in err
    code, _, err = run_cli(["status"], capsys)
    assert code == 1 and "does not exist yet" in err
    code, _, err = run_cli(
        ["ingest", "accuracy", str(make_file("a.csv", "model,top1,top5\n"))], capsys
    )
    assert code == 2 and "--as" in err


def test_unknown_tz(make_file, db_file, capsys):
    code, _, err = run_cli(
        ["ingest", "runs", str(make_file("r.csv", RUNS)), "--tz", "Mars/Base"], capsys
    )
    assert code == 1 and "unknown time zone" in err


def test_meter_kinds_of_the_cli_are_those_of_the_raw_layer():
    from flopwatt.cli.ingest import METER_KIND
    from flopwatt.core.vocab import METER_KINDS

    assert tuple(METER_KIND.choices) == METER_KINDS


def test_power_and_counters_share_the_meter_options(make_file, db_file, capsys):
    """--meter-kind, --zone (any case: stored upper-case) and --host, on both commands."""
    power = make_file("p.csv", "timestamp,watts\n2024-05-01T12:00:00Z,100\n")
    counter = make_file(
        "c.csv", "timestamp,counter\n2024-05-01 13:00:00,100\n2024-05-01 13:00:10,130\n"
    )
    common = ["--meter-kind", "gpu", "--zone", "gbr", "--host", "rig"]
    assert run_cli(["ingest", "power", str(power), "--meter", "p", *common], capsys)[0] == 0
    assert run_cli(
        ["ingest", "counters", str(counter), "--format", "generic", "--unit", "J",
         "--tz", "UTC", "--meter", "c", *common],
        capsys,
    )[0] == 0  # fmt: skip
    code, out, _ = run_cli(
        ["sql", "select meter_id, meter_kind, zone from raw.meters order by 1", "--format", "csv"],
        capsys,
    )
    assert code == 0
    assert out.splitlines() == ["meter_id,meter_kind,zone", "c,gpu,GBR", "p,gpu,GBR"]
