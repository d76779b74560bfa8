"""``flopwatt build`` skips when nothing changed, refreshes fully when the project or vars did
(flopwatt/build_state.py, issue 15). dbt itself is replaced by a recorder: these tests are about
whether and how flopwatt calls it."""

from __future__ import annotations

import polars as pl
import pytest
from flopwatt.ingest.loader import Batch, load

from flopwatt import build_state, dbt_runner
from flopwatt.core.db import connect


@pytest.fixture
def dbt_calls(db_file, monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(dbt_runner, "run_dbt", lambda args, quiet=False: calls.append(args))
    return calls


def _load_readings(name: str) -> None:
    frame = pl.DataFrame(
        {
            "meter_id": ["plug"],
            "measured_at": pl.Series(["2024-05-01 12:00:00"]).str.to_datetime(),
            "power_w": [10.0],
        }
    )
    load(Batch("power", "test", name, f"sha-{name}", 1, tables={"power_readings": frame}))


def test_a_build_with_nothing_new_does_not_start_dbt(dbt_calls):
    _load_readings("a")
    dbt_runner.run_dbt_build([])
    dbt_runner.run_dbt_build([])  # no load since: skipped
    assert dbt_calls == [["build"]]
    _load_readings("b")
    dbt_runner.run_dbt_build([])  # a new load: incremental
    assert dbt_calls == [["build"], ["build"]]


def test_other_arguments_build(dbt_calls):
    dbt_runner.run_dbt_build([])
    dbt_runner.run_dbt_build(["--select", "fct_run_energy"])
    assert dbt_calls == [["build"], ["build", "--select", "fct_run_energy"]]


def test_full_refresh_always_builds(dbt_calls):
    dbt_runner.run_dbt_build(["--full-refresh"])
    dbt_runner.run_dbt_build(["--full-refresh"])
    assert dbt_calls == [["build", "--full-refresh"]] * 2


def test_changed_vars_refresh_fully(dbt_calls):
    dbt_runner.run_dbt_build([])
    dbt_runner.run_dbt_build(["--vars", "{energy_integration: trapezoid}"])
    assert dbt_calls[1] == ["build", "--vars", "{energy_integration: trapezoid}", "--full-refresh"]
    # the same command again: up to date
    dbt_runner.run_dbt_build(["--vars", "{energy_integration: trapezoid}"])
    assert len(dbt_calls) == 2


def test_a_changed_model_refreshes_fully(dbt_calls, monkeypatch):
    dbt_runner.run_dbt_build([])
    monkeypatch.setattr(build_state, "project_sha256", lambda root=None: "another project")
    dbt_runner.run_dbt_build([])
    assert dbt_calls == [["build"], ["build", "--full-refresh"]]


def test_a_failed_build_is_not_recorded(db_file, monkeypatch):
    calls = []

    def failing(args, quiet=False):
        calls.append(args)
        raise dbt_runner.FlopwattError("dbt build failed")

    monkeypatch.setattr(dbt_runner, "run_dbt", failing)
    for _ in range(2):
        with pytest.raises(dbt_runner.FlopwattError):
            dbt_runner.run_dbt_build([])
    assert len(calls) == 2
    con = connect(read_only=True)
    assert con.execute("select count(*) from flopwatt_state.builds").fetchone()[0] == 0
    con.close()


def test_project_digest_follows_model_files(tmp_path):
    (tmp_path / "models_sql").mkdir()
    model = tmp_path / "models_sql" / "m.sql"
    model.write_text("select 1 as x\n")
    (tmp_path / "dbt_project.yml").write_text("name: p\n")
    before = build_state.project_sha256(tmp_path)
    assert build_state.project_sha256(tmp_path) == before
    model.write_text("select 2 as x\n")
    assert build_state.project_sha256(tmp_path) != before


def test_flopwatt_build_passes_full_refresh_to_dbt(dbt_calls):
    from click.testing import CliRunner

    from flopwatt.cli.warehouse import build

    result = CliRunner().invoke(build, ["--full-refresh", "--select", "+fct_run_energy"])
    assert result.exit_code == 0, result.output
    assert dbt_calls == [["build", "--full-refresh", "--select", "+fct_run_energy"]]
