"""The one loader every format goes through.

A parser turns a source into a :class:`Batch` (rows per raw table plus quarantined lines); the
loader writes it in one transaction together with its row in ``raw.loads``. A source whose content
(sha256) was already loaded as the same kind is skipped and reported, so re-running a load is safe.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from flopwatt import __version__
from flopwatt.core.db import connect
from flopwatt.core.errors import OptionError

QUARANTINE_SCHEMA = {"line_number": pl.Int64, "raw_text": pl.String, "reason": pl.String}


@dataclass
class Batch:
    """What a parser hands to the loader.

    ``tables`` maps a raw table name (without schema) to its rows, without ``load_id``.
    ``rows_read`` counts the source's data rows; every one is either loaded or quarantined.
    """

    kind: str
    format: str
    source: str
    sha256: str
    rows_read: int
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    quarantine: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=QUARANTINE_SCHEMA))
    options: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return self.quarantine.height

    @property
    def rows_loaded(self) -> int:
        return self.rows_read - self.rows_quarantined


@dataclass
class LoadResult:
    load_id: int | None
    source: str
    kind: str
    format: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    skipped_as_duplicate_of: int | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped_as_duplicate_of is not None:
            return (
                f"{self.source}: already loaded as load #{self.skipped_as_duplicate_of} "
                f"(same content); 0 rows added"
            )
        return (
            f"{self.source}: load #{self.load_id} ({self.kind}/{self.format}) "
            f"read {self.rows_read}, "
            f"loaded {self.rows_loaded}, quarantined {self.rows_quarantined}"
        )


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def quarantine_frame(rows: list[tuple[int | None, str | None, str]]) -> pl.DataFrame:
    """(line_number, raw_text, reason) tuples as a quarantine frame."""
    return pl.DataFrame(rows, schema=QUARANTINE_SCHEMA, orient="row")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    ddl = (Path(__file__).parent / "schema.sql").read_text(encoding="utf-8")
    con.execute(ddl)


def find_previous_load(con: duckdb.DuckDBPyConnection, kind: str, sha256: str) -> int | None:
    row = con.execute(
        "select min(load_id) from raw.loads where kind = ? and source_sha256 = ?", [kind, sha256]
    ).fetchone()
    return row[0] if row and row[0] is not None else None


def _check(batch: Batch) -> None:
    if batch.rows_loaded < 0:
        raise OptionError(
            f"{batch.source}: {batch.rows_quarantined} rows quarantined of {batch.rows_read} read"
        )


def load(batch: Batch, con: duckdb.DuckDBPyConnection | None = None) -> LoadResult:
    """Write ``batch`` in one transaction; skip it when the same content was loaded before."""
    _check(batch)
    own = con is None
    con = con or connect()
    try:
        ensure_schema(con)
        previous = find_previous_load(con, batch.kind, batch.sha256)
        if previous is not None:
            return LoadResult(
                None,
                batch.source,
                batch.kind,
                batch.format,
                batch.rows_read,
                0,
                0,
                skipped_as_duplicate_of=previous,
                warnings=batch.warnings,
            )
        con.execute("begin transaction")
        try:
            load_id = con.execute("select nextval('raw.load_id_seq')").fetchone()[0]
            con.execute(
                "insert into raw.loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    load_id,
                    batch.kind,
                    batch.format,
                    batch.source,
                    batch.sha256,
                    json.dumps(batch.options, sort_keys=True, default=str),
                    batch.rows_read,
                    batch.rows_loaded,
                    batch.rows_quarantined,
                    datetime.now(UTC).replace(tzinfo=None),
                    __version__,
                ],
            )
            frames = dict(batch.tables)
            if batch.quarantine.height:
                frames["quarantine"] = batch.quarantine
            for table, frame in frames.items():
                if frame.height == 0:
                    continue
                _insert(con, table, frame.with_columns(pl.lit(load_id, pl.Int64).alias("load_id")))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return LoadResult(
            load_id,
            batch.source,
            batch.kind,
            batch.format,
            batch.rows_read,
            batch.rows_loaded,
            batch.rows_quarantined,
            warnings=batch.warnings,
        )
    finally:
        if own:
            con.close()


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    arrow = frame.to_arrow()  # noqa: F841  (referenced by name in the SQL below)
    con.execute(f"insert into raw.{table} by name select * from arrow")
