"""MAC and parameter counts of one model.

Two MAC counts per model, never mixed with FLOPs (FLOPs = 2 x MACs):

- :func:`count_thop`: ``thop.profile(model, inputs=(torch.randn(1, 3, s, s),))`` exactly as the
  reference study ran it (kept for continuity). thop counts batch-norm, pooling and softmax work,
  and misses what is not a leaf ``nn.Module`` (attention matmuls of ViT/Swin).
- :func:`count_convention`: the project's convention -- convolution, linear (``mm``/``addmm``),
  ``bmm``/``baddbmm`` and scaled-dot-product attention work, nothing else -- from
  ``torch.utils.flop_counter.FlopCounterMode`` (which reports FLOPs = 2 x MACs, halved here).
  It matches torchvision's published ``meta["_ops"]`` (GMACs).

Both run on the ``meta`` device by default: shapes are all a count needs, so a 1-TMAC model costs
well under a second and no memory. Parameters are the exact ``sum(p.numel())``.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

#: aten ops (FlopCounterMode names) the convention counts; anything else is rejected.
CONVENTION_OPS: frozenset[str] = frozenset(
    {
        "aten.convolution",
        "aten._convolution",
        "aten.cudnn_convolution",
        "aten.convolution_overrideable",
        "aten._slow_conv2d_forward",
        "aten.mm",
        "aten.addmm",
        "aten.bmm",
        "aten.baddbmm",
        "aten._scaled_dot_product_efficient_attention",
        "aten._scaled_dot_product_flash_attention",
        "aten._scaled_dot_product_cudnn_attention",
        "aten._scaled_dot_product_flash_attention_for_cpu",
        "aten._efficient_attention_forward",
        "aten._flash_attention_forward",
    }
)

CONVENTION_COUNTER = "torch.utils.flop_counter"
THOP_COUNTER = "thop.profile"


def thop_version() -> str:
    try:
        from importlib.metadata import version

        return version("thop")
    except Exception:  # pragma: no cover - thop without dist metadata
        import thop

        return getattr(thop, "__version__", "unknown")


def _import_thop():
    with warnings.catch_warnings():
        # thop 0.1.1 imports distutils' LooseVersion
        warnings.simplefilter("ignore", DeprecationWarning)
        import thop
    return thop


def _device_of(model) -> str:
    for t in model.parameters():
        return t.device.type
    for t in model.buffers():
        return t.device.type
    return "cpu"


def _input(model, input_size: int):
    import torch

    return torch.randn(1, 3, input_size, input_size, device=_device_of(model))


def count_params(model) -> int:
    """Exact number of parameters (shared parameters counted once)."""
    return int(sum(p.numel() for p in model.parameters()))


def count_convention(model, input_size: int) -> dict[str, Any]:
    """Convention MACs of one forward pass at batch 1 (``{"macs", "by_op", "counter"}``).

    On CPU/CUDA, ``nn.MultiheadAttention``'s fused fast path would hide its matmuls from the
    counter, so it is switched off while counting, and the CPU flash-attention kernel is mapped
    to the standard SDPA formula. ``by_op`` holds MACs per aten op.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    def cpu_sdpa(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    aten = torch.ops.aten
    custom = {}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        custom[aten._scaled_dot_product_flash_attention_for_cpu] = cpu_sdpa
    x = _input(model, input_size)
    fastpath = contextlib.nullcontext()
    mha = getattr(torch.backends, "mha", None)
    if mha is not None and hasattr(mha, "set_fastpath_enabled"):
        fastpath = _mha_fastpath_off(mha)
    was_training = model.training
    model.eval()
    try:
        with fastpath, torch.no_grad(), FlopCounterMode(display=False, custom_mapping=custom) as fc:
            model(x)
    finally:
        model.train(was_training)
    by_op = {str(op): int(n) for op, n in fc.get_flop_counts()["Global"].items()}
    unexpected = sorted(set(by_op) - CONVENTION_OPS)
    if unexpected:
        raise RuntimeError(f"flop counter reported ops outside the convention: {unexpected}")
    flops = sum(by_op.values())
    return {
        "macs": flops / 2,
        "by_op": {op: n / 2 for op, n in sorted(by_op.items())},
        "counter": CONVENTION_COUNTER,
    }


@contextlib.contextmanager
def _mha_fastpath_off(mha):
    before = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(before)


def count_thop(model, input_size: int, custom_ops: dict | None = None) -> dict[str, Any]:
    """thop's MACs and params, as the study ran it: ``thop.profile(model, inputs=(x,))``.

    ``verbose=False`` only silences thop's "[INFO] Register ..." lines. thop's params miss
    parameters of non-leaf modules (ViT's class token) and of modules not run (Inception's aux
    head in eval). ``custom_ops`` is passed to thop (e.g. :func:`study_thop_rules`).
    """
    thop = _import_thop()
    x = _input(model, input_size)
    macs, params = thop.profile(model, inputs=(x,), custom_ops=custom_ops, verbose=False)
    return {"macs": float(macs), "params": int(params), "counter": THOP_COUNTER}


def study_thop_rules() -> dict:
    """thop ``custom_ops`` that restore the rules of the older thop release the study ran.

    Two rules changed in thop 0.1.1: a convolution no longer counts one op per output for its
    bias, and an affine batch-norm counts 4 x numel instead of 2 x numel. With these two rules
    put back, thop 0.1.1 reproduces the study's ``models.txt`` exactly where the architecture
    is unchanged (checked in tests/test_profiling.py and bench/profile_all.py). Not part of the
    stored profile: ``macs_thop`` is the installed thop, as called by the study.
    """
    import torch
    import torch.nn as nn

    def conv(m, x, y):
        kernel = m.weight.shape[2:].numel()
        bias = 1 if m.bias is not None else 0
        ops = y.numel() * (m.in_channels // m.groups * kernel + bias)
        m.total_ops += torch.DoubleTensor([int(ops)])

    def batch_norm(m, x, y):
        m.total_ops += torch.DoubleTensor([int(2 * x[0].numel())])

    return {
        nn.Conv1d: conv,
        nn.Conv2d: conv,
        nn.Conv3d: conv,
        nn.BatchNorm1d: batch_norm,
        nn.BatchNorm2d: batch_norm,
        nn.BatchNorm3d: batch_norm,
    }


def profile_model(model, input_size: int) -> dict[str, Any]:
    """Convention MACs, thop MACs and exact params of ``model`` at ``input_size``."""
    conv = count_convention(model, input_size)
    # thop adds and removes its own buffers/hooks; it runs last on the throwaway model
    th = count_thop(model, input_size)
    return {
        "macs": conv["macs"],
        "macs_by_op": conv["by_op"],
        "macs_counter": conv["counter"],
        "macs_thop": th["macs"],
        "params_thop": th["params"],
        "params": count_params(model),
    }


def profile_variant(v, device: str = "meta") -> dict[str, Any]:
    """Build variant ``v`` (random weights, on ``device``) and count it."""
    from flopwatt.profiling.catalog import build_model

    model = build_model(v, device=device)
    out = profile_model(model, v.input_size)
    out["device"] = device
    return out
