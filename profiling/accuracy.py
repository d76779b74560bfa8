"""Accuracy and provenance from torchvision's weights metadata (ships offline; nothing downloaded).

Per weights: ImageNet-1K top-1/top-5 accuracy (``meta["_metrics"]["ImageNet-1K"]``, in percent),
the checkpoint size (``_file_size``, MB), the training recipe URL, and the published counts
(``num_params``; ``_ops`` in GMACs -- torchvision labels them "GFLOPS" but they are MACs).
"""

from __future__ import annotations

import math
from typing import Any

DATASET = "ImageNet-1K"


def accuracy_record(v) -> dict[str, Any]:
    """Accuracy and provenance of variant ``v`` (a :class:`profiling.catalog.Variant`)."""
    from flopwatt.profiling.catalog import get_weights

    meta = get_weights(v.model_name, v.weights).meta
    metrics = meta.get("_metrics", {}).get(DATASET, {})
    return {
        "top1_acc_pct": _float(metrics.get("acc@1")),
        "top5_acc_pct": _float(metrics.get("acc@5")),
        "dataset": DATASET if any(_float(m) is not None for m in metrics.values()) else None,
        "file_size_mb": _float(meta.get("_file_size")),
        "recipe_url": meta.get("recipe"),
    }


def published_counts(v) -> dict[str, Any]:
    """torchvision's published MACs (``_ops`` x 1e9) and ``num_params`` for variant ``v``."""
    from flopwatt.profiling.catalog import get_weights

    meta = get_weights(v.model_name, v.weights).meta
    ops = meta.get("_ops")
    n = meta.get("num_params")
    return {
        "published_macs": None if ops is None else float(round(float(ops) * 1e9)),
        "published_params": None if n is None else int(n),
    }


def _float(x) -> float | None:
    """A published number, or None when it is missing (torchvision writes NaN for weights without
    a score, e.g. VGG16_Weights.IMAGENET1K_FEATURES): missing metrics are null, never NaN."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None
