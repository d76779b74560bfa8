"""Timed inference runs while a sensor is sampled: the rows of ``raw.runs`` and of the power tables.

What one bench does, in order:
1. builds the **one fixed input** and preprocesses it **once**, before anything is timed: a
   deterministic synthetic RGB image (seeded; or ``image=`` a file), resized so its shorter side is
   ``input_size x 256/224``, centre-cropped to ``input_size``, scaled to [0, 1] and normalised with
   the ImageNet mean/std, then repeated to the batch size. Runs time the model only, never the
   preprocessing (the reference study's loop did the same work on the same image every call);
2. starts the sampler, and records an ``idle`` run of ``idle_s`` seconds (nothing running) for the
   meter's baseline;
3. per model: builds it with **random weights** (``torchvision.models.get_model(name,
   weights=None)``, no download; the energy of a dense forward pass does not depend on the weight
   values), ``eval()``, ``warmup`` untimed forward passes, then timed forward passes under
   ``torch.inference_mode()`` until ``inferences`` images are done (rounded up to whole batches) or
   ``duration_s`` seconds have passed (at least one pass). ``n_inferences`` counts images
   (forward passes x batch size). On CUDA each pass is synchronised, so the interval is the
   GPU's time;
4. keeps sampling for two more intervals after the last run, so the readings bracket every run,
   then stops.

Every interval is one ``raw.runs`` row in UTC, with n_inferences, batch size, device, torch's
thread count, host and devices (the GPU it ran on, by uuid; none for a CPU run). With one meter the
run names it; with several (``--sensor auto``: RAPL package, DRAM and every GPU) it names its host,
and every meter of the host measures it (the run's total is made in dbt, README "Whole-machine
energy"). Each meter is registered on the host. Power meters go to ``raw.power_readings`` (W),
counters to ``raw.energy_counters`` as read (J, with their wrap range). torch is imported inside
the functions only.
"""

from __future__ import annotations

import io
import math
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from flopwatt.ingest.loader import Batch, sha256_bytes
from flopwatt.ingest.runs import run_id
from flopwatt.profiling.sensors.base import Clock, Meter, Sample, Sampler, Sensor, energy_between

from flopwatt.core import defaults as d
from flopwatt.core.defaults import DEFAULT_MODELS
from flopwatt.core.errors import OptionError

FORMAT = "flopwatt-bench"
IDLE_MODEL_NAME = "idle"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

RUNS_SCHEMA = {
    "line_number": pl.Int64,
    "run_id": pl.String,
    "model_name": pl.String,
    "weights": pl.String,
    "phase": pl.String,
    "started_at": pl.Datetime("us"),
    "ended_at": pl.Datetime("us"),
    "n_inferences": pl.Int64,
    "batch_size": pl.Int32,
    "meter_id": pl.String,
    "device": pl.String,
    "host": pl.String,
    "devices": pl.String,
    "torch_threads": pl.Int32,
    "measured_energy_j": pl.Float64,
    "source_format": pl.String,
}
READINGS_SCHEMA = {
    "line_number": pl.Int64,
    "meter_id": pl.String,
    "measured_at": pl.Datetime("us"),
    "power_w": pl.Float64,
}
COUNTERS_SCHEMA = {
    "line_number": pl.Int64,
    "meter_id": pl.String,
    "measured_at": pl.Datetime("us"),
    "energy_j": pl.Float64,
    "counter_range_j": pl.Float64,
}
METERS_SCHEMA = {
    "meter_id": pl.String,
    "meter_kind": pl.String,
    "zone": pl.String,
    "host_id": pl.String,
    "source_format": pl.String,
    "description": pl.String,
}


@dataclass(frozen=True)
class RunRecord:
    model_name: str
    phase: str
    start_ns: int
    end_ns: int
    n_inferences: int | None
    batch_size: int | None


def resolve_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and torch.cuda.is_available():
        return f"cuda:{torch.cuda.current_device()}"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise OptionError(f"device {device!r} asked for, but torch sees no CUDA GPU here")
    return device


def gpu_devices(device: str) -> str | None:
    """The GPU a run on ``device`` uses, as its ``devices`` (the uuid NVML names it by, else the
    index); None for a CPU run."""
    if not device.startswith("cuda"):
        return None
    import torch

    index = torch.device(device).index
    index = torch.cuda.current_device() if index is None else index
    uuid = str(getattr(torch.cuda.get_device_properties(index), "uuid", "") or "")
    if not uuid:
        return str(index)
    return uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"


def fixed_input(
    input_size: int = d.BENCH_INPUT_SIZE,
    batch_size: int = d.BENCH_BATCH_SIZE,
    image: Path | str | None = None,
):
    """The one input every run uses, preprocessed once (see the module docstring)."""
    import torch
    from torchvision.transforms.v2 import functional as F

    if image is not None:
        from torchvision.io import ImageReadMode, decode_image

        img = decode_image(str(image), mode=ImageReadMode.RGB)
    else:
        gen = torch.Generator().manual_seed(0)
        img = torch.randint(0, 256, (3, 375, 500), dtype=torch.uint8, generator=gen)
    resize = max(1, round(input_size * 256 / 224))
    img = F.resize(img, [resize], antialias=True)
    img = F.center_crop(img, [input_size, input_size])
    x = F.normalize(F.to_dtype(img, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)
    return x.unsqueeze(0).repeat(batch_size, 1, 1, 1).contiguous()


def torchvision_builder(name: str):
    import torchvision

    return torchvision.models.get_model(name, weights=None)


def check_models(names: Sequence[str]) -> None:
    import torchvision

    known = set(torchvision.models.list_models())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise OptionError(
            f"unknown torchvision model(s): {', '.join(unknown)} "
            f"(see torchvision.models.list_models(); e.g. {', '.join(DEFAULT_MODELS[:3])})"
        )


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _timed_loop(model, x, device: str, *, passes: int | None, duration_s: float | None,
                bar: Any) -> tuple[int, int, int]:  # fmt: skip
    """Run forward passes; return (start_ns, end_ns, passes done)."""
    import torch

    done = 0
    with torch.inference_mode():
        start = time.monotonic_ns()
        deadline = start + int(duration_s * 1e9) if duration_s is not None else None
        last_tick = start
        while True:
            model(x)
            _sync(device)
            done += 1
            now = time.monotonic_ns()
            if passes is not None:
                bar.update(1)
                if done >= passes:
                    break
            else:
                if now - last_tick > 100_000_000:
                    _advance(bar, start, now)
                    last_tick = now
                if now >= deadline:
                    break
        end = time.monotonic_ns()
    return start, end, done


def _seconds_bar(total_s: float, desc: str, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total_s, desc=desc, leave=False, disable=not progress,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s")  # fmt: skip


def _advance(bar: Any, start_ns: int, now_ns: int | None = None) -> None:
    now_ns = time.monotonic_ns() if now_ns is None else now_ns
    bar.n = min(bar.total, (now_ns - start_ns) / 1e9)
    bar.refresh()


def bench_models(
    models: Sequence[str],
    sensor: Sensor,
    *,
    inferences: int | None = None,
    duration_s: float | None = None,
    batch_size: int = d.BENCH_BATCH_SIZE,
    warmup: int = d.BENCH_WARMUP,
    interval_ms: float = d.BENCH_INTERVAL_MS,
    idle_s: float = d.BENCH_IDLE_S,
    device: str = "auto",
    input_size: int = d.BENCH_INPUT_SIZE,
    image: Path | str | None = None,
    builder: Callable[[str], Any] | None = None,
    progress: bool = True,
    zone: str | None = None,
) -> Batch:
    """Bench ``models`` while sampling ``sensor``; the rows as a :class:`Batch` for the loader."""
    import torch
    from tqdm import tqdm

    if inferences is not None and duration_s is not None:
        raise OptionError("give either a number of inferences or a duration, not both")
    if inferences is None and duration_s is None:
        duration_s = d.BENCH_DURATION_S
    if inferences is not None and inferences < 1:
        raise OptionError(f"inferences must be at least 1, got {inferences}")
    if duration_s is not None and duration_s <= 0:
        raise OptionError(f"duration must be positive, got {duration_s} s")
    if batch_size < 1 or warmup < 0 or idle_s < 0:
        raise OptionError("batch size must be >= 1, warmup and idle seconds >= 0")
    if not models:
        raise OptionError("no models to bench")
    if builder is None:
        check_models(models)
        builder = torchvision_builder
    device = resolve_device(device)
    passes = math.ceil(inferences / batch_size) if inferences is not None else None
    x = fixed_input(input_size, batch_size, image).to(device)  # preprocessed once, untimed

    clock = Clock()
    host = getattr(sensor, "host", None) or socket.gethostname()
    records: list[RunRecord] = []
    sampler = Sampler(sensor, interval_ms)
    sampler.start()
    try:
        if idle_s > 0:
            with _seconds_bar(idle_s, "idle baseline", progress) as bar:
                start = time.monotonic_ns()
                end_at = start + int(idle_s * 1e9)
                while (now := time.monotonic_ns()) < end_at:
                    time.sleep(min(0.1, (end_at - now) / 1e9))
                    _advance(bar, start)
                records.append(
                    RunRecord(IDLE_MODEL_NAME, "idle", start, time.monotonic_ns(), None, None)
                )
        for name in tqdm(models, desc="bench", unit="model", disable=not progress):
            model = builder(name).eval().to(device)
            with torch.inference_mode():
                for _ in range(warmup):
                    model(x)
                _sync(device)
            if passes is not None:
                bar_cm = tqdm(total=passes, desc=f"  {name}", unit="pass", leave=False,
                              disable=not progress)  # fmt: skip
            else:
                bar_cm = _seconds_bar(duration_s, f"  {name}", progress)
            with bar_cm as bar:
                start, end, done = _timed_loop(
                    model, x, device, passes=passes, duration_s=duration_s, bar=bar
                )
            records.append(RunRecord(name, "inference", start, end, done * batch_size, batch_size))
            del model
        time.sleep(2 * interval_ms / 1000)  # readings after the last run's end
    finally:
        samples = sampler.stop()
        sensor.close()

    options = {
        "sensor": sensor.name,
        "interval_ms": interval_ms,
        "inferences": inferences,
        "duration_s": duration_s,
        "batch_size": batch_size,
        "warmup": warmup,
        "idle_s": idle_s,
        "device": device,
        "input_size": input_size,
        "input": str(image) if image is not None else "synthetic seeded image, preprocessed once",
        "weights": "random init (weights=None)",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    tdp_source = getattr(sensor, "tdp_source", None)
    if tdp_source:
        options["tdp_source"] = tdp_source
    batch = to_batch(
        records, samples, sensor.meters(), clock, host=host, device=device,
        torch_threads=torch.get_num_threads(), sensor_name=sensor.name, options=options, zone=zone,
        devices=gpu_devices(device),
    )  # fmt: skip
    if tdp_source and tdp_source.startswith("fallback"):
        batch.warnings.append(f"estimate sensor TDP {tdp_source}; pass --tdp W for a better one")
    skipped = getattr(sensor, "skipped", None)
    if skipped:
        batch.warnings.extend(f"{sensor.name}: skipped {s}" for s in skipped)
    return batch


def to_batch(
    records: Sequence[RunRecord],
    samples: Sequence[Sample],
    meters: Sequence[Meter],
    clock: Clock,
    *,
    host: str,
    device: str,
    torch_threads: int,
    sensor_name: str,
    options: dict | None = None,
    zone: str | None = None,
    devices: str | None = None,
) -> Batch:
    """Runs (naming the meter when there is one, else the host), readings, counters and the host's
    meters as raw-table frames in one Batch."""
    by_id = {m.meter_id: m for m in meters}
    named = [m.meter_id for m in meters] if len(meters) == 1 else [None]
    runs = []
    for rec in records:
        started, ended = clock.to_utc(rec.start_ns), clock.to_utc(rec.end_ns)
        for meter_id in named:
            runs.append({
                "run_id": run_id(rec.model_name, started, ended, meter_id, rec.phase),
                "model_name": rec.model_name,
                "weights": None,
                "phase": rec.phase,
                "started_at": started,
                "ended_at": ended,
                "n_inferences": rec.n_inferences,
                "batch_size": rec.batch_size,
                "meter_id": meter_id,
                "device": device,
                "host": host,
                "devices": devices,
                "torch_threads": torch_threads,
                "measured_energy_j": None,
                "source_format": FORMAT,
            })  # fmt: skip
    power, counters = [], []
    for s in sorted(samples, key=lambda s: (s.at_ns, s.meter_id)):
        m = by_id[s.meter_id]
        at = clock.to_utc(s.at_ns)
        if m.reading == "power":
            power.append({"meter_id": s.meter_id, "measured_at": at, "power_w": s.value})
        else:
            counters.append({"meter_id": s.meter_id, "measured_at": at, "energy_j": s.value,
                             "counter_range_j": m.counter_range_j})  # fmt: skip
    fmt = f"{FORMAT}:{sensor_name}"
    tables = {
        "meters": pl.DataFrame(
            [
                {
                    "meter_id": m.meter_id,
                    "meter_kind": m.meter_kind,
                    "zone": zone,
                    "host_id": host,
                    "source_format": fmt,
                    "description": m.description,
                }
                for m in meters
            ],
            schema=METERS_SCHEMA,
        ),
        "runs": _numbered(runs, RUNS_SCHEMA),
        "power_readings": _numbered(power, READINGS_SCHEMA),
        "energy_counters": _numbered(counters, COUNTERS_SCHEMA),
    }
    digest = io.BytesIO()
    for name in sorted(tables):
        digest.write(name.encode() + b"\n")
        tables[name].write_csv(digest)
    start = clock.to_utc(min((r.start_ns for r in records), default=clock.mono_ns))
    return Batch(
        kind="bench",
        format=FORMAT,
        source=f"bench:{host}:{sensor_name}:{start.isoformat(timespec='seconds')}Z",
        sha256=sha256_bytes(digest.getvalue()),
        rows_read=sum(f.height for f in tables.values()),
        tables=tables,
        options=dict(options or {}),
    )


def _numbered(rows: list[dict], schema: dict) -> pl.DataFrame:
    rows = [{"line_number": i, **r} for i, r in enumerate(rows, start=1)]
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def preview(batch: Batch) -> pl.DataFrame:
    """Energy per run and meter computed here from the batch's rows, for the command's summary
    (a run naming no meter is measured by every meter of the batch).

    Counters: unwrapped and interpolated at the bounds; power: zero-order hold. ``energy_j`` is
    null when the readings do not cover the run. The warehouse's ``fct_run_energy`` is the official
    figure.
    """
    meters = batch.tables["meters"]
    runs = batch.tables["runs"]
    readings = batch.tables.get("power_readings", pl.DataFrame(schema=READINGS_SCHEMA))
    counters = batch.tables.get("energy_counters", pl.DataFrame(schema=COUNTERS_SCHEMA))

    ns = _naive_ns
    meter_objs: dict[str, Meter] = {}
    samples: list[Sample] = []
    kinds = dict(zip(meters["meter_id"], meters["meter_kind"], strict=True))
    for row in counters.iter_rows(named=True):
        mid = row["meter_id"]
        meter_objs.setdefault(mid, Meter(mid, kinds[mid], "counter", "", row["counter_range_j"]))
        samples.append(Sample(mid, ns(row["measured_at"]), row["energy_j"]))
    for row in readings.iter_rows(named=True):
        mid = row["meter_id"]
        meter_objs.setdefault(mid, Meter(mid, kinds[mid], "power", ""))
        samples.append(Sample(mid, ns(row["measured_at"]), row["power_w"]))
    out = []
    for r in runs.iter_rows(named=True):
        for meter_id in [r["meter_id"]] if r["meter_id"] is not None else list(kinds):
            out.append(_preview_row(r, meter_id, meter_objs.get(meter_id), kinds, samples))
    return pl.DataFrame(
        out,
        schema={
            "model_name": pl.String,
            "phase": pl.String,
            "meter_id": pl.String,
            "meter_kind": pl.String,
            "duration_s": pl.Float64,
            "n_inferences": pl.Int64,
            "energy_j": pl.Float64,
            "mean_power_w": pl.Float64,
            "mj_per_inference": pl.Float64,
        },
        orient="row",
    )


def _preview_row(r: dict, meter_id: str | None, m: Meter | None, kinds: dict,
                 samples: list[Sample]) -> dict:  # fmt: skip
    start, end = _naive_ns(r["started_at"]), _naive_ns(r["ended_at"])
    e = energy_between(samples, m, start, end) if m is not None else None
    dur = (end - start) / 1e9
    n = r["n_inferences"]
    return {
        "model_name": r["model_name"],
        "phase": r["phase"],
        "meter_id": meter_id,
        "meter_kind": kinds.get(meter_id),
        "duration_s": dur,
        "n_inferences": n,
        "energy_j": e,
        "mean_power_w": e / dur if e is not None and dur > 0 else None,
        "mj_per_inference": e / n * 1e3 if e is not None and n else None,
    }


def _naive_ns(dt: datetime) -> int:
    epoch = datetime(1970, 1, 1)
    delta = dt - epoch
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
