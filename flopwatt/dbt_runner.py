"""Running dbt against the configured warehouse.

dbt runs in a child process: the DuckDB adapter keeps its connection open for the life of the
process, which would block the read-only readers (report, ``flopwatt sql``) that follow a build.
"""

from __future__ import annotations

import os
import subprocess
import sys

from flopwatt.core.config import db_path, dbt_project_dir, is_checkout, state_dir, workspace
from flopwatt.core.errors import FlopwattError


def dbt_command(args: list[str]) -> list[str]:
    full = [
        sys.executable,
        "-c",
        "import sys; from dbt.cli.main import cli; sys.exit(cli())",
        *args,
    ]
    project = str(dbt_project_dir())
    if "--project-dir" not in args:
        full += ["--project-dir", project]
    if "--profiles-dir" not in args:
        full += ["--profiles-dir", project]
    return full


def dbt_env() -> dict[str, str]:
    """The child's environment: the warehouse path, and for an installed package dbt's target/
    and logs/ under the workspace's .flopwatt/ (site-packages is no place to write)."""
    env = dict(os.environ, FLOPWATT_DB=str(db_path()))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    if not is_checkout():
        env.setdefault("DBT_TARGET_PATH", str(state_dir() / "dbt" / "target"))
        env.setdefault("DBT_LOG_PATH", str(state_dir() / "dbt" / "logs"))
    return env


def run_dbt(args: list[str], *, quiet: bool = False, target: str | None = None) -> None:
    """Run a dbt command in the project with the project's profiles.yml; raise on failure."""
    from flopwatt.core.db import connect

    env = dbt_env()
    if target is None or target == "duckdb":
        connect().close()  # fail fast, with our message, if another process holds the file
    args = [*args]
    if quiet and "--quiet" not in args and "-q" not in args:
        args.insert(0, "--quiet")
    if target is not None and "--target" not in args:
        args += ["--target", target]
    proc = subprocess.run(dbt_command(args), cwd=workspace(), env=env, check=False)
    if proc.returncode == 1:
        raise FlopwattError(
            f"dbt {' '.join(args)} failed: some models or data tests did not pass (see above)"
        )
    if proc.returncode != 0:
        raise FlopwattError(
            f"dbt {' '.join(args)} failed to run (exit {proc.returncode}, see above)"
        )


def run_dbt_build(args: list[str] | None = None, *, quiet: bool = False) -> None:
    """``dbt build`` (models, seeds and tests in DAG order) on the warehouse."""
    from flopwatt.build_state import plan_build, record_build
    from flopwatt.core.db import connect
    from flopwatt.ingest.loader import ensure_schema

    con = connect()
    try:
        ensure_schema(con)  # sources exist even before the first load
        plan = plan_build(con, list(args or []))  # skip, full refresh or incremental
    finally:
        con.close()
    if plan.skip:
        print(
            "warehouse up to date: no load, project or option change since the last build",
            file=sys.stderr,
        )
        return
    if plan.full_refresh_reason:
        print(f"full refresh: {plan.full_refresh_reason}", file=sys.stderr)
    run_dbt(["build", *plan.args], quiet=quiet)
    con = connect()
    try:
        record_build(con, plan)
    finally:
        con.close()
