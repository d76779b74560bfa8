"""Hosts of meters and runs (README "Whole-machine energy").

Every meter belongs to a host (``raw.meters.host_id``). Defaults: a log holding several devices of
one machine (an nvidia-smi log, a RAPL dump) is one host, named by ``--host``, else by its
``--meter`` prefix, else by its format; any other meter with no ``--host`` is its own host
(null ``host_id``, resolved to the meter id in dbt). A run names its host in ``raw.runs.host`` and
may name the devices it used in ``raw.runs.devices`` (GPU uuids, indices or meter ids,
comma-separated, like ``CUDA_VISIBLE_DEVICES``).
"""

from __future__ import annotations

import polars as pl
from flopwatt.ingest.loader import Batch


def with_host(batch: Batch, host: str | None) -> Batch:
    """``batch`` with every meter it registers on ``host`` (None: each meter its own host); a
    streamed batch gets it on each part as the loader reads them."""
    meters = batch.tables.get("meters")
    if meters is not None:
        batch.tables["meters"] = meters.with_columns(pl.lit(host, pl.String).alias("host_id"))
    if batch.parts is not None:
        parts = batch.parts
        batch.parts = lambda: (with_host(part, host) for part in parts())
    batch.options["host"] = host
    return batch


def log_host(batch: Batch, host: str | None, meter: str | None) -> Batch:
    """One log, one host: ``host``, else the ``--meter`` prefix, else the log's format."""
    return with_host(batch, host or meter or batch.format)


def with_run_host(batch: Batch, host: str | None, devices: str | None) -> Batch:
    """``batch``'s runs on ``host`` and ``devices`` where the file names none."""
    runs = batch.tables.get("runs")
    if runs is not None:
        filled = []
        for name, value in (("host", host), ("devices", devices)):
            lit = pl.lit(value, pl.String)
            expr = pl.coalesce(pl.col(name), lit) if name in runs.columns else lit
            filled.append(expr.alias(name))
        batch.tables["runs"] = runs.with_columns(filled)
    batch.options["host"] = host
    batch.options["devices"] = devices
    return batch
