"""The one loader every format goes through.

A parser turns a source into a :class:`Batch` (rows per raw table plus quarantined lines); the
loader writes it in one transaction together with its row in ``raw.loads``. A source whose content
(sha256) was already loaded as the same kind is skipped and reported, so re-running a load is safe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from flopwatt import __version__
from flopwatt.core.db import connect
from flopwatt.core.errors import OptionError

QUARANTINE_SCHEMA = {
    "line_number": pl.Int64,
    "raw_text": pl.String,
    "reason": pl.String,
    # set for gap markers only (is_gap): the meter and the instant the reading was missing
    "meter_id": pl.String,
    "measured_at": pl.Datetime("us"),
    "is_gap": pl.Boolean,
}
#: tables with one reading per (meter, instant): their key and the columns that make its value
KEYED_TABLES = {
    "power_readings": ("power_w",),
    "energy_counters": ("energy_j", "counter_range_j"),
}


@dataclass
class Batch:
    """What a parser hands to the loader.

    ``tables`` maps a raw table name (without schema) to its rows, without ``load_id``.
    ``rows_read`` counts the source's data rows; every one is either loaded or quarantined.
    A streamed source has ``parts`` instead: a function that yields Batches of consecutive blocks
    of the file, parsed as the loader consumes them inside its one transaction (``tables`` and
    ``rows_read`` stay empty; :meth:`collect` gathers them).
    ``line_text`` gives the original text of source lines (for rows the loader quarantines).
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
    parts: Callable[[], Iterable[Batch]] | None = None
    line_text: Callable[[list[int]], dict[int, str]] | None = None

    @property
    def rows_quarantined(self) -> int:
        return self.quarantine.height

    @property
    def rows_loaded(self) -> int:
        return self.rows_read - self.rows_quarantined

    def collect(self) -> Batch:
        """This batch with its parts parsed and gathered in memory (itself when not streamed):
        what a test or a caller that inspects the rows wants; the loader streams instead."""
        if self.parts is None:
            return self
        parts = list(self.parts())
        self.parts = None
        names = dict.fromkeys(t for p in parts for t in p.tables)
        self.tables = {
            t: pl.concat([p.tables[t] for p in parts if t in p.tables], how="vertical_relaxed")
            for t in names
        }
        if "meters" in self.tables:
            self.tables["meters"] = self.tables["meters"].unique("meter_id", maintain_order=True)
        frames = [p.quarantine for p in parts if p.quarantine.height]
        self.quarantine = (
            pl.concat(frames, how="diagonal_relaxed").select(list(QUARANTINE_SCHEMA))
            if frames
            else pl.DataFrame(schema=QUARANTINE_SCHEMA)
        )
        self.rows_read = sum(p.rows_read for p in parts)
        self.warnings = self.warnings + [w for p in parts for w in p.warnings]
        return self

    @property
    def options_json(self) -> str:
        """The options that shaped the rows, as stored in raw.loads (part of the load's key)."""
        return json.dumps(self.options, sort_keys=True, default=str)


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
    #: the first quarantined (line, reason) pairs, for printing
    quarantine_sample: list[tuple[int | None, str]] = field(default_factory=list)
    #: an earlier load of the same content with other options (this one was loaded anyway)
    same_content_as: int | None = None
    options_json: str = "{}"

    @property
    def loaded_nothing(self) -> bool:
        """Rows were read and none loaded (every one quarantined)."""
        return self.skipped_as_duplicate_of is None and self.rows_read > 0 and not self.rows_loaded

    def summary(self) -> str:
        if self.skipped_as_duplicate_of is not None:
            return (
                f"{self.source}: already loaded as load #{self.skipped_as_duplicate_of} "
                f"(same content and options {self.options_json}); 0 rows added"
            )
        again = (
            f" (same content as load #{self.same_content_as}, other options: {self.options_json})"
            if self.same_content_as is not None
            else ""
        )
        return (
            f"{self.source}: load #{self.load_id} ({self.kind}/{self.format}) "
            f"read {self.rows_read}, "
            f"loaded {self.rows_loaded}, quarantined {self.rows_quarantined}{again}"
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
    """(line_number, raw_text, reason) tuples as a quarantine frame (not gap markers)."""
    three = {k: QUARANTINE_SCHEMA[k] for k in ("line_number", "raw_text", "reason")}
    return pl.DataFrame(rows, schema=three, orient="row").with_columns(
        pl.lit(None, pl.String).alias("meter_id"),
        pl.lit(None, pl.Datetime("us")).alias("measured_at"),
        pl.lit(False).alias("is_gap"),
    )


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    ddl = (Path(__file__).parent / "schema.sql").read_text(encoding="utf-8")
    con.execute(ddl)


def find_previous_load(
    con: duckdb.DuckDBPyConnection, kind: str, sha256: str, options_json: str | None = None
) -> int | None:
    """The first load of this content (and these options, when given) that loaded rows.

    A load that quarantined every row of a non-empty source does not count: it can be retried."""
    sql = (
        "select min(load_id) from raw.loads where kind = ? and source_sha256 = ? "
        "and (rows_loaded > 0 or rows_read = 0)"
    )
    params: list = [kind, sha256]
    if options_json is not None:
        sql += " and coalesce(options_json, '{}') = ?"
        params.append(options_json)
    row = con.execute(sql, params).fetchone()
    return row[0] if row and row[0] is not None else None


def _check(batch: Batch) -> None:
    if batch.rows_loaded < 0:
        raise OptionError(
            f"{batch.source}: {batch.rows_quarantined} rows quarantined of {batch.rows_read} read"
        )


def load(batch: Batch, con: duckdb.DuckDBPyConnection | None = None) -> LoadResult:
    """Write ``batch`` in one transaction; skip it when the same content was loaded before with
    the same options (the options are part of the key: other options make a new load).

    Rows of one load that share a meter and an instant are resolved here, for every format:
    identical rows are duplicates (one kept, the others quarantined), rows with different values
    are a conflict (all quarantined, each naming the other lines)."""
    _check(batch)
    own = con is None
    con = con or connect()
    try:
        ensure_schema(con)
        options_json = batch.options_json
        previous = find_previous_load(con, batch.kind, batch.sha256, options_json)
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
                options_json=options_json,
            )
        same_content = find_previous_load(con, batch.kind, batch.sha256)
        con.execute("begin transaction")
        try:
            load_id = con.execute("select nextval('raw.load_id_seq')").fetchone()[0]
            written = _write_parts(con, load_id, batch)
            collided = _resolve_collisions(con, load_id, written.shared(), batch.line_text)
            rows_quarantined = written.quarantined + collided
            rows_loaded = written.rows_read - rows_quarantined
            con.execute(
                "insert into raw.loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    load_id,
                    batch.kind,
                    batch.format,
                    batch.source,
                    batch.sha256,
                    options_json,
                    written.rows_read,
                    rows_loaded,
                    rows_quarantined,
                    datetime.now(UTC).replace(tzinfo=None),
                    __version__,
                ],
            )
            sample = con.execute(
                "select line_number, reason from raw.quarantine where load_id = ? "
                "order by line_number nulls first limit 5",
                [load_id],
            ).fetchall()
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return LoadResult(
            load_id,
            batch.source,
            batch.kind,
            batch.format,
            written.rows_read,
            rows_loaded,
            rows_quarantined,
            warnings=batch.warnings + written.warnings,
            quarantine_sample=sample,
            same_content_as=same_content,
            options_json=options_json,
        )
    finally:
        if own:
            con.close()


@dataclass
class _Written:
    rows_read: int = 0
    quarantined: int = 0
    warnings: list[str] = field(default_factory=list)
    #: (table, meter_id) -> the instants written (epoch us), to find shared instants
    instants: dict[tuple[str, str], list[np.ndarray]] = field(default_factory=dict)

    def note(self, table: str, frame: pl.DataFrame) -> None:
        keys = frame.select("meter_id", pl.col("measured_at").dt.epoch("us").alias("us"))
        for (meter_id,), part in keys.partition_by("meter_id", as_dict=True).items():
            self.instants.setdefault((table, meter_id), []).append(part["us"].to_numpy())

    def shared(self) -> dict[str, list[tuple[str, int]]]:
        """table -> the (meter, instant) pairs written more than once (8 bytes a row, sorted in
        place per meter: a 1 GB file needs no hash table of every key)."""
        out: dict[str, list[tuple[str, int]]] = {}
        for (table, meter_id), arrays in self.instants.items():
            us = np.concatenate(arrays) if len(arrays) > 1 else arrays[0].copy()
            arrays.clear()
            us.sort()
            twice = np.unique(us[1:][us[1:] == us[:-1]])
            out.setdefault(table, []).extend((meter_id, int(t)) for t in twice)
        return out


def _write_parts(con: duckdb.DuckDBPyConnection, load_id: int, batch: Batch) -> _Written:
    """Insert every part of ``batch`` (itself when not streamed); meters once per meter id."""
    out = _Written()
    meters: list[pl.DataFrame] = []
    seen: set[str] = set()
    for part in batch.parts() if batch.parts is not None else [batch]:
        out.rows_read += part.rows_read
        out.quarantined += part.quarantine.height
        if part is not batch:
            out.warnings.extend(w for w in part.warnings if w not in out.warnings)
        frames = dict(part.tables)
        if part.quarantine.height:
            q = part.quarantine
            if "is_gap" not in q.columns:
                q = q.with_columns(pl.lit(False).alias("is_gap"))
            frames["quarantine"] = q.with_columns(pl.col("is_gap").fill_null(False))
        for table, frame in frames.items():
            if table == "meters" and "meter_id" in frame.columns:
                frame = frame.filter(~pl.col("meter_id").is_in(seen))
                seen.update(frame["meter_id"].to_list())
                meters.append(frame)
                continue
            if frame.height:
                if table in KEYED_TABLES:
                    out.note(table, frame)
                _insert(con, table, frame.with_columns(pl.lit(load_id, pl.Int64).alias("load_id")))
    for frame in meters:
        if frame.height:
            _insert(con, "meters", frame.with_columns(pl.lit(load_id, pl.Int64).alias("load_id")))
    return out


def _resolve_collisions(
    con: duckdb.DuckDBPyConnection,
    load_id: int,
    shared: dict[str, list[tuple[str, int]]],
    line_text: Callable[[list[int]], dict[int, str]] | None,
) -> int:
    """Quarantine the lines of this load whose readings share a meter and an instant; returns
    how many lines were quarantined (a line is loaded or quarantined whole)."""
    reasons: dict[int, list[str]] = {}
    for table, keys in shared.items():
        if not keys:
            continue
        values = KEYED_TABLES[table]
        value = "{" + ", ".join(f"'{v}': t.{v}" for v in values) + "}"
        wanted = pl.DataFrame(keys, schema={"meter_id": pl.String, "us": pl.Int64}, orient="row")
        wanted_arrow = wanted.to_arrow()  # noqa: F841  (referenced by name in the SQL below)
        groups = con.execute(
            f"select t.meter_id, t.measured_at, list(t.line_number order by t.line_number), "
            f"count(distinct {value}) from raw.{table} as t inner join wanted_arrow as w "
            "on t.meter_id = w.meter_id and epoch_us(t.measured_at) = w.us "
            "where t.load_id = ? group by t.meter_id, t.measured_at",
            [load_id],
        ).fetchall()
        for meter_id, at, lines, n_values in groups:
            if n_values == 1:
                for ln in lines[1:]:
                    reasons.setdefault(ln, []).append(
                        f"duplicate: same meter {meter_id}, instant {at} and value as line "
                        f"{lines[0]}"
                    )
                continue
            for ln in lines:
                others = [o for o in lines if o != ln]
                shown = ", ".join(map(str, others[:5])) + (", ..." if len(others) > 5 else "")
                reasons.setdefault(ln, []).append(
                    f"conflict: meter {meter_id} at {at} has a different value on line "
                    f"{shown} (two readings of one instant; a device column would tell them "
                    "apart)"
                )
    if not reasons:
        return 0
    lines = sorted(reasons)
    texts = line_text(lines) if line_text is not None else {}
    for table in KEYED_TABLES:
        con.execute(
            f"delete from raw.{table} where load_id = ? and list_contains(?, line_number)",
            [load_id, lines],
        )
    _insert(
        con,
        "quarantine",
        quarantine_frame(
            [(ln, texts.get(ln), "; ".join(reasons[ln])) for ln in lines]
        ).with_columns(pl.lit(load_id, pl.Int64).alias("load_id")),
    )
    return len(lines)


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    # a missing number is null, never NaN (NaN passes range tests as neither low nor high)
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    if floats:
        frame = frame.with_columns(pl.col(floats).fill_nan(None))
    arrow = frame.to_arrow()  # noqa: F841  (referenced by name in the SQL below)
    con.execute(f"insert into raw.{table} by name select * from arrow")
