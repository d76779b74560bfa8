"""Defaults shared by profile, bench and run: the model set, the bench settings; model lists."""

from __future__ import annotations

#: small, fast models spanning families: the default of ``flopwatt profile``, ``bench`` and ``run``
DEFAULT_MODELS: tuple[str, ...] = (
    "resnet18",
    "resnet50",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "vgg11",
    "densenet121",
    "squeezenet1_1",
    "shufflenet_v2_x1_0",
)
DEFAULT_MODELS_HELP = ", ".join(DEFAULT_MODELS)


def split_models(values: tuple[str, ...] | list[str]) -> list[str]:
    """``--models a,b --models c`` -> [a, b, c] (order kept, duplicates dropped)."""
    out: list[str] = []
    for v in values:
        for name in v.split(","):
            name = name.strip()
            if name and name not in out:
                out.append(name)
    return out


# the bench's settings, shared by ``flopwatt bench``, ``flopwatt run`` and profiling.bench
BENCH_DURATION_S = 10.0  # seconds of timed inference per model (``flopwatt bench``)
RUN_DURATION_S = 5.0  # the same for ``flopwatt run``, the quick main job
BENCH_INTERVAL_MS = 100.0  # sampling interval of the power sensor
BENCH_IDLE_S = 3.0  # idle window before the first model, recorded as an idle run
BENCH_BATCH_SIZE = 1
BENCH_WARMUP = 3  # untimed forward passes per model before its run
BENCH_INPUT_SIZE = 224  # side of the square input image
