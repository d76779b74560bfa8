"""The default model set and the parsing of model lists, shared by profile, bench and run."""

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
