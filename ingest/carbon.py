"""Annual grid carbon intensity per zone (gCO2e/kWh).

With no file, the default table is CodeCarbon's bundled OWID-based energy mix
(``codecarbon/data/private_infra/global_energy_mix.json``; it has bare ``NaN`` tokens, which are
quarantined with a reason), recorded with the package version and each row's data year.
A CSV ``zone,year,g_per_kwh[,source,zone_name]`` adds or overrides zones.
"""

from __future__ import annotations

import json
import math
import re
from importlib import metadata
from pathlib import Path

import polars as pl
from flopwatt.ingest.loader import Batch, quarantine_frame, sha256_file
from flopwatt.ingest.tabular import first_reason, numeric, read_table

from flopwatt.core.errors import FlopwattError

CODECARBON_MIX = "data/private_infra/global_energy_mix.json"


def codecarbon_mix_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("codecarbon")
    if spec is None or spec.origin is None:
        raise FlopwattError("codecarbon is not installed: pip install codecarbon")
    path = Path(spec.origin).parent / CODECARBON_MIX
    if not path.exists():
        raise FlopwattError(f"codecarbon's energy mix is missing: {path}")
    return path


def parse_codecarbon(path: Path | None = None) -> Batch:
    path = path or codecarbon_mix_path()
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)  # Python's json accepts the bare NaN tokens
    key_lines = {
        m.group(1): text.count("\n", 0, m.start()) + 1
        for m in re.finditer(r'^\s*"([A-Za-z0-9_-]+)"\s*:\s*\{', text, flags=re.M)
    }
    version = metadata.version("codecarbon")
    source = f"codecarbon {version} global_energy_mix.json (OWID)"
    good, bad = [], []
    for zone, entry in data.items():
        line = key_lines.get(zone)
        ci = entry.get("carbon_intensity") if isinstance(entry, dict) else None
        if (
            not isinstance(ci, int | float)
            or isinstance(ci, bool)
            or not math.isfinite(ci)
            or ci < 0
        ):
            reason = f"carbon_intensity is {ci!r} for zone {zone}"
            bad.append((line, json.dumps({zone: entry}, allow_nan=True)[:500], reason))
            continue
        year = entry.get("year")
        good.append(
            {
                "line_number": line,
                "zone": zone,
                "zone_name": entry.get("country_name"),
                "year": int(year)
                if isinstance(year, int | float) and math.isfinite(year)
                else None,
                "g_per_kwh": float(ci),
                "source": source,
                "source_version": version,
            }
        )
    rows = pl.DataFrame(
        good,
        schema={
            "line_number": pl.Int64,
            "zone": pl.String,
            "zone_name": pl.String,
            "year": pl.Int32,
            "g_per_kwh": pl.Float64,
            "source": pl.String,
            "source_version": pl.String,
        },
    )
    return Batch(
        kind="carbon",
        format="codecarbon-mix",
        source=str(path),
        sha256=sha256_file(path),
        rows_read=len(data),
        tables={"carbon_intensity": rows},
        quarantine=quarantine_frame(bad),
        options={"codecarbon_version": version},
    )


def parse_csv(path: Path | str) -> Batch:
    table = read_table(path)
    table.require("zone", "year", "g_per_kwh", format_name="carbon (zone,year,g_per_kwh)")
    f = table.frame
    value, value_reason = numeric("g_per_kwh")
    year = pl.col("year").cast(pl.Int32, strict=False)
    src = pl.col("source") if "source" in f.columns else pl.lit(f"file {table.path.name}")
    name = pl.col("zone_name") if "zone_name" in f.columns else pl.lit(None, pl.String)
    f = f.with_columns(
        first_reason(
            pl.when(pl.col("zone").is_null() | (pl.col("zone") == "")).then(
                pl.lit("zone is empty")
            ),
            value_reason,
            pl.when(value < 0).then(pl.lit("g_per_kwh is negative")),
            pl.when(year.is_null() | (year < 1900) | (year > 2200)).then(
                pl.format("year '{}' is not a year", pl.col("year"))
            ),
        ).alias("reason")
    )
    good = f.filter(pl.col("reason").is_null())
    rows = good.select(
        pl.col("line").alias("line_number"),
        pl.col("zone").str.to_uppercase().alias("zone"),
        name.alias("zone_name"),
        year.alias("year"),
        value.alias("g_per_kwh"),
        src.alias("source"),
    )
    return table.batch("carbon", "carbon-csv", f, {"carbon_intensity": rows})
