"""Profile torchvision models and hand the result to the ingest layer as one :class:`Batch`.

``profile_models(["resnet18"])`` -> a Batch of kind ``profile`` with two raw tables:
``flop_profiles`` (convention MACs, thop MACs, exact params, published counts) and ``accuracy``
(top-1/top-5, checkpoint size, recipe). Counts come from the cache when the same (model, weights,
input size, torch/torchvision/thop versions) was counted before. The batch's sha256 is taken
over the canonical JSON of its rows, so loading an identical rerun is skipped by the loader.
A variant that fails to build or count is quarantined with the reason, not fatal.
"""

from __future__ import annotations

import json
import time
from typing import Any

import polars as pl
from flopwatt.ingest.loader import Batch, quarantine_frame, sha256_bytes

KIND = "profile"
FORMAT = "torchvision"

FLOP_SCHEMA = {
    "line_number": pl.Int64,
    "model_name": pl.String,
    "weights": pl.String,
    "input_size": pl.Int32,
    "macs": pl.Float64,
    "macs_counter": pl.String,
    "macs_thop": pl.Float64,
    "params": pl.Int64,
    "published_macs": pl.Float64,
    "published_params": pl.Int64,
    "source": pl.String,
}
ACCURACY_SCHEMA = {
    "line_number": pl.Int64,
    "model_name": pl.String,
    "weights": pl.String,
    "top1_acc_pct": pl.Float64,
    "top5_acc_pct": pl.Float64,
    "dataset": pl.String,
    "file_size_mb": pl.Float64,
    "recipe_url": pl.String,
    "source": pl.String,
}


def _source(versions: dict[str, str], device: str) -> str:
    return (
        f"torchvision {versions['torchvision']} weights.meta; torch {versions['torch']} "
        f"{device} device; thop {versions['thop']}"
    )


def count_variants(variants, *, progress: bool = True, cache=None, device: str = "meta"):
    """Counts per variant, from ``cache`` when present (``ProfileCache()`` when None).

    Returns ``(counts, failures)``: ``counts`` maps each counted variant to its record of
    :func:`profiling.flops.profile_variant`; ``failures`` lists ``(variant, reason)``.
    """
    from flopwatt.profiling.cache import ProfileCache
    from flopwatt.profiling.flops import profile_variant
    from tqdm import tqdm

    cache = cache if cache is not None else ProfileCache()
    counts: dict[Any, dict[str, Any]] = {}
    failures: list[tuple[Any, str]] = []
    bar = tqdm(variants, desc="profile", unit="model", disable=not progress, leave=True)
    for v in bar:
        bar.set_postfix_str(f"{v.model_name} {v.weights} {v.input_size}px", refresh=True)
        record = cache.get(v)
        if record is None:
            try:
                record = profile_variant(v, device=device)
            except Exception as exc:  # one broken builder must not lose the other profiles
                failures.append((v, f"{type(exc).__name__}: {exc}"))
                continue
            cache.put(v, record)
        counts[v] = record
    bar.close()
    return counts, failures


def build_batch(
    variants, counts, failures, versions, *, device: str = "meta", options=None
) -> Batch:
    """The ingest Batch for ``variants`` (line_number = 1-based position in ``variants``)."""
    from flopwatt.profiling.accuracy import accuracy_record, published_counts

    source = _source(versions, device)
    flop_rows: list[dict[str, Any]] = []
    acc_rows: list[dict[str, Any]] = []
    bad: list[tuple[int, str, str]] = []
    reasons = {v: r for v, r in failures}
    for line, v in enumerate(variants, start=1):
        if v not in counts:
            bad.append((line, v.label, reasons.get(v, "not profiled")))
            continue
        c = counts[v]
        ident = {"line_number": line, "model_name": v.model_name, "weights": v.weights}
        flop_rows.append(
            {
                **ident,
                "input_size": v.input_size,
                "macs": c["macs"],
                "macs_counter": c["macs_counter"],
                "macs_thop": c["macs_thop"],
                "params": c["params"],
                **published_counts(v),
                "source": source,
            }
        )
        acc_rows.append({**ident, **accuracy_record(v), "source": source})
    canonical = json.dumps(
        {"flop_profiles": flop_rows, "accuracy": acc_rows, "quarantine": bad},
        sort_keys=True,
        separators=(",", ":"),
    )
    return Batch(
        kind=KIND,
        format=FORMAT,
        source=f"torchvision {versions['torchvision']} models ({len(variants)} variants)",
        sha256=sha256_bytes(canonical.encode("utf-8")),
        rows_read=len(variants),
        tables={
            "flop_profiles": pl.DataFrame(flop_rows, schema=FLOP_SCHEMA),
            "accuracy": pl.DataFrame(acc_rows, schema=ACCURACY_SCHEMA),
        },
        quarantine=quarantine_frame(bad),
        options={"versions": versions, "device": device, **(options or {})},
        warnings=[f"{v.label}: {r}" for v, r in failures],
    )


def profile_models(
    names: list[str] | None,
    all_variants: bool = False,
    progress: bool = True,
    *,
    cache=None,
    device: str = "meta",
) -> Batch:
    """Profile torchvision models; the result is ready for :func:`ingest.loader.load`.

    ``names`` None: the 8 :data:`profiling.catalog.DEFAULT_MODELS` with ``IMAGENET1K_V1``, or
    every model and every weights variant when ``all_variants`` (115 in torchvision 0.29).
    Otherwise ``names`` are ``model`` or ``model:WEIGHTS`` entries; a bare model gets its default
    weights (``IMAGENET1K_V1``), or all its weights when ``all_variants``.
    """
    from flopwatt.profiling.cache import ProfileCache
    from flopwatt.profiling.catalog import resolve

    variants = resolve(names, all_weights=all_variants)
    cache = cache if cache is not None else ProfileCache()
    started = time.perf_counter()
    hits_before, misses_before = cache.hits, cache.misses
    counts, failures = count_variants(variants, progress=progress, cache=cache, device=device)
    options = {
        "models": names,
        "all_variants": all_variants,
        "variants": len(variants),
        "cache_hits": cache.hits - hits_before,
        "cache_misses": cache.misses - misses_before,
        "elapsed_s": round(time.perf_counter() - started, 3),
    }
    return build_batch(variants, counts, failures, cache.versions, device=device, options=options)


def results_frame(batch: Batch) -> pl.DataFrame:
    """One row per profiled variant: the two tables joined, for printing and CSV export."""
    flops = batch.tables["flop_profiles"]
    acc = batch.tables["accuracy"].drop("model_name", "weights", "source")
    return flops.join(acc, on="line_number", how="left").sort("line_number")
