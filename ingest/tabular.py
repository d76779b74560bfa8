"""Reading a CSV or Parquet source as all-string columns, keeping the way back to its lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch, quarantine_frame, sha256_file

from flopwatt.core.errors import IngestError

BOM = b"\xef\xbb\xbf"


@dataclass
class Table:
    """A source's rows as strings; ``line`` is each row's line number in the file (1 = header)."""

    path: Path
    sha256: str
    frame: pl.DataFrame  # all String columns, lower-cased stripped names, plus "line" (Int64)
    is_parquet: bool = False

    @property
    def source(self) -> str:
        return str(self.path)

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c != "line"]

    def require(self, *names: str, format_name: str) -> None:
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise IngestError(
                self.source,
                f"not a {format_name} file: missing column(s) {', '.join(missing)} "
                f"(found: {', '.join(self.columns) or 'none'})",
                line=1,
            )

    def raw_lines(self, lines: list[int]) -> dict[int, str]:
        """Original text of the given file lines (for the quarantine table)."""
        wanted = set(lines)
        if self.is_parquet:
            rows = self.frame.filter(pl.col("line").is_in(wanted)).drop("line").to_dicts()
            keys = self.frame.filter(pl.col("line").is_in(wanted))["line"].to_list()
            return {k: json.dumps(r, default=str) for k, r in zip(keys, rows, strict=True)}
        out: dict[int, str] = {}
        with open(self.path, "rb") as fh:
            for i, raw in enumerate(fh, start=1):
                if i in wanted:
                    out[i] = raw.removeprefix(BOM).decode("utf-8", "replace").rstrip("\r\n")
                    if len(out) == len(wanted):
                        break
        return out

    def batch(
        self,
        kind: str,
        fmt: str,
        checked: pl.DataFrame,
        tables: dict[str, pl.DataFrame],
        options: dict | None = None,
    ) -> Batch:
        """The Batch of this source: ``checked`` is every row with its ``reason`` (null = loaded);
        the rows with a reason go to quarantine."""
        return Batch(
            kind=kind,
            format=fmt,
            source=self.source,
            sha256=self.sha256,
            rows_read=checked.height,
            tables=tables,
            quarantine=self.quarantine(checked.filter(pl.col("reason").is_not_null())),
            options=options or {},
        )

    def quarantine(self, bad: pl.DataFrame) -> pl.DataFrame:
        """``bad`` has columns line, reason: attach each line's original text."""
        if bad.height == 0:
            return quarantine_frame([])
        texts = self.raw_lines(bad["line"].to_list())
        return quarantine_frame(
            [(ln, texts.get(ln), r) for ln, r in bad.select("line", "reason").iter_rows()]
        )


def read_table(path: Path | str) -> Table:
    """Read CSV (any line ends, optional UTF-8 BOM) or Parquet as strings, with line numbers."""
    path = Path(path)
    if not path.exists():
        raise IngestError(str(path), "file not found")
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
    data = path.read_bytes().removeprefix(BOM)
    if not data.strip():
        raise IngestError(str(path), "file is empty", line=1)
    if b"\x00" in data[:4096]:
        raise IngestError(str(path), "binary data where CSV text was expected", line=1)
    try:
        frame = pl.read_csv(
            data,
            infer_schema=False,
            truncate_ragged_lines=False,
            encoding="utf8-lossy",
        )
    except pl.exceptions.ComputeError as exc:
        raise IngestError(str(path), f"malformed CSV ({str(exc).splitlines()[0]})") from exc
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    frame = frame.with_columns(pl.all().str.strip_chars())
    frame = frame.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))
    return Table(path, sha, frame)


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
