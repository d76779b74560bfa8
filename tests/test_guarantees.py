"""The warehouse's promises (README "Guarantees"), checked with real processes and real files:
only DuckDB files are opened, ``flopwatt sql`` reads the warehouse alone, the memory cap reaches
every connection, and the busy line names who holds the file.

Builds, signals and the report's read-only run are in test_guarantees_processes.py.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest
from helpers import run_cli

from flopwatt.core.config import CHECKOUT_ROOT, DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV
from flopwatt.core.db import connect, warehouse_lock
from flopwatt.core.errors import DatabaseBusyError
from tests.conftest import FIXTURES

# a Home Assistant history export (a duplicate instant, an outage) and two runs on its meter
HISTORY = (FIXTURES / "ha_history_plug_outage.csv").read_text(encoding="utf-8")
RUNS = (FIXTURES / "runs_plug.csv").read_text(encoding="utf-8")
FLOPWATT_BIN = Path(sys.executable).with_name("flopwatt")


def flopwatt_cmd(*args: str) -> list[str]:
    """The installed ``flopwatt`` script (so a busy line can name it), else ``python -c``."""
    if FLOPWATT_BIN.exists():
        return [str(FLOPWATT_BIN), *args]
    return [sys.executable, "-c", "from flopwatt.cli import main; main()", *args]


def cli_env(db: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, FLOPWATT_DB=str(db), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env.pop(MEMORY_LIMIT_ENV, None)
    env.update(extra)
    return env


def flopwatt(
    db: Path, *args: str, timeout: float = 300, **extra: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        flopwatt_cmd(*args),
        env=cli_env(db, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_error(err: str) -> str:
    """The single stderr line of an expected failure (no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


class Holder:
    """Another process holding the warehouse: a DuckDB connection (``mode`` 'read'/'write') or
    flopwatt's advisory lock ('flock-read'/'flock-write'), until stopped."""

    CODE: ClassVar[dict[str, str]] = {
        "read": "import duckdb; c = duckdb.connect({db!r}, read_only=True)",
        "write": "import duckdb; c = duckdb.connect({db!r})",
        "flock-read": "from flopwatt.core.db import warehouse_lock; "
        "l = warehouse_lock({db!r}, exclusive=False); l.__enter__()",
        "flock-write": "from flopwatt.core.db import warehouse_lock; "
        "l = warehouse_lock({db!r}, exclusive=True); l.__enter__()",
    }

    def __init__(self, db: Path, mode: str):
        code = self.CODE[mode].format(db=str(db)) + "; import sys; print('ok', flush=True); "
        code += "sys.stdin.read()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ok"
        self.pid = self.proc.pid

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def __enter__(self) -> Holder:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def loaded(db_file, make_file, capsys) -> Path:
    """A warehouse with one load of runs (no dbt build: these tests need only raw.*)."""
    code, _, err = run_cli(["ingest", "runs", str(make_file("runs.csv", RUNS))], capsys)
    assert code == 0, err
    return db_file


# --- 1. only DuckDB files ------------------------------------------------------------------------


def _real_duckdb(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create table t as select range as i from range(100000)")
    con.close()
    return path


FOREIGN = {
    "csv": (lambda p: p.write_text("model,top1,top5\nresnet18,69.7,89.0\n"), "text file"),
    "parquet": (
        lambda p: duckdb.sql("select 1 as a").write_parquet(str(p)),
        "Parquet",
    ),
    "json": (lambda p: p.write_text('{"model": "resnet18"}\n'), "JSON"),
    "empty": (lambda p: p.write_bytes(b""), "empty file"),
    "sqlite": (
        lambda p: sqlite3.connect(p).execute("create table t (a)").connection.commit(),
        "SQLite",
    ),
    # the first 5000 bytes of a real DuckDB file: the magic is there, the headers are not
    "truncated": (
        lambda p: p.write_bytes(_real_duckdb(p.with_name("src.duckdb")).read_bytes()[:5000]),
        "truncated",
    ),
    "directory": (lambda p: p.mkdir(), "directory"),
}


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_a_path_that_is_not_a_duckdb_database_is_refused(
    kind, tmp_path, make_file, monkeypatch, capsys
):
    make, words = FOREIGN[kind]
    suffix = kind if kind in ("csv", "parquet", "json") else "duckdb"
    target = tmp_path / f"warehouse.{suffix}"
    make(target)
    before = target.read_bytes() if target.is_file() else None
    monkeypatch.setenv("FLOPWATT_DB", str(target))
    runs = str(make_file("runs.csv", RUNS))
    for _ in range(2):  # before: "load #1 ... loaded" twice, exit 0, nothing stored
        code, out, err = run_cli(["ingest", "runs", runs], capsys)
        line = one_line_error(err)
        assert code == 1 and "load #" not in out
        assert str(target) in line and words in line
    for command in (["status"], ["sql", "select 1"]):
        code, _, err = run_cli(command, capsys)
        assert code == 1 and str(target) in one_line_error(err)
    if before is not None:
        assert target.read_bytes() == before  # the file is left as it was
    if kind in ("csv", "parquet", "json", "sqlite", "directory"):
        assert not target.with_name(target.name + ".lock").exists()  # nothing left beside it


def test_a_missing_path_becomes_a_new_duckdb_database(tmp_path, make_file, monkeypatch, capsys):
    target = tmp_path / "new" / "warehouse.csv"  # the name does not matter, the contents do
    monkeypatch.setenv("FLOPWATT_DB", str(target))
    runs = str(make_file("runs.csv", RUNS))
    code, out, _ = run_cli(["ingest", "runs", runs], capsys)
    assert code == 0 and "load #1" in out
    code, out, _ = run_cli(["ingest", "runs", runs], capsys)
    assert code == 0 and "already loaded as load #1" in out  # stored, in a real DuckDB file
    assert target.read_bytes()[8:12] == b"DUCK"


# --- 5. flopwatt sql reads the warehouse alone --------------------------------------------------


def test_sql_cannot_write_files_attach_or_load(loaded, tmp_path, capsys):
    other = _real_duckdb(tmp_path / "other.duckdb")
    refused = {
        f"copy (select 1 as a) to '{tmp_path / 'leak.csv'}'": tmp_path / "leak.csv",
        f"export database '{tmp_path / 'export'}'": tmp_path / "export",
        f"attach '{other}' as other": None,
        "load httpfs": None,
        "install httpfs": None,
        "set memory_limit = '100GB'": None,
        "set enable_external_access = true": None,
        "delete from raw.runs": None,
        "select 1; copy raw.runs to 'x.csv'": None,
    }
    for query, path in refused.items():
        for flags in ([], ["--allow-files"]):
            code, _, err = run_cli(["sql", query, *flags], capsys)
            assert code != 0 and "refused" in one_line_error(err), (query, flags, err)
            if path is not None:
                assert not path.exists()
    con = duckdb.connect(str(other), read_only=True)
    assert con.execute("select count(*) from t").fetchone() == (100000,)
    con.close()
    assert not (tmp_path / "x.csv").exists()


def test_sql_reads_files_only_with_allow_files(loaded, tmp_path, capsys):
    csv_file = tmp_path / "extra.csv"
    csv_file.write_text("a\n1\n2\n3\n")
    query = f"select sum(a) as total from read_csv('{csv_file}')"
    code, _, err = run_cli(["sql", query], capsys)
    assert code != 0 and "disabled by configuration" in err
    code, out, _ = run_cli(["sql", query, "--allow-files", "--format", "csv"], capsys)
    assert code == 0 and out.splitlines() == ["total", "6"]
    code, out, _ = run_cli(["sql", "select count(*) as n from raw.runs", "--format", "csv"], capsys)
    assert code == 0 and out.splitlines() == ["n", "2"]


def test_sandbox_connection_refuses_on_its_own(loaded, tmp_path):
    """DuckDB itself refuses (not only the statement check of the CLI)."""
    con = connect(sandbox=True)
    try:
        for query in (
            f"copy (select 1) to '{tmp_path / 'leak.csv'}'",
            f"select * from read_csv('{tmp_path}/*.csv')",
            f"attach '{tmp_path / 'x.duckdb'}' as x",
        ):
            with pytest.raises(duckdb.PermissionException):
                con.execute(query)
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute("set enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("insert into raw.runs select * from raw.runs")
    finally:
        con.close()
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "x.duckdb").exists()


# --- 8. the memory cap reaches every connection ---------------------------------------------------


def _duckdb_shows(limit: str) -> str:
    """How DuckDB itself prints ``limit`` (the expected value, not from flopwatt)."""
    con = duckdb.connect(":memory:", config={"memory_limit": limit})
    try:
        return con.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


def test_memory_cap_applies_to_sql_ingest_and_connect(loaded, monkeypatch, capsys):
    query = ["sql", "select current_setting('memory_limit') as m", "--format", "csv"]
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    code, out, _ = run_cli(query, capsys)
    assert code == 0 and out.splitlines()[1] == _duckdb_shows("3GB")
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GB")
    code, out, _ = run_cli(query, capsys)
    assert code == 0 and out.splitlines()[1] == _duckdb_shows("1GB")
    con = connect()  # the loader's connection (ingest opens the warehouse through connect())
    try:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == _duckdb_shows(
            "1GB"
        )
    finally:
        con.close()
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    code, _, err = run_cli(["sql", "select 1"], capsys)
    assert code == 1 and MEMORY_LIMIT_ENV in one_line_error(err)


def test_memory_cap_has_one_default():
    """profiles.yml's fallback (a plain `dbt build`) is core's DEFAULT_MEMORY_LIMIT, and flopwatt
    hands its value to the dbt child."""
    from flopwatt.dbt_runner import dbt_env

    profiles = (CHECKOUT_ROOT / "profiles.yml").read_text()
    fallbacks = re.findall(rf"env_var\('{MEMORY_LIMIT_ENV}', '([^']+)'\)", profiles)
    assert fallbacks and set(fallbacks) == {DEFAULT_MEMORY_LIMIT}
    assert DEFAULT_MEMORY_LIMIT == "3GB"  # the README's promise
    assert dbt_env()[MEMORY_LIMIT_ENV] == os.environ.get(MEMORY_LIMIT_ENV, "3GB")


@pytest.mark.slow
def test_memory_cap_bounds_a_real_query(loaded):
    """A 12M-row self-join and sort: 0.9 GiB peak RSS uncapped (measured), under 0.6 GiB with a
    250 MB cap (DuckDB spills). The peak is read by a parent process of flopwatt sql alone."""
    query = (
        "select count(*) from (select a.range as x, b.range as y from range(12000000) a "
        "join range(12000000) b on a.range = b.range order by random())"
    )
    probe = (
        "import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "r.stdout.split()[-1] if r.returncode == 0 else r.stderr[-300:])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *flopwatt_cmd("sql", query, "--format", "csv")],
        env=cli_env(loaded, **{MEMORY_LIMIT_ENV: "250MB"}),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.split(maxsplit=2)
    rc, peak_kib, result = int(out[0]), int(out[1]), out[2].strip()
    assert rc == 0 and result == "12000000", out
    assert peak_kib / 1024 < 600, f"peak RSS {peak_kib / 1024:.0f} MiB with a 250 MB cap"


# --- 10. the busy line names the holder -----------------------------------------------------------


def busy_line(*, read_only: bool = False) -> str:
    """The message of the DatabaseBusyError that opening the warehouse raises."""
    with pytest.raises(DatabaseBusyError) as info:
        connect(read_only=read_only)
    return str(info.value)


def test_busy_line_names_a_reader_as_reader(loaded):
    with Holder(loaded, "read") as reader:
        msg = busy_line()
        assert "open for reading by another process" in msg and f"PID {reader.pid}" in msg
        assert "writing" not in msg
        connect(read_only=True).close()  # readers share the file


def test_busy_line_names_a_writer_as_writer(loaded):
    with Holder(loaded, "write") as writer:
        for read_only in (True, False):
            msg = busy_line(read_only=read_only)
            assert "open for writing by another process" in msg and f"PID {writer.pid}" in msg


def test_busy_line_for_the_advisory_lock(loaded):
    """A flopwatt command holding the advisory lock (a build between its check and dbt's open)."""
    with Holder(loaded, "flock-write") as builder:
        for read_only in (True, False):
            msg = busy_line(read_only=read_only)
            assert "open for writing" in msg and f"PID {builder.pid}" in msg
    with Holder(loaded, "flock-read") as report:
        connect(read_only=True).close()
        msg = busy_line()
        assert "open for reading" in msg and f"PID {report.pid}" in msg
        with pytest.raises(DatabaseBusyError), warehouse_lock(loaded, exclusive=True):
            pass
    connect().close()  # free again once the holders are gone


def test_busy_line_from_the_cli_is_one_line(loaded, make_file):
    runs = make_file("more.csv", RUNS.replace("resnet18", "resnet50"))
    with Holder(loaded, "read") as reader:
        r = flopwatt(loaded, "ingest", "runs", str(runs))
        line = one_line_error(r.stderr)
        assert r.returncode == 1 and "open for reading" in line and f"PID {reader.pid}" in line
