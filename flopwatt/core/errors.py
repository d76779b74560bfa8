"""The one root of the errors flopwatt means for its user.

The CLI catches :class:`FlopwattError` alone and prints it as one line (exit 1); anything else is a
bug and keeps its traceback. Library code words its messages for a person, not in CLI flags where
it can avoid it.
"""

from __future__ import annotations


class FlopwattError(Exception):
    """A failure with a message meant for the user (bad input, a failed dbt build, ...)."""


class OptionError(FlopwattError, ValueError):
    """An option or argument value that flopwatt cannot use (unknown unit, negative duration)."""


class DatabaseBusyError(FlopwattError):
    """Another process holds the DuckDB file."""


class DatabaseMissingError(FlopwattError):
    """A read-only open of a database file that does not exist yet."""


class DatabaseFileError(FlopwattError):
    """The warehouse path names something that is not a readable DuckDB database."""


class IngestError(FlopwattError, ValueError):
    """The input is not what its declared format promises; nothing of it is loaded."""

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.source = str(source)
        self.line = line
        self.reason = reason
        where = f"{self.source}, line {line}" if line is not None else self.source
        super().__init__(f"{where}: {reason}")
