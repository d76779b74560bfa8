"""``flopwatt ingest <kind> FILE...``: parse, validate and load files into the raw layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from flopwatt.errors import FlopwattError
from ingest.errors import IngestError

TZ_HELP = "IANA zone of naive timestamps, e.g. Europe/London (converted to UTC, DST-aware)"


def load_files(paths: tuple[str, ...], parse_one: Callable[[Path], object]) -> None:
    """Parse and load each file in its own transaction; report every file, fail at the end."""
    from ingest.loader import load

    if not paths:
        raise click.UsageError("give at least one FILE")
    failures = []
    for p in paths:
        try:
            batch = parse_one(Path(p))
            result = load(batch)
        except IngestError as exc:
            failures.append(str(exc))
            click.secho(f"error: {exc} (nothing loaded from this file)", fg="red", err=True)
            continue
        for w in result.warnings:
            click.secho(f"warning: {result.source}: {w}", fg="yellow", err=True)
        click.echo(result.summary())
        if result.rows_quarantined:
            q = batch.quarantine
            for line, reason in q.select("line_number", "reason").head(5).iter_rows():
                click.echo(f"  quarantined line {line}: {reason}")
            if q.height > 5:
                click.echo(f"  ... {q.height - 5} more (see raw.quarantine, load #{result.load_id})")
    if failures:
        raise FlopwattError(f"{len(failures)} of {len(paths)} file(s) not loaded")


@click.group()
def ingest() -> None:
    """Load files into the raw layer. Each file is one transaction; loading the same content
    again adds nothing. Bad rows go to raw.quarantine with a reason."""


@ingest.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "format_",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "generic", "ha-history", "ha-events"]),
    help="generic: timestamp,watts[,meter_id] (CSV or Parquet); ha-history: Home Assistant "
    "history export entity_id,state,last_changed; ha-events: last_changed,entity_id,node_id,"
    "power_consumption,unit. auto: from the header.",
)
@click.option("--meter", help="meter id when the file has no meter_id/entity_id column")
@click.option("--tz", help=TZ_HELP)
@click.option("--unit", type=click.Choice(["W", "kW"], case_sensitive=False),
              help="unit of the values (default: the file's unit column, else W)")  # fmt: skip
@click.option("--meter-kind", default="wall", show_default=True,
              type=click.Choice(["wall", "cpu_package", "dram", "gpu", "estimate"]))  # fmt: skip
@click.option("--zone", help="grid zone of the meter (ISO 3166 alpha-3, e.g. GBR)")
def power(files, format_, meter, tz, unit, meter_kind, zone) -> None:
    """Instantaneous power readings (W or kW)."""
    from ingest import power as mod

    load_files(
        files,
        lambda p: mod.parse(p, format=format_, meter=meter, tz=tz, unit=unit,
                            meter_kind=meter_kind, zone=zone.upper() if zone else None),
    )  # fmt: skip


@ingest.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--tz", help=TZ_HELP)
@click.option("--inferences", type=click.IntRange(min=1),
              help="n_inferences of runs whose file has no such column (the study used 10000)")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), help="batch size when the file has none")
@click.option("--meter", help="meter that measured these runs, when the file has no meter_id")
@click.option("--phase", default="inference", show_default=True,
              type=click.Choice(["inference", "training", "idle"]))  # fmt: skip
def runs(files, tz, inferences, batch_size, meter, phase) -> None:
    """Run intervals: model,start_time,end_time[,n_inferences,batch_size,meter_id,weights,phase]."""
    from ingest import runs as mod

    load_files(
        files,
        lambda p: mod.parse(p, tz=tz, inferences=inferences, batch_size=batch_size, meter=meter,
                            phase=phase),
    )  # fmt: skip


@ingest.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--counter", default="thop", show_default=True, help="tool that counted the MACs")
def flops(files, counter) -> None:
    """FLOP profiles: model,macs,parameters (MACs, as thop reports them)."""
    from ingest import flops as mod

    load_files(files, lambda p: mod.parse(p, counter=counter))


@ingest.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--as", "as_", required=True, type=click.Choice(["error", "accuracy"]),
              help="whether top1/top5 hold error % or accuracy %")  # fmt: skip
@click.option("--dataset", default="ImageNet-1K", show_default=True)
def accuracy(files, as_, dataset) -> None:
    """Top-1/top-5 per model: model,top1,top5 (percent)."""
    from ingest import accuracy as mod

    load_files(files, lambda p: mod.parse(p, as_=as_, dataset=dataset))


@ingest.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
def carbon(files) -> None:
    """Annual grid intensity (gCO2e/kWh): zone,year,g_per_kwh[,source,zone_name].

    With no FILE, loads the default table: CodeCarbon's bundled OWID energy mix."""
    from ingest import carbon as mod

    if not files:
        load_files(("<codecarbon>",), lambda _p: mod.parse_codecarbon())
    else:
        load_files(files, mod.parse_csv)
