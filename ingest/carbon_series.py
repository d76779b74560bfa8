"""Time-resolved grid carbon intensity -> ``raw.carbon_intensity_series`` (gCO2e/kWh per period).

- ``neso``: the UK NESO (formerly National Grid ESO) Carbon Intensity API JSON, national
  (``{"data": [{"from", "to", "intensity": {"forecast", "actual", "index"}}]}``) or regional
  (``data[].regions[]`` or ``data[].data[]`` per ``regionid``). The actual is used when present,
  else the forecast, flagged ``is_forecast``; regional figures are forecasts only. Zone: ``GBR``
  (national) or ``GBR-<regionid>``; ``--zone`` overrides the national one.
- ``electricitymaps``: Electricity Maps CSV exports, both header generations:
  ``Datetime (UTC), Country, Zone Name, Zone Id, Carbon Intensity gCO₂eq/kWh (direct),
  Carbon Intensity gCO₂eq/kWh (LCA), Low Carbon Percentage, ...`` (to 2023) and
  ``Datetime (UTC), Country, Zone name, Zone id, Carbon intensity gCO₂eq/kWh (direct),
  Carbon intensity gCO₂eq/kWh (Life cycle), Carbon-free energy percentage (CFE%), ...`` (2024+).
  ``basis`` picks life-cycle (default, like the annual OWID figures) or direct. The period is the
  file's granularity (``_hourly``/``_daily``/``_monthly``/``_yearly`` in the name, else the spacing
  of the rows, else ``period``). Two-letter country zones become ISO alpha-3 (``GB`` -> ``GBR``)
  like every other zone in flopwatt; sub-national zones (``US-CAL-CISO``) are kept.
- ``series``: a generic CSV ``zone, from, to, g_per_kwh[, is_forecast, source]`` (timestamps with an
  offset or ``Z``, or naive with ``--tz``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch, quarantine_frame, sha256_file
from flopwatt.ingest.tabular import check_readable, first_reason, numeric, read_table
from flopwatt.ingest.timeparse import to_utc

from flopwatt.core.errors import IngestError, OptionError

SCHEMA = {
    "line_number": pl.Int64,
    "zone": pl.String,
    "from_at": pl.Datetime("us"),
    "to_at": pl.Datetime("us"),
    "g_per_kwh": pl.Float64,
    "is_forecast": pl.Boolean,
    "source": pl.String,
}
PERIODS = {"5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h", "1d": "1d", "1mo": "1mo", "1y": "1y"}
_FILE_PERIODS = {
    "5_minute": "5m", "5min": "5m", "15_minute": "15m", "hourly": "1h", "daily": "1d",
    "monthly": "1mo", "yearly": "1y",
}  # fmt: skip


def alpha3(zone: str) -> str:
    """ISO alpha-2 country zones to alpha-3 (pycountry ships with codecarbon); others unchanged."""
    z = zone.strip().upper()
    if len(z) != 2:
        return z
    if z == "UK":
        return "GBR"
    try:
        import pycountry

        c = pycountry.countries.get(alpha_2=z)
    except (ImportError, LookupError):
        c = None
    return c.alpha_3 if c else z


def _series_batch(fmt, source, sha, rows_read, good, bad_frame, options, warnings=()) -> Batch:
    return Batch(
        kind="carbon",
        format=fmt,
        source=source,
        sha256=sha,
        rows_read=rows_read,
        tables={"carbon_intensity_series": good},
        quarantine=bad_frame,
        options=options,
        warnings=list(warnings),
    )


# --------------------------------------------------------------------------------------------
# NESO API JSON


def parse_neso(path: Path | str, *, zone: str | None = None) -> Batch:
    path = check_readable(path)
    text = path.read_text(encoding="utf-8-sig")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(str(path), f"not JSON ({exc.msg})", line=exc.lineno) from exc
    data = doc.get("data") if isinstance(doc, dict) else None
    if data is None:
        raise IngestError(str(path), 'not a NESO carbon intensity response: no "data"', line=1)
    # line of every "from" key, in document order = traversal order below
    from_lines = iter(text.count("\n", 0, m.start()) + 1 for m in re.finditer(r'"from"\s*:', text))
    national = (zone or "GBR").upper()
    good, bad = [], []

    def period(item: dict, zone_: str, forecast_only: bool) -> None:
        line = next(from_lines, None)
        raw = json.dumps(item)[:500]
        f, t = item.get("from"), item.get("to")
        intensity = item.get("intensity") or {}
        actual = None if forecast_only else intensity.get("actual")
        forecast = intensity.get("forecast")
        value, is_fc = (actual, False) if actual is not None else (forecast, True)
        if f is None or t is None:
            bad.append((line, raw, "period without from/to"))
        elif not isinstance(value, int | float) or isinstance(value, bool):
            bad.append((line, raw, "intensity has neither actual nor forecast"))
        elif value < 0:
            bad.append((line, raw, f"intensity {value} is negative"))
        else:
            kind = "forecast" if is_fc else "actual"
            good.append((line, zone_, str(f), str(t), float(value), is_fc,
                         f"NESO Carbon Intensity API ({kind})"))  # fmt: skip

    def region_zone(r: dict) -> str:
        rid = r.get("regionid")
        return f"GBR-{rid}" if rid is not None else national

    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        if "regions" in item:  # /regional/intensity/{from}/{to}: one period, many regions
            for r in item["regions"]:
                period({**r, "from": item.get("from"), "to": item.get("to")}, region_zone(r), True)
        elif "data" in item and "regionid" in item:  # /regional/regionid/{id}: one region
            for p in item["data"]:
                period(p, region_zone(item), True)
        else:
            period(item, national, False)
    rows = pl.DataFrame(
        good,
        schema={"line_number": pl.Int64, "zone": pl.String, "from": pl.String, "to": pl.String,
                "g_per_kwh": pl.Float64, "is_forecast": pl.Boolean, "source": pl.String},
        orient="row",
    )  # fmt: skip
    n_read = len(good) + len(bad)
    start = to_utc(rows["from"], None, source=str(path))
    end = to_utc(rows["to"], None, source=str(path))
    rows = rows.with_columns(
        start["at"].alias("from_at"),
        end["at"].alias("to_at"),
        start["reason"].alias("from_reason"),
        end["reason"].alias("to_reason"),
    ).with_columns(
        first_reason(
            pl.format("from: {}", "from_reason"),
            pl.format("to: {}", "to_reason"),
            pl.when(pl.col("to_at") <= pl.col("from_at")).then(pl.lit("to is not after from")),
        ).alias("reason")
    )
    for line, reason in (
        rows.filter(pl.col("reason").is_not_null()).select("line_number", "reason").iter_rows()
    ):
        bad.append((line, None, reason))
    ok = rows.filter(pl.col("reason").is_null()).select(list(SCHEMA))
    n_fc = int(ok["is_forecast"].sum())
    warnings = [f"{n_fc} of {ok.height} periods are forecasts (no actual yet)"] if n_fc else []
    return _series_batch(
        "neso", str(path), sha256_file(path), n_read, ok, quarantine_frame(bad), {"zone": zone},
        warnings,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Electricity Maps CSV


def _find(cols: list[str], *patterns: str) -> str | None:
    for p in patterns:
        for c in cols:
            if re.search(p, c):
                return c
    return None


def parse_electricitymaps(
    path: Path | str,
    *,
    basis: str = "lifecycle",
    zone: str | None = None,
    period: str | None = None,
) -> Batch:
    if basis not in ("lifecycle", "direct"):
        raise OptionError("--basis is lifecycle or direct")
    if period is not None and period not in PERIODS:
        raise OptionError(f"unknown period {period!r}: one of {', '.join(PERIODS)}")
    table = read_table(path)
    cols = table.columns
    dt_col = _find(cols, r"^datetime \(utc\)$", r"^datetime$")
    zone_col = _find(cols, r"^zone id$", r"^zone_id$", r"^zone_name$", r"^zone$")
    if basis == "lifecycle":
        ci_col = _find(cols, r"carbon intensity.*\((lca|life ?cycle)\)", r"^carbon_intensity_avg$")
    else:
        ci_col = _find(cols, r"carbon intensity.*\(direct\)", r"^carbon_intensity_direct_avg$")
    if dt_col is None or ci_col is None:
        raise IngestError(
            table.source,
            "not an Electricity Maps export: expected 'Datetime (UTC)' and 'Carbon Intensity "
            f"gCO₂eq/kWh ({'LCA/Life cycle' if basis == 'lifecycle' else 'direct'})' "
            f"(found: {', '.join(cols)})",
            line=1,
        )
    if zone_col is None and zone is None:
        raise IngestError(table.source, "no Zone Id column: say which zone with --zone", line=1)
    f = table.frame
    times = to_utc(f[dt_col], "UTC", source=table.source)
    value, value_reason = numeric(ci_col, "carbon intensity")
    z = pl.lit(zone.upper()) if zone else pl.col(zone_col).map_elements(alpha3, pl.String)
    f = f.with_columns(
        times["at"].alias("from_at"),
        times["reason"].alias("ts_reason"),
        value.alias("g_per_kwh"),
        z.alias("zone"),
    )
    warnings: list[str] = []
    step = period or _file_period(table.path.name) or _spacing(f)
    if step is None:
        raise IngestError(
            table.source,
            "cannot tell the period of each row (one row, no _hourly/_daily/... in the file "
            "name): say it with --period 1h",
        )
    f = f.with_columns(pl.col("from_at").dt.offset_by(step).alias("to_at"))
    estimated = _find(cols, r"^data estimated$")
    f = f.with_columns(
        first_reason(
            pl.col("ts_reason"),
            value_reason,
            pl.when(pl.col("g_per_kwh") < 0).then(pl.lit("carbon intensity is negative")),
            pl.when(pl.col("zone").is_null() | (pl.col("zone") == "")).then(pl.lit("no zone")),
        ).alias("reason")
    )
    if estimated:
        # only rows that load: a quarantined row is reported as such, not as an estimate
        n_est = f.filter(
            pl.col("reason").is_null() & (pl.col(estimated).str.to_lowercase() == "true")
        ).height
        if n_est:
            warnings.append(
                f"{n_est} loaded rows are Electricity Maps estimates (Data Estimated = true)"
            )
    gen = "2024+" if "(life cycle)" in " ".join(cols) or "zone id" not in cols else "2021-2023"
    label = f"Electricity Maps export ({basis}, {step} periods, {gen} headers)"
    good = f.filter(pl.col("reason").is_null()).select(
        pl.col("line").alias("line_number"),
        "zone",
        "from_at",
        "to_at",
        "g_per_kwh",
        pl.lit(False).alias("is_forecast"),
        pl.lit(label).alias("source"),
    )
    return _series_batch(
        "electricitymaps", table.source, table.sha256, f.height, good,
        table.quarantine(f.filter(pl.col("reason").is_not_null())),
        {"basis": basis, "zone": zone, "period": step}, warnings,
    )  # fmt: skip


def _file_period(name: str) -> str | None:
    low = name.lower()
    for key, step in _FILE_PERIODS.items():
        if re.search(rf"[_\-.]{key}[_\-.]", f"_{low}_"):
            return step
    return None


def _spacing(f: pl.DataFrame) -> str | None:
    at = f["from_at"].drop_nulls().unique().sort()
    if at.len() < 2:
        return None
    seconds = at.diff().drop_nulls().dt.total_seconds().median()
    for step, s in (("5m", 300), ("15m", 900), ("30m", 1800), ("1h", 3600), ("1d", 86400)):
        if abs(seconds - s) <= s * 0.01:
            return step
    if 27 * 86400 <= seconds <= 32 * 86400:
        return "1mo"
    if 364 * 86400 <= seconds <= 367 * 86400:
        return "1y"
    return None


# --------------------------------------------------------------------------------------------
# generic CSV


def parse_csv(path: Path | str, *, tz: str | None = None) -> Batch:
    table = read_table(path)
    table.require("zone", "from", "to", "g_per_kwh", format_name="carbon series "
                  "(zone,from,to,g_per_kwh)")  # fmt: skip
    f = table.frame
    start = to_utc(f["from"], tz, source=table.source)
    end = to_utc(f["to"], tz, source=table.source)
    value, value_reason = numeric("g_per_kwh")
    fc = pl.col("is_forecast").str.to_lowercase() if "is_forecast" in f.columns else pl.lit("")
    is_fc = (
        pl.when(fc.is_in(["true", "1", "yes", "t", "y"]))
        .then(True)
        .when(fc.is_in(["false", "0", "no", "f", "n", ""]) | fc.is_null())
        .then(False)
    )
    src = pl.col("source") if "source" in f.columns else pl.lit(f"file {table.path.name}")
    f = (
        f.with_columns(
            start["at"].alias("from_at"),
            end["at"].alias("to_at"),
            start["reason"].alias("from_reason"),
            end["reason"].alias("to_reason"),
        )
        .with_columns(
            value.alias("g_per_kwh_v"),
            is_fc.alias("is_forecast_v"),
            first_reason(
                pl.when(pl.col("zone").is_null() | (pl.col("zone") == "")).then(
                    pl.lit("zone is empty")
                ),
                pl.format("from: {}", "from_reason"),
                pl.format("to: {}", "to_reason"),
                value_reason,
                pl.when(value < 0).then(pl.lit("g_per_kwh is negative")),
                pl.when(is_fc.is_null()).then(pl.format("is_forecast '{}' is not true/false", fc)),
            ).alias("reason"),
        )
        .with_columns(
            pl.coalesce(
                pl.col("reason"),
                pl.when(pl.col("to_at") <= pl.col("from_at")).then(pl.lit("to is not after from")),
            ).alias("reason")
        )
    )
    good = f.filter(pl.col("reason").is_null()).select(
        pl.col("line").alias("line_number"),
        pl.col("zone").map_elements(alpha3, pl.String).alias("zone"),
        "from_at",
        "to_at",
        pl.col("g_per_kwh_v").alias("g_per_kwh"),
        pl.col("is_forecast_v").alias("is_forecast"),
        src.alias("source"),
    )
    return _series_batch(
        "carbon-series", table.source, table.sha256, f.height, good,
        table.quarantine(f.filter(pl.col("reason").is_not_null())), {"tz": tz},
    )  # fmt: skip
