"""Errors an ingest raises: always naming the file, and the line when there is one."""

from __future__ import annotations


class IngestError(ValueError):
    """The input is not what its declared format promises; nothing of it is loaded."""

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.source = str(source)
        self.line = line
        self.reason = reason
        where = f"{self.source}, line {line}" if line is not None else self.source
        super().__init__(f"{where}: {reason}")
