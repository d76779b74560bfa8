"""Where things live: the project root, the DuckDB file, the reports folder."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_NAME = "flopwatt.duckdb"


def db_path() -> Path:
    """The warehouse file: ``FLOPWATT_DB`` if set, else ``flopwatt.duckdb`` in the project root."""
    env = os.environ.get("FLOPWATT_DB")
    if env:
        return Path(env).expanduser().resolve()
    return PROJECT_ROOT / DEFAULT_DB_NAME


def reports_dir() -> Path:
    return Path(os.environ.get("FLOPWATT_REPORTS", PROJECT_ROOT / "reports")).resolve()
