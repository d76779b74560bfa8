"""Timestamp strings to naive UTC, vectorised, with a reason for every value that fails.

Accepted: ISO-8601 with an offset or ``Z`` (converted to UTC); naive local times with an IANA zone
(``--tz``), converted correctly across DST, where ambiguous (clocks going back) and non-existent
(clocks going forward) local times are rejected with a reason, never guessed; epoch seconds. The
date may be written ``YYYY/MM/DD`` (nvidia-smi's ``2024/03/31 01:59:59.500``).

Naive times with no zone given are an error for the whole file when they are the file's
timestamps; when the other timestamps carry an offset, the naive ones (a line cut off before its
offset, a stray row) are quarantined with a reason instead.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from flopwatt.core.errors import IngestError, OptionError

_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
_EPOCH = r"^\d{9,10}(?:\.\d+)?$"
_FMT = "%Y-%m-%dT%H:%M:%S%.f"


def check_tz(tz: str | None) -> str | None:
    if tz is None:
        return None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OptionError(
            f"unknown time zone {tz!r}: use an IANA name such as Europe/London"
        ) from exc
    return tz


def _normalise(s: pl.Expr) -> pl.Expr:
    return (
        s.str.strip_chars()
        .str.replace(r"^(\d{4})/(\d{2})/(\d{2})([ T])", "${1}-${2}-${3}${4}")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r"([+-]\d{2})$", "${1}:00")
        .str.replace(r"T(\d{2}:\d{2})([+-]|$)", "T${1}:00${2}")
    )


def to_utc(
    values: pl.Series,
    tz: str | None,
    *,
    source: str,
    first_line: int = 2,
    lines: pl.Series | None = None,
) -> pl.DataFrame:
    """Parse ``values`` into a frame with ``at`` (naive UTC datetime[us]) and ``reason``.

    Raises IngestError when the timestamps are naive local times and ``tz`` is None (the user must
    say which zone the log was written in); ``lines`` are the file lines of ``values`` (else
    ``first_line`` is the line of ``values[0]`` and the rest follow).
    """
    check_tz(tz)
    df = pl.DataFrame({"raw": values.cast(pl.String)}).with_columns(
        _normalise(pl.col("raw")).alias("norm")
    )
    kind = (
        pl.when(pl.col("norm").is_null() | (pl.col("norm") == ""))
        .then(pl.lit("empty"))
        .when(pl.col("norm").str.contains(_EPOCH))
        .then(pl.lit("epoch"))
        .when(pl.col("norm").str.contains(_OFFSET))
        .then(pl.lit("aware"))
        .otherwise(pl.lit("naive"))
    )
    df = df.with_columns(kind.alias("kind"))
    naive_rows = df.with_row_index().filter(pl.col("kind") == "naive")
    parsed_naive = pl.col("norm").str.to_datetime(_FMT, strict=False, time_unit="us")
    offset_missing = False
    if tz is None and naive_rows.height:
        # only complain about real timestamps; garbage goes to quarantine below
        first = naive_rows.with_columns(parsed_naive.alias("p")).filter(pl.col("p").is_not_null())
        n_aware = df.select((pl.col("kind").is_in(["aware", "epoch"])).sum()).item()
        if first.height and first.height >= n_aware:
            i = first["index"][0]
            raise IngestError(
                source,
                f"timestamp {first['raw'][0]!r} has no UTC offset: say which zone the log was "
                "written in with --tz (an IANA name such as Europe/London)",
                line=int(lines[i]) if lines is not None else first_line + i,
            )
        offset_missing = bool(first.height)
    aware = pl.col("norm").str.to_datetime(
        _FMT + "%:z", strict=False, time_unit="us", time_zone="UTC"
    )
    epoch = (
        (pl.col("norm").cast(pl.Float64, strict=False) * 1e6)
        .cast(pl.Int64)
        .cast(pl.Datetime("us", "UTC"))
    )
    df = df.with_columns(
        pl.when(pl.col("kind") == "aware").then(aware).alias("aware_at"),
        pl.when(pl.col("kind") == "epoch").then(epoch).alias("epoch_at"),
        pl.when(pl.col("kind") == "naive").then(parsed_naive).alias("local"),
    )
    if tz is not None:
        local = pl.col("local")
        df = df.with_columns(
            local.dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
            .dt.convert_time_zone("UTC")
            .alias("naive_at"),
            local.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
            .is_not_null()
            .alias("exists_locally"),
        )
    else:
        df = df.with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("naive_at"),
            pl.lit(True).alias("exists_locally"),
        )
    at = pl.coalesce("aware_at", "epoch_at", "naive_at")
    reason = (
        pl.when(pl.col("kind") == "empty")
        .then(pl.lit("empty timestamp"))
        .when(at.is_not_null())
        .then(pl.lit(None, pl.String))
        .when((pl.col("kind") == "naive") & pl.col("local").is_not_null() & offset_missing)
        .then(pl.format("timestamp {} has no UTC offset (the file's others have one)", "raw"))
        .when(
            (pl.col("kind") == "naive") & pl.col("local").is_not_null() & pl.col("exists_locally")
        )
        .then(
            pl.format("ambiguous local time {} in {} (DST change: occurs twice)", "raw", pl.lit(tz))
        )
        .when((pl.col("kind") == "naive") & pl.col("local").is_not_null())
        .then(
            pl.format(
                "non-existent local time {} in {} (DST gap: clocks skip it)", "raw", pl.lit(tz)
            )
        )
        .otherwise(pl.format("unparseable timestamp {}", "raw"))
    )
    return df.select(at.dt.replace_time_zone(None).alias("at"), reason.alias("reason"))
