"""Errors the CLI reports as one line (exit 1) instead of a traceback."""

from __future__ import annotations

from flopwatt.db import DatabaseBusyError, DatabaseMissingError
from ingest.errors import IngestError


class FlopwattError(RuntimeError):
    """A failure with a message meant for the user (bad option, failed dbt build, ...)."""


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    FlopwattError,
    IngestError,
    DatabaseBusyError,
    DatabaseMissingError,
    FileNotFoundError,
    ValueError,
)
