"""Opening the warehouse: one writer, any number of read-only readers, a clear error when busy."""

from __future__ import annotations

from pathlib import Path

import duckdb

from flopwatt.core.config import db_path
from flopwatt.core.errors import DatabaseBusyError, DatabaseMissingError

__all__ = ["DatabaseBusyError", "DatabaseMissingError", "connect"]


def connect(
    path: Path | str | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Raises DatabaseBusyError instead of DuckDB's lock error."""
    path = Path(path) if path is not None else db_path()
    if read_only and not path.exists():
        raise DatabaseMissingError(
            f"database {path} does not exist yet: load something first (flopwatt ingest ...)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(
                f"database is busy: {path} is open for writing by another process "
                f"(an ingest or a dbt build?); try again when it has finished. ({exc})"
            ) from exc
        raise
