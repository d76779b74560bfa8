"""``flopwatt ingest <kind> FILE...``: parse, validate and load files into the raw layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from flopwatt.core.errors import FlopwattError, IngestError
from flopwatt.core.vocab import METER_KINDS

TZ_HELP = "IANA zone of naive timestamps, e.g. Europe/London (converted to UTC, DST-aware)"
HOST_HELP = (
    "host the meters belong to [default: nvidia-smi and rapl-dump: one host per log, named by "
    "--meter or the format; else each meter is its own host]"
)
METER_KIND = click.Choice(METER_KINDS)
#: the FILE... argument of the commands that read local files
files_argument = click.argument("files", nargs=-1, type=click.Path(dir_okay=False))


def load_files(paths: tuple[str, ...], parse_one: Callable[[Path], object]) -> None:
    """Parse and load each file in its own transaction; report every file, fail at the end.

    A file that loads nothing (every row quarantined) counts as failed. A database URL
    (``postgresql://...``) is passed on as the string it is, a path as a Path."""
    from flopwatt.ingest.loader import load

    if not paths:
        raise click.UsageError("give at least one FILE")
    failures = []
    for p in paths:
        try:
            result = load(parse_one(p if _is_url(p) else Path(p)))
        except IngestError as exc:
            failures.append(str(exc))
            click.secho(f"error: {exc} (nothing loaded from this file)", fg="red", err=True)
            continue
        for w in result.warnings:
            click.secho(f"warning: {result.source}: {w}", fg="yellow", err=True)
        click.echo(result.summary())
        for line, reason in result.quarantine_sample:
            click.echo(f"  quarantined line {line}: {reason}")
        if result.rows_quarantined > len(result.quarantine_sample):
            click.echo(
                f"  ... {result.rows_quarantined - len(result.quarantine_sample)} more "
                f"(see raw.quarantine, load #{result.load_id})"
            )
        if result.loaded_nothing:
            failures.append(result.source)
            click.secho(
                f"error: {result.source}: loaded 0 of {result.rows_read} rows (every row "
                "quarantined; the load is recorded and can be retried with other options)",
                fg="red",
                err=True,
            )
    if failures:
        raise FlopwattError(f"{len(failures)} of {len(paths)} file(s) not loaded")


def _is_url(p: str) -> bool:
    return "://" in str(p)


def _power_unit(_ctx, _param, value: str | None) -> str | None:
    """W and kW in any case; mW as written (MW would be megawatts)."""
    if value is None:
        return None
    canonical = {"w": "W", "kw": "kW"}.get(value.lower()) or ("mW" if value == "mW" else None)
    if canonical is None:
        raise click.BadParameter(f"{value!r}: use W, kW or mW (milliwatts)")
    return canonical


def _upper(_ctx, _param, value: str | None) -> str | None:
    return value.upper() if value else None


def meter_options(kind_default: str):
    """--meter-kind (``kind_default`` names its default), --zone and --host: the options that
    describe a file's meters, shared by ``ingest power`` and ``ingest counters``."""
    options = (
        click.option(
            "--meter-kind",
            default=None,
            type=METER_KIND,
            help=f"kind of meter [default: {kind_default}]",
        ),
        click.option(
            "--zone", callback=_upper, help="grid zone of the meter (ISO 3166 alpha-3, e.g. GBR)"
        ),
        click.option("--host", help=HOST_HELP),
    )

    def decorate(command):
        for option in reversed(options):  # listed in --help in the order above
            command = option(command)
        return command

    return decorate


def _require_tz(tz: str | None, what: str) -> None:
    if not tz:
        raise click.UsageError(
            f"{what} writes naive local timestamps: --tz is required (an IANA zone such as "
            "Europe/London)"
        )


@click.group()
def ingest() -> None:
    """Load files into the raw layer. Each file is one transaction; loading the same content
    again adds nothing. Bad rows go to raw.quarantine with a reason."""


@ingest.command()
@click.argument("files", nargs=-1, metavar="FILE|URL...")
@click.option(
    "--format",
    "format_",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "generic", "ha-history", "ha-events", "ha-db", "nvidia-smi"]),
    help="generic: timestamp,watts[,meter_id] (CSV or Parquet); ha-history: Home Assistant "
    "history export entity_id,state,last_changed; ha-events: last_changed,entity_id,node_id,"
    "power_consumption,unit; ha-db: Home Assistant's recorder database, a SQLite file (default "
    "home-assistant_v2.db) or a postgresql:// URL, with --entity; nvidia-smi: an nvidia-smi "
    "--query-gpu=timestamp,uuid,power.draw --format=csv log, with --tz. auto: from the header.",
)
@click.option(
    "--meter",
    help="meter id when the file has no meter_id/entity_id column "
    "(ha-db: instead of the entity id; nvidia-smi: prefix of the per-GPU ids)",
)
@click.option("--tz", help=TZ_HELP + "; nvidia-smi: needed unless the timestamps carry an offset")
@click.option(
    "--unit",
    callback=_power_unit,
    help="unit of the values: W, kW or mW (default: the file's unit column, else W)",
)
@meter_options("gpu for nvidia-smi, else wall")
@click.option(
    "--entity",
    "entities",
    multiple=True,
    help="Home Assistant (ha-db, ha-history, ha-events): entity id of a power sensor, e.g. "
    "sensor.plug_power (repeatable); required for a history export of several entities",
)
@click.option(
    "--statistics-fallback",
    is_flag=True,
    help="ha-db: where states were purged, use statistics_short_term 5-min means",
)
def power(
    files, format_, meter, tz, unit, meter_kind, zone, host, entities, statistics_fallback
) -> None:
    """Instantaneous power readings (W or kW)."""
    from flopwatt.ingest.hosts import log_host, with_host

    if format_ != "ha-db" and statistics_fallback:
        raise click.UsageError("--statistics-fallback goes with --format ha-db")
    if format_ in ("generic", "nvidia-smi") and entities:
        raise click.UsageError("--entity goes with the Home Assistant formats")
    if format_ == "ha-db":
        from flopwatt.ingest import ha_db

        if not entities:
            raise click.UsageError("--format ha-db needs --entity (e.g. sensor.plug_power)")
        if meter and len(entities) > 1:
            raise click.UsageError("--meter names one meter: give one --entity with it")
        sources = files or (ha_db.DEFAULT_PATH,)
        pairs = [(s, e) for s in sources for e in entities]
        keys = tuple(f"{s}#{e}" for s, e in pairs)
        by_key = dict(zip(keys, pairs, strict=True))
        load_files(
            keys,
            lambda k: with_host(
                ha_db.parse(
                    by_key[str(k)][0],
                    entity=by_key[str(k)][1],
                    statistics_fallback=statistics_fallback,
                    meter=meter,
                    unit=unit,
                    meter_kind=meter_kind or "wall",
                    zone=zone,
                ),
                host,
            ),
        )
        return
    if format_ == "nvidia-smi":
        from flopwatt.ingest import nvidia_smi

        load_files(
            files,
            lambda p: log_host(
                nvidia_smi.parse(p, tz=tz, meter=meter, meter_kind=meter_kind or "gpu", zone=zone),
                host,
                meter,
            ),
        )
        return
    from flopwatt.ingest import power as mod

    load_files(
        files,
        lambda p: with_host(
            mod.parse(
                p,
                format=format_,
                meter=meter,
                tz=tz,
                unit=unit,
                meter_kind=meter_kind or "wall",
                zone=zone,
                entities=entities,
            ),
            host,
        ),
    )


@ingest.command()
@files_argument
@click.option(
    "--format",
    "format_",
    required=True,
    type=click.Choice(["generic", "rapl-dump", "shelly", "tasmota", "kasa"]),
    help="generic: timestamp,counter[,meter_id] with --unit; rapl-dump: timestamp,energy_uj"
    "[,domain][,max_energy_range_uj]; shelly: aenergy.total (Wh), meters.N.total (watt-minutes), "
    "emeters.N.total (Wh), plain total needs --unit; tasmota: ENERGY.Total (kWh); kasa: total_wh "
    "(Wh) or total (kWh). CSV or JSON lines (nested keys flattened: energy.total).",
)
@click.option(
    "--unit",
    type=click.Choice(["J", "Wh", "kWh", "uJ", "mJ", "watt-minutes"], case_sensitive=False),
    help="unit of the counter (required for generic)",
)
@click.option(
    "--range",
    "range_",
    type=float,
    help="wrap range of the counter, in its unit (the value at which it rolls over to 0)",
)
@click.option("--meter", help="meter id (prefix when the file names several)")
@click.option("--tz", help=TZ_HELP)
@meter_options("cpu_package/dram for rapl-dump, else wall")
def counters(files, format_, unit, range_, meter, tz, meter_kind, zone, host) -> None:
    """Cumulative energy counters (RAPL energy_uj, smart-plug totals): stored in J as read;
    wraps and resets are undone in dbt."""
    from flopwatt.ingest import counters as mod
    from flopwatt.ingest.hosts import log_host, with_host

    def parse_one(p):
        batch = mod.parse(
            p,
            format=format_,
            unit=unit,
            range_=range_,
            meter=meter,
            tz=tz,
            meter_kind=meter_kind,
            zone=zone,
        )
        return log_host(batch, host, meter) if format_ == "rapl-dump" else with_host(batch, host)

    load_files(files, parse_one)


@ingest.command()
@files_argument
@click.option("--tz", help=TZ_HELP)
@click.option(
    "--inferences",
    type=click.IntRange(min=1),
    help="n_inferences of runs whose file has no such column (the study used 10000)",
)
@click.option("--batch-size", type=click.IntRange(min=1), help="batch size when the file has none")
@click.option("--meter", help="meter that measured these runs, when the file has no meter_id")
@click.option(
    "--phase",
    default="inference",
    show_default=True,
    type=click.Choice(["inference", "training", "idle"]),
)
@click.option(
    "--format",
    "format_",
    default="runs-csv",
    show_default=True,
    type=click.Choice(["runs-csv", "codecarbon"]),
    help="runs-csv: model,start_time,end_time,...; codecarbon: CodeCarbon's emissions.csv "
    "(any version; each row a run with its measured energy; --tz required)",
)
@click.option("--model", help="codecarbon: model name of the runs (default: project_name)")
@click.option("--host", help="host the runs ran on, when the file has no host column")
@click.option(
    "--devices",
    help="devices the runs used, when the file has no devices column: GPU uuids, indices or "
    "meter ids, comma-separated (like CUDA_VISIBLE_DEVICES); the host's other GPUs are reported, "
    "not added to the runs' energy",
)
def runs(files, tz, inferences, batch_size, meter, phase, format_, model, host, devices) -> None:
    """Run intervals: model,start_time,end_time[,n_inferences,batch_size,meter_id,weights,phase,
    host,devices], or CodeCarbon's emissions.csv with --format codecarbon."""
    from flopwatt.ingest.hosts import with_run_host

    if format_ == "codecarbon":
        from flopwatt.ingest import codecarbon_csv

        _require_tz(tz, "CodeCarbon")
        load_files(
            files,
            lambda p: with_run_host(
                codecarbon_csv.parse(
                    p, tz=tz, model=model, phase=phase, meter=meter, inferences=inferences
                ),
                host,
                devices,
            ),
        )
        return
    if model:
        raise click.UsageError("--model goes with --format codecarbon")
    from flopwatt.ingest import runs as mod

    load_files(
        files,
        lambda p: with_run_host(
            mod.parse(
                p, tz=tz, inferences=inferences, batch_size=batch_size, meter=meter, phase=phase
            ),
            host,
            devices,
        ),
    )


@ingest.command()
@files_argument
@click.option("--counter", default="thop", show_default=True, help="tool that counted the MACs")
def flops(files, counter) -> None:
    """FLOP profiles: model,macs,parameters (MACs, as thop reports them)."""
    from flopwatt.ingest import flops as mod

    load_files(files, lambda p: mod.parse(p, counter=counter))


@ingest.command()
@files_argument
@click.option(
    "--as",
    "as_",
    required=True,
    type=click.Choice(["error", "accuracy"]),
    help="whether top1/top5 hold error % or accuracy %",
)
@click.option("--dataset", default="ImageNet-1K", show_default=True)
def accuracy(files, as_, dataset) -> None:
    """Top-1/top-5 per model: model,top1,top5 (percent)."""
    from flopwatt.ingest import accuracy as mod

    load_files(files, lambda p: mod.parse(p, as_=as_, dataset=dataset))


@ingest.command()
@files_argument
@click.option(
    "--format",
    "format_",
    default="annual",
    show_default=True,
    type=click.Choice(["annual", "neso", "electricitymaps", "series"]),
    help="annual: zone,year,g_per_kwh[,source,zone_name] (no FILE: CodeCarbon's OWID "
    "mix); time-resolved, into raw.carbon_intensity_series: neso: the UK NESO carbon "
    "intensity API JSON; electricitymaps: an Electricity Maps CSV export; series: "
    "zone,from,to,g_per_kwh[,is_forecast,source]",
)
@click.option(
    "--zone",
    help="neso: zone of national data (default GBR); electricitymaps: override the file's Zone Id",
)
@click.option(
    "--basis",
    default="lifecycle",
    show_default=True,
    type=click.Choice(["lifecycle", "direct"]),
    help="electricitymaps: life-cycle or direct emissions",
)
@click.option(
    "--period",
    type=click.Choice(["5m", "15m", "30m", "1h", "1d", "1mo", "1y"]),
    help="electricitymaps: length of each row's period (default: from the file name "
    "or the spacing of the rows)",
)
@click.option("--tz", help=TZ_HELP + " (series: naive from/to)")
def carbon(files, format_, zone, basis, period, tz) -> None:
    """Grid carbon intensity (gCO2e/kWh): annual per zone, or a time series (--format
    neso|electricitymaps|series) used in preference to annual averages.

    With no FILE (annual), loads the default table: CodeCarbon's bundled OWID energy mix."""
    from flopwatt.ingest import carbon as mod
    from flopwatt.ingest import carbon_series as series

    if format_ == "neso":
        load_files(files, lambda p: series.parse_neso(p, zone=zone))
    elif format_ == "electricitymaps":
        load_files(
            files, lambda p: series.parse_electricitymaps(p, basis=basis, zone=zone, period=period)
        )
    elif format_ == "series":
        load_files(files, lambda p: series.parse_csv(p, tz=tz))
    elif not files:
        load_files(("<codecarbon>",), lambda _p: mod.parse_codecarbon())
    else:
        load_files(files, mod.parse_csv)
