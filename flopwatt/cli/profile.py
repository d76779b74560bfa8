"""``flopwatt profile``: MACs, parameters and accuracy of torchvision classification models.

Models are built with random weights on torch's ``meta`` device (nothing downloaded, nothing
allocated); counts are cached under ``.flopwatt/cache/`` and loaded into ``raw.flop_profiles`` and
``raw.accuracy`` through the ingest loader. torch/torchvision/thop are imported only when a
command runs: importing this module does not import torch.
"""

from __future__ import annotations

from pathlib import Path

import click

from flopwatt.core.defaults import DEFAULT_MODELS_HELP, split_models


def profile_models(names: list[str] | None, all_variants: bool = False, progress: bool = True):
    """Profile models for ``flopwatt run`` and friends; returns an (unloaded) ingest Batch.

    ``names`` None: the 8 default models (IMAGENET1K_V1), or all 115 (model, weights) variants
    when ``all_variants``. Entries are ``model`` or ``model:WEIGHTS``; a bare model gets
    IMAGENET1K_V1 (else its DEFAULT weights), or every weights variant when ``all_variants``.
    Unknown names raise FlopwattError listing close matches.
    """
    from flopwatt.profiling.profile import profile_models as _profile_models

    return _profile_models(names, all_variants=all_variants, progress=progress)


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x / 1e9:.4f}"


def print_results(frame) -> None:
    click.echo(
        f"{'model':<22} {'weights':<26} {'px':>4} {'GMACs':>10} {'thop':>10} {'published':>10} "
        f"{'params':>12} {'top1 %':>7}"
    )
    for r in frame.iter_rows(named=True):
        top1 = "-" if r["top1_acc_pct"] is None else f"{r['top1_acc_pct']:.3f}"
        click.echo(
            f"{r['model_name']:<22} {r['weights']:<26} {r['input_size']:>4} {_g(r['macs']):>10} "
            f"{_g(r['macs_thop']):>10} {_g(r['published_macs']):>10} {r['params']:>12,} {top1:>7}"
        )


def list_models() -> None:
    from flopwatt.profiling.catalog import default_weights, model_names, weights_names

    for name in model_names():
        default = default_weights(name)
        names = [f"{w}*" if w == default else w for w in weights_names(name)]
        click.echo(f"{name:<22} {' '.join(names)}")
    click.echo("(* = weights used when a model is named without :WEIGHTS)")


@click.command()
@click.option("--models", "-m", multiple=True,
              help="model names, comma-separated or repeated; MODEL:WEIGHTS picks the weights "
                   f"[default: {DEFAULT_MODELS_HELP} with IMAGENET1K_V1]")  # fmt: skip
@click.option("--all", "all_", is_flag=True,
              help="every model with every ImageNet weights variant (115)")  # fmt: skip
@click.option("--all-weights", is_flag=True,
              help="with --models: every weights variant of each named model")  # fmt: skip
@click.option("--no-load", is_flag=True, help="print the results, do not write the warehouse")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the results (a row per model and weights) to CSV")  # fmt: skip
@click.option("--list", "list_", is_flag=True, help="list the models and their weights, and exit")
@click.option("--progress/--no-progress", default=True, show_default=True)
def profile(models, all_, all_weights, no_load, out, list_, progress) -> None:
    """Count MACs (convention and thop), parameters and accuracy of torchvision models.

    Each (model, weights) is built at the input size its weights expect, with random weights
    (nothing is downloaded). `macs` counts conv, linear, matmul and attention work only and
    matches torchvision's published GMACs; `macs_thop` is thop as the reference study ran it.
    Counts are cached per (model, weights, input size, torch/torchvision/thop versions), so a
    second run does no counting; loading the same results again adds nothing.
    """
    if list_:
        list_models()
        return
    names = split_models(models)
    if all_ and names:
        raise click.UsageError("give --models or --all, not both")
    if all_weights and not names:
        raise click.UsageError("--all-weights goes with --models (use --all for every model)")
    from flopwatt.profiling.profile import profile_models as _profile_models
    from flopwatt.profiling.profile import results_frame

    batch = _profile_models(names or None, all_variants=all_ or all_weights, progress=progress)
    frame = results_frame(batch)
    print_results(frame)
    opts = batch.options
    click.echo(
        f"{frame.height} of {batch.rows_read} variant(s) profiled in "
        f"{opts.get('elapsed_s', 0):.1f} s ({opts.get('cache_hits', 0)} from cache)"
    )
    for w in batch.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.write_csv(out)
        click.echo(f"wrote {out}")
    if no_load:
        click.echo(f"--no-load: {batch.rows_read} rows not written")
        return
    from flopwatt.ingest.loader import load

    click.echo(load(batch).summary())
