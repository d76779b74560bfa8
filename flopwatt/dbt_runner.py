"""Running dbt against the configured warehouse, in-process (dbt's programmatic API)."""

from __future__ import annotations

import os

from flopwatt.config import PROJECT_ROOT, db_path
from flopwatt.errors import FlopwattError


def run_dbt(args: list[str], *, quiet: bool = False) -> None:
    """Run a dbt command in the project with the project's profiles.yml; raise on failure."""
    from dbt.cli.main import dbtRunner

    from flopwatt.db import connect

    os.environ["FLOPWATT_DB"] = str(db_path())
    # fail fast, with our message, if another process holds the file
    connect().close()
    full = [*args]
    if "--project-dir" not in full:
        full += ["--project-dir", str(PROJECT_ROOT)]
    if "--profiles-dir" not in full:
        full += ["--profiles-dir", str(PROJECT_ROOT)]
    if quiet and "--quiet" not in full and "-q" not in full:
        full.insert(0, "--quiet")
    cwd = os.getcwd()
    try:
        os.chdir(PROJECT_ROOT)  # dbt writes target/ and logs/ relative to the project
        result = dbtRunner().invoke(full)
    finally:
        os.chdir(cwd)
    if result.exception is not None:
        raise FlopwattError(f"dbt {' '.join(args)} failed: {result.exception}")
    if not result.success:
        raise FlopwattError(
            f"dbt {' '.join(args)} failed: some models or data tests did not pass (see above)"
        )


def run_dbt_build(args: list[str] | None = None, *, quiet: bool = False) -> None:
    """``dbt build`` (models, seeds and tests in DAG order) on the warehouse."""
    from flopwatt.db import connect
    from ingest.loader import ensure_schema

    con = connect()
    try:
        ensure_schema(con)  # sources exist even before the first load
    finally:
        con.close()
    run_dbt(["build", *(args or [])], quiet=quiet)
