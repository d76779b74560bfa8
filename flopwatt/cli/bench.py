"""``flopwatt bench``: timed inference runs while a power sensor is sampled, loaded into raw.*.

torch, torchvision and the sensors are imported inside the command, never at module import.
"""

from __future__ import annotations

import click

from flopwatt.cli.options import models_option
from flopwatt.core import defaults as d
from flopwatt.core.defaults import split_models
from flopwatt.core.vocab import SENSOR_CHOICES


def sensor_options(f):
    """The options shared by ``bench`` and ``run``."""
    for opt in reversed([
        click.option("--sensor", type=click.Choice(SENSOR_CHOICES), default="auto",
                     show_default=True,
                     help="power source: auto = every RAPL domain and NVML GPU at once (one "
                          "meter each), the labelled estimate only when neither exists"),
        click.option("--zone", default=None,
                     help="grid zone of this machine for carbon (ISO 3166 alpha-3, e.g. FRA) "
                          "[default: dbt var default_zone of dbt_project.yml]"),
        click.option("--interval-ms", type=click.FloatRange(min=1), default=d.BENCH_INTERVAL_MS,
                     show_default=True, help="sampling interval of the sensor"),
        click.option("--tdp", "tdp_w", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="estimate sensor: the CPU's TDP in W (default: CodeCarbon's table, "
                          "matched by CPU model name; 4 W per logical CPU when unknown)"),
        click.option("--idle-s", type=click.FloatRange(min=0), default=d.BENCH_IDLE_S,
                     show_default=True,
                     help="idle window before the first model, recorded as an idle run (0: none)"),
        click.option("--batch-size", type=click.IntRange(min=1), default=d.BENCH_BATCH_SIZE,
                     show_default=True),
        click.option("--warmup", type=click.IntRange(min=0), default=d.BENCH_WARMUP,
                     show_default=True,
                     help="untimed forward passes per model before its run"),
        click.option("--device", default="auto", show_default=True,
                     help="torch device: auto (cuda when available), cpu, cuda, cuda:1, ..."),
        click.option("--input-size", type=click.IntRange(min=32), default=d.BENCH_INPUT_SIZE,
                     show_default=True,
                     help="side of the square input image"),
        click.option("--image", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="image file used as the fixed input (default: a seeded synthetic image)"),
        click.option("--progress/--no-progress", default=True, show_default=True),
    ]):  # fmt: skip
        f = opt(f)
    return f


def open_sensor(sensor: str, tdp_w: float | None, *, prefer_gpu: bool = False):
    """The chosen sensor, or a FlopwattError saying why it cannot be used."""
    from flopwatt.core.errors import FlopwattError
    from flopwatt.profiling.sensors import SensorUnavailable, select_sensor

    try:
        selection = select_sensor(sensor, tdp_w=tdp_w, prefer_gpu=prefer_gpu)
    except SensorUnavailable as exc:
        raise FlopwattError(f"--sensor {sensor} is not available here: {exc}") from exc
    for why in selection.passed_over:
        click.echo(f"sensor: passed over {why}", err=True)
    chosen = selection.sensor
    click.echo(f"sensor: {chosen.describe()}", err=True)
    tdp_source = getattr(chosen, "tdp_source", None)
    if tdp_source:
        click.echo(f"sensor: ESTIMATE, TDP from {tdp_source}", err=True)
    return chosen


def print_preview(batch) -> None:
    """Per-run energy computed from the batch itself (the warehouse's figure comes with dbt)."""
    from flopwatt.profiling.bench import preview

    frame = preview(batch)
    click.echo(
        f"{'model':<22} {'phase':<9} {'meter':<10} {'s':>6} {'inferences':>10} "
        f"{'energy J':>10} {'mean W':>8} {'mJ/inf':>9}"
    )
    for r in frame.iter_rows(named=True):

        def f(v, spec):
            return format(v, spec) if v is not None else "-"

        click.echo(
            f"{r['model_name']:<22} {r['phase']:<9} {r['meter_kind']:<10} "
            f"{r['duration_s']:>6.1f} {f(r['n_inferences'], '>10')} {f(r['energy_j'], '>10.1f')} "
            f"{f(r['mean_power_w'], '>8.1f')} {f(r['mj_per_inference'], '>9.1f')}"
        )
    kinds = set(frame["meter_kind"].drop_nulls())
    if "estimate" in kinds:
        click.echo("(meter kind 'estimate': CPU utilisation x TDP, not a measurement)")


def do_bench(models: list[str], *, inferences: int | None, duration_s: float | None, sensor: str,
             tdp_w: float | None, interval_ms: float, idle_s: float, batch_size: int, warmup: int,
             device: str, input_size: int, image: str | None, progress: bool,
             zone: str | None = None):  # fmt: skip
    """Open the sensor and bench; returns the Batch (not loaded)."""
    from flopwatt.profiling.bench import bench_models, resolve_device

    chosen = open_sensor(sensor, tdp_w, prefer_gpu=resolve_device(device).startswith("cuda"))
    return bench_models(
        models, chosen, inferences=inferences, duration_s=duration_s, batch_size=batch_size,
        warmup=warmup, interval_ms=interval_ms, idle_s=idle_s, device=device,
        input_size=input_size, image=image, progress=progress,
        zone=zone.upper() if zone else None,
    )  # fmt: skip


@click.command()
@models_option
@click.option(
    "--inferences", "-n", type=click.IntRange(min=1), default=None,
    help="images per model (rounded up to whole batches); excludes --duration",
)  # fmt: skip
@click.option("--duration", "-d", "duration_s", type=click.FloatRange(min=0, min_open=True),
              default=None, help="seconds of timed inference per model [default: 10]")  # fmt: skip
@sensor_options
@click.option("--no-load", is_flag=True, help="print the results, do not write the warehouse")
def bench(models, inferences, duration_s, sensor, zone, interval_ms, tdp_w, idle_s, batch_size,
          warmup, device, input_size, image, progress, no_load) -> None:  # fmt: skip
    """Time inference of torchvision models (random weights, no download) while sampling power.

    Each model runs on ONE fixed input, preprocessed once before timing (a seeded synthetic image,
    or --image): the runs time the model only. An idle window before the first model is recorded as
    an idle run for the baseline. Runs, readings and meters go to raw.* through the ingest loader
    (one transaction); `flopwatt build` turns them into fct_run_energy.
    """
    from flopwatt.core.defaults import DEFAULT_MODELS

    if inferences is not None and duration_s is not None:
        raise click.UsageError("give --inferences or --duration, not both")
    names = split_models(models) or list(DEFAULT_MODELS)
    batch = do_bench(
        names, inferences=inferences, duration_s=duration_s, sensor=sensor, tdp_w=tdp_w,
        interval_ms=interval_ms, idle_s=idle_s, batch_size=batch_size, warmup=warmup,
        device=device, input_size=input_size, image=image, progress=progress, zone=zone,
    )  # fmt: skip
    print_preview(batch)
    for w in batch.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    if no_load:
        click.echo(f"--no-load: {batch.rows_read} rows not written")
        return
    from flopwatt.ingest.loader import load

    click.echo(load(batch).summary())
