"""``flopwatt run``: the main job, one command on a fresh machine.

1. profile the models (MACs, parameters, accuracy metadata) and load them   (profiling.profile)
2. bench each model briefly while sampling the best power sensor, and load   (profiling.bench)
3. ``dbt build``: staging -> intermediate -> marts, with the data tests      (flopwatt.dbt_runner)
4. write the report (figures, tables, report.html)                           (plots.report)

Each stage's module is imported when the stage starts, so ``flopwatt --help`` stays light. The
loads go through ``ingest.loader.load`` (one transaction each; a re-run adds a new bench, the
profiles are skipped as already loaded).
"""

from __future__ import annotations

import time

import click

from flopwatt.cli.bench import sensor_options
from flopwatt.cli.options import models_option
from flopwatt.core import defaults as d
from flopwatt.core.defaults import DEFAULT_MODELS, split_models


def _stage(n: int, total: int, what: str) -> float:
    click.secho(f"[{n}/{total}] {what}", bold=True, err=True)
    return time.monotonic()


def _done(t0: float, what: str) -> None:
    click.echo(f"      {what} ({time.monotonic() - t0:.1f} s)", err=True)


def run_main_job(
    models: list[str] | None,
    *,
    duration_s: float = d.RUN_DURATION_S,
    sensor: str = "auto",
    zone: str | None = None,
    interval_ms: float = d.BENCH_INTERVAL_MS,
    tdp_w: float | None = None,
    idle_s: float = d.BENCH_IDLE_S,
    batch_size: int = d.BENCH_BATCH_SIZE,
    warmup: int = d.BENCH_WARMUP,
    device: str = "auto",
    input_size: int = d.BENCH_INPUT_SIZE,
    image: str | None = None,
    progress: bool = True,
    build: bool = True,
    report: bool = True,
):
    """Profile -> bench -> load -> dbt build -> report; returns the report path (or None)."""
    from flopwatt.cli.bench import do_bench, print_preview
    from flopwatt.core.config import db_path, reports_dir
    from flopwatt.dbt_runner import run_dbt_build
    from flopwatt.ingest.carbon import parse_codecarbon
    from flopwatt.ingest.loader import load
    from flopwatt.plots.report import write_report
    from flopwatt.profiling.profile import profile_models

    names = list(models) if models else list(DEFAULT_MODELS)
    total = 2 + int(build) + int(report)
    started = time.monotonic()
    click.echo(f"warehouse: {db_path()}", err=True)

    t0 = _stage(1, total, f"profile {len(names)} models (MACs, parameters, accuracy); grid carbon")
    profiles = profile_models(names, all_variants=False, progress=progress)
    _done(t0, load(profiles).summary())
    _done(t0, load(parse_codecarbon()).summary())  # annual intensities; a no-op once loaded

    t0 = _stage(2, total, f"bench {len(names)} models, {duration_s:g} s each, and an idle window")
    bench_batch = do_bench(
        names, inferences=None, duration_s=duration_s, sensor=sensor, tdp_w=tdp_w,
        interval_ms=interval_ms, idle_s=idle_s, batch_size=batch_size, warmup=warmup,
        device=device, input_size=input_size, image=image, progress=progress, zone=zone,
    )  # fmt: skip
    for w in bench_batch.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    _done(t0, load(bench_batch).summary())

    n = 2
    if build:
        n += 1
        t0 = _stage(n, total, "dbt build (models and data tests)")
        run_dbt_build([], quiet=True)
        _done(t0, "warehouse built")

    report_path = None
    if report:
        n += 1
        t0 = _stage(n, total, "report")
        report_path = write_report(reports_dir())
        _done(t0, f"written to {report_path}")

    click.echo("")
    click.secho("energy per run (preview from the bench's own readings):", bold=True)
    print_preview(bench_batch)
    click.echo("")
    click.echo(f"done in {time.monotonic() - started:.0f} s; warehouse {db_path()}")
    if report_path is not None:
        click.secho(f"report: {report_path}", bold=True)
    if build:
        click.echo(
            'per-run energy: flopwatt sql "select * from marts.fct_run_energy order by started_at"'
        )
    return report_path


@click.command()
@models_option
@click.option(
    "--duration", "-d", "duration_s", type=click.FloatRange(min=0, min_open=True),
    default=d.RUN_DURATION_S, show_default=True,
    help="seconds of timed inference per model",
)  # fmt: skip
@sensor_options
@click.option("--no-build", is_flag=True, help="stop after loading (no dbt build, no report)")
@click.option("--no-report", is_flag=True, help="skip the report")
def run(models, duration_s, sensor, zone, interval_ms, tdp_w, idle_s, batch_size, warmup, device,
        input_size, image, progress, no_build, no_report) -> None:  # fmt: skip
    """The main job: profile, bench, load, dbt build, report, in one command.

    Profiles the models (MACs/params/accuracy), then times inference of each with random weights on
    ONE fixed input preprocessed once, while the best available power sensor is sampled (RAPL, else
    NVML, else the labelled CPU-load estimate), loads everything, runs `dbt build` and writes the
    report. With the defaults (8 models, 5 s each) it takes a few minutes on 2 cores.
    """
    run_main_job(
        split_models(models) or None, duration_s=duration_s, sensor=sensor,
        interval_ms=interval_ms, tdp_w=tdp_w, idle_s=idle_s, batch_size=batch_size,
        warmup=warmup, device=device, input_size=input_size, image=image, progress=progress,
        zone=zone, build=not no_build, report=not (no_build or no_report),
    )  # fmt: skip
