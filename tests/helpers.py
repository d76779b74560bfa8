"""Helpers shared by several test modules: run the CLI in-process, read the warehouse, and build
a module's warehouse once (module-scoped fixtures cannot use the function-scoped ``monkeypatch``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from flopwatt.cli import main


def run_cli(args, capsys) -> tuple[int, str, str]:
    """``flopwatt ARGS`` in this process: (exit code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def raw(db_file: Path, sql: str, params=()) -> list[tuple]:
    """The rows of ``sql`` on the warehouse file, opened read-only for the query alone."""
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@contextmanager
def warehouse_env(db: Path) -> Iterator[Path]:
    """FLOPWATT_DB points at ``db`` inside the block."""
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOPWATT_DB", str(db))
    try:
        yield db
    finally:
        mp.undo()


def load_and_build(db: Path, batches: Iterable) -> duckdb.DuckDBPyConnection:
    """Load each batch, run ``dbt build``, and open the warehouse read-only."""
    from flopwatt.ingest.loader import load

    from flopwatt.dbt_runner import run_dbt_build

    for batch in batches:
        load(batch)
    run_dbt_build(quiet=True)
    return duckdb.connect(str(db), read_only=True)


def run_energy_row(con, model: str) -> dict:
    """The ``marts.fct_run_energy`` row of ``model`` (its only run), by column name."""
    cur = con.execute("select * from marts.fct_run_energy where model_name = ?", [model])
    cols = [d[0] for d in cur.description]
    return dict(zip(cols, cur.fetchone(), strict=True))
