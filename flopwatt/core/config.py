"""Where things live: the dbt project, the workspace, the DuckDB file, the reports folder.

Two ways to run flopwatt:

- **from a checkout** (``pip install -e .``): the dbt project is the checkout itself
  (``dbt build`` in its root works) and the workspace is the checkout root;
- **installed** (``pip install flopwatt`` or a wheel): the dbt project ships inside the package
  (``flopwatt/dbt_project/``) and the workspace is the current directory.

``FLOPWATT_HOME`` overrides the workspace. In it: ``flopwatt.duckdb`` (or ``FLOPWATT_DB``),
``reports/`` (or ``FLOPWATT_REPORTS``) and ``.flopwatt/`` (profile cache, dbt's target and logs).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: the dbt project shipped in a wheel (copied there at build time, see setup.py)
PACKAGED_PROJECT = PACKAGE_DIR / "dbt_project"
#: a checkout: the package folder sits in the project root next to dbt_project.yml
CHECKOUT_ROOT = PACKAGE_DIR.parent
DEFAULT_DB_NAME = "flopwatt.duckdb"


def is_checkout() -> bool:
    """True when flopwatt runs from a source checkout (editable install or ``python -m``)."""
    return (CHECKOUT_ROOT / "dbt_project.yml").is_file() and (CHECKOUT_ROOT / "models_sql").is_dir()


def dbt_project_dir() -> Path:
    """The folder holding dbt_project.yml and profiles.yml (checkout root or packaged copy)."""
    if is_checkout():
        return CHECKOUT_ROOT
    if (PACKAGED_PROJECT / "dbt_project.yml").is_file():
        return PACKAGED_PROJECT
    raise FileNotFoundError(
        f"the dbt project is missing: neither {CHECKOUT_ROOT} nor {PACKAGED_PROJECT} holds "
        "dbt_project.yml (a broken install? reinstall flopwatt)"
    )


def workspace() -> Path:
    """``FLOPWATT_HOME``, else the checkout root, else the current directory."""
    env = os.environ.get("FLOPWATT_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return CHECKOUT_ROOT if is_checkout() else Path.cwd().resolve()


def state_dir() -> Path:
    """``<workspace>/.flopwatt``: caches, dbt's target/ and logs/ for an installed package."""
    return workspace() / ".flopwatt"


def db_path() -> Path:
    """The warehouse file: ``FLOPWATT_DB`` if set, else ``flopwatt.duckdb`` in the workspace."""
    env = os.environ.get("FLOPWATT_DB")
    if env:
        return Path(env).expanduser().resolve()
    return workspace() / DEFAULT_DB_NAME


def reports_dir() -> Path:
    env = os.environ.get("FLOPWATT_REPORTS")
    return Path(env).expanduser().resolve() if env else workspace() / "reports"


#: DuckDB's memory cap for every connection flopwatt opens (ingest, sql, report, dbt through
#: profiles.yml); past it DuckDB spills to disk. profiles.yml repeats it as the fallback of a plain
#: ``dbt build`` (tests/test_guarantees.py checks that the two agree).
DEFAULT_MEMORY_LIMIT = "3GB"
MEMORY_LIMIT_ENV = "FLOPWATT_DUCKDB_MEMORY_LIMIT"


def duckdb_memory_limit() -> str:
    """``FLOPWATT_DUCKDB_MEMORY_LIMIT`` (e.g. ``1GB``, ``500MB``), else ``DEFAULT_MEMORY_LIMIT``."""
    return os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
