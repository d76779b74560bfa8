"""Reading a CSV or Parquet source as all-string columns, keeping the way back to its lines.

A CSV is read in blocks of about :data:`CHUNK_BYTES` (cut at a line end outside quotes), so a
parser that works row by row can stream a file of any size (:meth:`Table.chunks`); parsers that
need the whole file use :attr:`Table.frame`. Each row knows its file line (``line``, 1 = header),
also when a quoted field spans lines. Malformed CSV (extra fields, an unclosed quote) is refused
naming the file and the line. A last line without a line end that is incomplete (a logger still
writing: fewer fields than the header, or an unclosed quote) becomes a row of nulls that the
parser quarantines with the reason :data:`TRUNCATED`, instead of failing the file.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from flopwatt.ingest.loader import Batch, quarantine_frame, sha256_file

from flopwatt.core.errors import IngestError

BOM = b"\xef\xbb\xbf"
#: bytes of CSV text parsed at a time by :meth:`Table.chunks`
CHUNK_BYTES = 8 << 20
#: reason of a cut-off last line (see module docstring)
TRUNCATED = "incomplete last line (no line end: the file was still being written)"


def check_readable(path: Path | str) -> Path:
    """``path`` as an absolute Path, or an IngestError naming it: missing, a directory, unreadable.

    Every file reader goes through this, so an OS error becomes one line, not a traceback."""
    path = Path(path).absolute()
    if not path.exists():
        raise IngestError(str(path), "file not found")
    if path.is_dir():
        raise IngestError(str(path), "is a directory, not a file")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise IngestError(str(path), f"cannot read the file ({exc.strerror or exc})") from exc
    return path


@dataclass
class Table:
    """A source's rows as strings; ``line`` is each row's line number in the file (1 = header)."""

    path: Path
    sha256: str
    frame_: pl.DataFrame | None = None  # all String columns + "line" (Int64)
    is_parquet: bool = False
    header: list[str] = field(default_factory=list)
    #: lines kept as rows of nulls because they were cut off (see module docstring)
    truncated: set[int] = field(default_factory=set)
    #: (first line, byte offset) of each block read, so a line's text is found without a rescan
    offsets: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.frame_ is not None and not self.header:
            self.header = [c for c in self.frame_.columns if c != "line"]

    @property
    def source(self) -> str:
        return str(self.path)

    @property
    def columns(self) -> list[str]:
        return list(self.header)

    @property
    def frame(self) -> pl.DataFrame:
        """Every row (read once, on first use)."""
        if self.frame_ is None:
            parts = list(self.chunks())
            self.frame_ = pl.concat(parts) if parts else _empty(self.header)
        return self.frame_

    def chunks(self) -> Iterator[pl.DataFrame]:
        """The rows in blocks (the whole frame at once for Parquet and JSON sources)."""
        if self.frame_ is not None:
            yield self.frame_
            return
        yield from _csv_chunks(self.path, self.header, self.truncated, self.offsets)

    def require(self, *names: str, format_name: str, hint: str = "") -> None:
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise IngestError(
                self.source,
                f"not a {format_name} file: missing column(s) {', '.join(missing)} "
                f"(found: {', '.join(self.columns) or 'none'}){hint}",
                line=1,
            )

    def raw_lines(self, lines: list[int]) -> dict[int, str]:
        """Original text of the given file lines (for the quarantine table)."""
        wanted = set(lines)
        if not wanted:
            return {}
        if self.is_parquet:
            rows = self.frame.filter(pl.col("line").is_in(wanted))
            keys = rows["line"].to_list()
            rows = rows.drop("line").to_dicts()
            return {k: json.dumps(r, default=str) for k, r in zip(keys, rows, strict=True)}
        out: dict[int, str] = {}
        starts = sorted(set(self.offsets) | {(1, 0)})
        with open(self.path, "rb") as fh:
            for first, offset in reversed(starts):  # from the nearest block start before them
                here = sorted(ln for ln in wanted if ln >= first and ln not in out)
                if not here:
                    continue
                fh.seek(offset)
                for i, raw in enumerate(fh, start=first):
                    if i in wanted:
                        out[i] = raw.removeprefix(BOM).decode("utf-8", "replace").rstrip("\r\n")
                    if i >= here[-1]:
                        break
        return out

    def batch(
        self,
        kind: str,
        fmt: str,
        checked: pl.DataFrame,
        tables: dict[str, pl.DataFrame],
        options: dict | None = None,
        warnings: list[str] | None = None,
        *,
        bad: pl.DataFrame | None = None,
    ) -> Batch:
        """The Batch of this source: ``checked`` is every row read, with its ``reason`` (null =
        loaded); the rows with a reason go to quarantine, or ``bad`` where the parser shapes them
        itself (see :meth:`quarantine`)."""
        if bad is None:
            bad = checked.filter(pl.col("reason").is_not_null())
        return Batch(
            kind=kind,
            format=fmt,
            source=self.source,
            sha256=self.sha256,
            rows_read=checked.height,
            tables=tables,
            quarantine=self.quarantine(bad),
            options=options or {},
            warnings=warnings or [],
            line_text=self.raw_lines,
        )

    def quarantine(self, bad: pl.DataFrame) -> pl.DataFrame:
        """``bad`` has columns line, reason [, meter_id, measured_at, is_gap]: attach each line's
        original text; a cut-off last line gets :data:`TRUNCATED` as its reason."""
        if bad.height == 0:
            return quarantine_frame([])
        texts = self.raw_lines(bad["line"].to_list())
        cut = self.truncated
        out = quarantine_frame(
            [
                (ln, texts.get(ln), TRUNCATED if ln in cut else r)
                for ln, r in bad.select("line", "reason").iter_rows()
            ]
        )
        extra = [c for c in ("meter_id", "measured_at", "is_gap") if c in bad.columns]
        if extra:
            out = out.with_columns(bad.select(extra))
        if cut:
            out = out.with_columns(
                pl.when(pl.col("line_number").is_in(cut))
                .then(pl.lit(False))
                .otherwise(pl.col("is_gap"))
                .fill_null(False)
                .alias("is_gap")
            )
        return out.with_columns(pl.col("is_gap").fill_null(False))


def _empty(header: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={**{c: pl.String for c in header}, "line": pl.Int64})


def _header(path: Path) -> tuple[list[str], int]:
    """Lower-cased, stripped column names and the byte length of the header line (with BOM)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if not head.removeprefix(BOM).strip():
        raise IngestError(str(path), "file is empty", line=1)
    if b"\x00" in head[:4096]:
        raise IngestError(str(path), "binary data where CSV text was expected", line=1)
    end = head.find(b"\n")
    line = head if end < 0 else head[: end + 1]
    text = line.removeprefix(BOM).decode("utf-8", "replace")
    names = next(csv.reader([text.rstrip("\r\n")]))
    return [n.strip().lower() for n in names], len(line)


def _record_ends(block: bytes, parity: int) -> tuple[np.ndarray, int]:
    """Positions of the line ends of ``block`` that end a record (outside quotes), given the
    quote parity before the block (1 = inside a quoted field); and the parity after it."""
    arr = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(arr == ord("\n"))
    if b'"' not in block:
        return (newlines, parity) if not parity else (newlines[:0], parity)
    inside = np.logical_xor.accumulate(arr == ord('"'))  # one byte a character
    if parity:
        inside = ~inside
    return newlines[~inside[newlines]], int(inside[-1])


def _malformed(path: Path, header: list[str], body: bytes, first_line: int, exc: Exception):
    """The IngestError of a block polars refused, naming the first line with too many fields."""
    reader = csv.reader(io.StringIO(body.decode("utf-8", "replace"), newline=""))
    start = 1
    try:
        for row in reader:
            if len(row) > len(header):
                return IngestError(
                    str(path),
                    f"malformed CSV: {len(row)} fields where the header has {len(header)}",
                    line=first_line + start - 1,
                )
            start = reader.line_num + 1
    except csv.Error as err:
        return IngestError(str(path), f"malformed CSV ({err})", line=first_line + start - 1)
    return IngestError(str(path), f"malformed CSV ({str(exc).splitlines()[0]})", line=first_line)


def _parse_block(
    path: Path, header: list[str], body: bytes, first_line: int, ends: np.ndarray | None = None
) -> pl.DataFrame:
    """Rows of ``body`` (whole records, the last maybe without a line end) with their lines."""
    try:
        frame = pl.read_csv(
            body,
            has_header=False,
            new_columns=header,
            schema={c: pl.String for c in header},
            truncate_ragged_lines=False,
            encoding="utf8-lossy",
        )
    except pl.exceptions.ComputeError as exc:
        raise _malformed(path, header, body, first_line, exc) from exc
    # record i starts after the (i-1)-th record end; its line is first_line + line ends before it
    if ends is None:
        ends, _ = _record_ends(body, 0)
    starts = np.concatenate(([0], ends + 1))[: frame.height]
    newlines = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n"))
    lines = first_line + np.searchsorted(newlines, starts)
    return frame.with_columns(pl.all().str.strip_chars(), pl.Series("line", lines, pl.Int64))


def _csv_chunks(
    path: Path, header: list[str], truncated: set[int], offsets: list[tuple[int, int]]
) -> Iterator[pl.DataFrame]:
    """The data rows of a CSV in blocks of about :data:`CHUNK_BYTES`, cut at record ends."""
    _, header_len = _header(path)
    line, parity, carry = 2, 0, b""
    with open(path, "rb") as fh:
        fh.seek(header_len)
        while block := fh.read(CHUNK_BYTES):
            offsets.append((line, fh.tell() - len(block) - len(carry)))
            ends, after = _record_ends(block, parity)
            if not ends.size:
                carry, parity = carry + block, after
                if len(carry) > 4 * CHUNK_BYTES:  # no record end in 128 MB: an open quote
                    raise _unclosed(path, line)
                continue
            cut = int(ends[-1]) + 1
            body, carry = carry + block[:cut], block[cut:]
            ends = ends + (len(body) - cut)
            parity = carry.count(b'"') % 2
            yield _parse_block(path, header, body, line, ends)
            line += body.count(b"\n")
    if carry.strip(b"\r\n\t "):
        yield _last(path, header, carry, line, parity, truncated)


def _unclosed(path: Path, line: int) -> IngestError:
    return IngestError(
        str(path), 'malformed CSV: a quoted field opened on this line is never closed (")', line
    )


def _last(
    path: Path, header: list[str], tail: bytes, line: int, parity: int, truncated: set[int]
) -> pl.DataFrame:
    """The text after the last record end: one record without a line end, maybe cut off."""
    if parity and b"\n" in tail.rstrip(b"\r\n"):
        raise _unclosed(path, line)  # spans lines: malformed, not a cut-off last line
    if not parity:
        fields = next(csv.reader([tail.decode("utf-8", "replace").rstrip("\r\n")]), [])
        if len(fields) >= len(header):
            return _parse_block(path, header, tail, line)
    # a logger still writing: the line is a row of nulls, quarantined as truncated
    truncated.add(line)
    return pl.DataFrame(
        {**{c: [None] for c in header}, "line": [line]},
        schema={**{c: pl.String for c in header}, "line": pl.Int64},
    )


def read_table(path: Path | str) -> Table:
    """Read CSV (any line ends, optional UTF-8 BOM) or Parquet as strings, with line numbers."""
    path = check_readable(path)
    sha = sha256_file(path)
    if path.suffix.lower() in {".parquet", ".pq"}:
        try:
            frame = pl.read_parquet(path)
        except Exception as exc:
            raise IngestError(str(path), f"not a readable Parquet file ({exc})") from exc
        frame = frame.select(pl.all().cast(pl.String))
        frame = frame.rename({c: c.strip().lower() for c in frame.columns})
        frame = frame.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
        return Table(path, sha, frame, is_parquet=True)
    if os.path.getsize(path) == 0:
        raise IngestError(str(path), "file is empty", line=1)
    header, _ = _header(path)
    return Table(path, sha, None, header=header)


def numeric(col: str, what: str | None = None) -> tuple[pl.Expr, pl.Expr]:
    """(value as Float64, reason when it is not a finite number) for a string column."""
    what = what or col
    value = pl.col(col).cast(pl.Float64, strict=False)
    reason = (
        pl.when(pl.col(col).is_null() | (pl.col(col) == ""))
        .then(pl.lit(f"{what} is empty"))
        .when(value.is_null() | value.is_nan() | value.is_infinite())
        .then(pl.format(f"{what} {{}} is not a number", pl.col(col)))
    )
    return value, reason


def first_reason(*reasons: pl.Expr) -> pl.Expr:
    """The first non-null reason of several checks (null when all pass)."""
    return pl.coalesce(*reasons)
