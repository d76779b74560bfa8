"""What a ``flopwatt build`` has to do, from what the last one did.

The warehouse records each successful build (table ``flopwatt_state.builds``): the latest load
then, a digest of the dbt project (models, macros, data tests, dbt_project.yml) and the build's
arguments. A build is then

- **skipped** when nothing it depends on changed: no load since, the same project and the same
  arguments (a nightly ``flopwatt run``/``build`` with no new data does no model work; not even dbt
  starts);
- **a full refresh** (``--full-refresh`` added) when the project or the ``--vars`` differ from the
  last build's: the incremental models (int_energy_curve, int_run_energy) store rows computed by
  the old definitions, which a new model version or var (energy_integration, max_gap_s, ...) must
  not continue from;
- else incremental: dbt processes what the loads since added.

Raw tables are append-only (every row belongs to a load, see ingest/schema.sql), so the latest
load id stands for the data. ``--full-refresh`` always builds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flopwatt.core.config import dbt_project_dir

STATE_DDL = """
create schema if not exists flopwatt_state;
create table if not exists flopwatt_state.builds (
    built_at timestamp not null,
    latest_load_id bigint not null,
    project_sha256 varchar not null,
    vars_json varchar,
    args_json varchar not null
);
"""
#: the files of the dbt project that define what a build computes
PROJECT_PARTS = ("dbt_project.yml", "models_sql", "macros", "tests/dbt", "seeds")


@dataclass
class BuildPlan:
    args: list[str]
    latest_load_id: int
    project_sha256: str
    vars_json: str | None
    skip: bool = False
    full_refresh_reason: str | None = None


def project_sha256(root: Path | None = None) -> str:
    root = root or dbt_project_dir()
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        path = root / part
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _vars_of(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--vars" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--vars="):
            return arg.split("=", 1)[1]
    return None


def plan_build(con: duckdb.DuckDBPyConnection, args: list[str]) -> BuildPlan:
    """The plan for ``dbt build ARGS`` on the warehouse behind ``con`` (which it may write to)."""
    con.execute(STATE_DDL)
    latest = con.execute("select coalesce(max(load_id), 0) from raw.loads").fetchone()[0]
    plan = BuildPlan(list(args), latest, project_sha256(), _vars_of(args))
    if "--full-refresh" in args:
        return plan
    last = con.execute(
        "select latest_load_id, project_sha256, vars_json, args_json from flopwatt_state.builds "
        "order by built_at desc limit 1"
    ).fetchone()
    if last is None:
        return plan
    last_load, last_sha, last_vars, last_args = last
    if (last_sha, last_vars) != (plan.project_sha256, plan.vars_json):
        plan.full_refresh_reason = "the dbt project or its --vars changed since the last build"
        plan.args.append("--full-refresh")
    elif last_load == latest and json.loads(last_args) == list(args):
        plan.skip = True
    return plan


def record_build(con: duckdb.DuckDBPyConnection, plan: BuildPlan) -> None:
    """Record a successful build (its original arguments, so the same command skips next time)."""
    args = [a for a in plan.args if a != "--full-refresh" or plan.full_refresh_reason is None]
    con.execute(STATE_DDL)
    con.execute(
        "insert into flopwatt_state.builds values (current_timestamp, ?, ?, ?, ?)",
        [plan.latest_load_id, plan.project_sha256, plan.vars_json, json.dumps(args)],
    )
