"""Which torchvision classification models and weights exist, and how to build each one.

A :class:`Variant` is one (model, weights) pair at the input size those weights expect
(``weights.transforms().crop_size``). Models are built with random initial weights (nothing is
downloaded) but with the constructor arguments the weights builder would set, so that the
architecture matches the published weights: ViT at the weights' image size (``vit_h_14`` SWAG at
518), MaxViT at its ``input_size``, GoogLeNet without and Inception-v3 with auxiliary heads.

torch/torchvision are imported inside functions: importing this module stays cheap.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from typing import Any

from flopwatt.core.defaults import DEFAULT_MODELS
from flopwatt.core.errors import FlopwattError

#: The weights a model gets when none is named (the ones the reference study used).
PREFERRED_WEIGHTS = "IMAGENET1K_V1"


@dataclass(frozen=True)
class Variant:
    """One (model, weights) pair, at the input size the weights expect."""

    model_name: str
    weights: str
    input_size: int
    build_kwargs: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        return f"{self.model_name}:{self.weights}"


def model_names() -> list[str]:
    """Every classification model in ``torchvision.models`` (80 in torchvision 0.29), sorted."""
    return list(_model_names())


@functools.cache
def _model_names() -> tuple[str, ...]:
    import torchvision.models as tvm

    return tuple(sorted(tvm.list_models(module=tvm)))


def _check_model(name: str) -> str:
    names = model_names()
    if name in names:
        return name
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise FlopwattError(
        f"unknown torchvision classification model {name!r}{hint} "
        f"(`flopwatt profile --list` shows all {len(names)})"
    )


def weights_enum(name: str):
    """The weights enum class of model ``name`` (clear error for an unknown name)."""
    import torchvision.models as tvm

    return tvm.get_model_weights(_check_model(name))


def weights_names(name: str) -> list[str]:
    """Enum member names of the model's weights, in definition order (no DEFAULT alias)."""
    return [w.name for w in weights_enum(name)]


def default_weights(name: str) -> str:
    """``IMAGENET1K_V1`` when the model has it, else the member its ``DEFAULT`` alias points to."""
    enum = weights_enum(name)
    if PREFERRED_WEIGHTS in enum.__members__:
        return PREFERRED_WEIGHTS
    return enum.DEFAULT.name


def get_weights(name: str, weights: str):
    """The weights enum member ``weights`` of model ``name`` (clear error when it is not one)."""
    enum = weights_enum(name)
    member = enum.__members__.get(weights)
    if member is None:
        options = [w.name for w in enum]
        raise FlopwattError(
            f"model {name!r} has no weights {weights!r}; it has: {', '.join(options)}"
        )
    return member


def input_size(weights) -> int:
    """Square input side the weights expect: the crop size of ``weights.transforms()``."""
    crop = weights.transforms().crop_size
    side = crop[0] if isinstance(crop, (list, tuple)) else int(crop)
    if isinstance(crop, (list, tuple)) and len(crop) > 1 and crop[1] != side:
        raise FlopwattError(f"non-square crop size {crop} is not supported")
    return int(side)


def build_kwargs(name: str, weights) -> dict[str, Any]:
    """Constructor arguments the torchvision builder would set when given ``weights``.

    Mirrors the ``_ovewrite_named_param`` calls of torchvision 0.29's builders; loading the
    state dict is the only step skipped.
    """
    kwargs: dict[str, Any] = {}
    if weights.meta.get("categories") is not None:  # vgg16 IMAGENET1K_FEATURES has none
        kwargs["num_classes"] = len(weights.meta["categories"])
    if name.startswith("vit_"):
        kwargs["image_size"] = int(weights.meta["min_size"][0])
    elif name == "maxvit_t":
        kwargs["input_size"] = tuple(weights.meta["min_size"])
    elif name == "googlenet":
        # the builder loads with aux heads, then drops them (aux_logits defaults to False)
        kwargs.update(transform_input=True, aux_logits=False, init_weights=False)
    elif name == "inception_v3":
        # the builder keeps the aux head (aux_logits defaults to True), so num_params counts it
        kwargs.update(transform_input=True, aux_logits=True, init_weights=False)
    return kwargs


def variant(name: str, weights: str | None = None) -> Variant:
    """The variant of model ``name`` with ``weights`` (default: :func:`default_weights`)."""
    name = _check_model(name)
    member = get_weights(name, weights or default_weights(name))
    kwargs = build_kwargs(name, member)
    return Variant(name, member.name, input_size(member), tuple(sorted(kwargs.items())))


def all_variants(name: str) -> list[Variant]:
    """Every weights variant of model ``name``."""
    return [variant(name, w) for w in weights_names(name)]


def resolve(names: list[str] | None, all_weights: bool = False) -> list[Variant]:
    """Variants to profile.

    - ``names`` None: every model when ``all_weights`` (115 variants in torchvision 0.29), else
      :data:`DEFAULT_MODELS` with their default weights;
    - otherwise each entry is ``model`` or ``model:WEIGHTS``; a bare model gets its default weights,
      or every weights variant when ``all_weights``.

    Duplicates are dropped, order is kept. Unknown names raise :class:`FlopwattError`.
    """
    if names is None:
        names = model_names() if all_weights else list(DEFAULT_MODELS)
    out: list[Variant] = []
    for entry in names:
        entry = entry.strip()
        if not entry:
            continue
        model, _, weights = entry.partition(":")
        model = model.strip()
        weights = weights.strip()
        if weights:
            found = [variant(model, weights)]
        elif all_weights:
            found = all_variants(model)
        else:
            found = [variant(model)]
        out.extend(v for v in found if v not in out)
    if not out:
        raise FlopwattError("no models to profile")
    return out


def build_model(v: Variant, device: str = "meta"):
    """The model of variant ``v`` with random weights, in eval mode.

    On ``meta`` no memory is allocated and no initialisation runs for real. Builders that need
    real values while constructing (RegNet computes its block widths with tensors) are built with
    parameters and buffers redirected to ``meta`` as they are registered instead.
    """
    import torch
    import torchvision.models as tvm

    kwargs = dict(v.build_kwargs)
    if device != "meta":
        with torch.device(device):
            return tvm.get_model(v.model_name, weights=None, **kwargs).eval()
    try:
        with torch.device("meta"):
            return tvm.get_model(v.model_name, weights=None, **kwargs).eval()
    except NotImplementedError:
        with _register_on_meta():
            return tvm.get_model(v.model_name, weights=None, **kwargs).eval()


class _register_on_meta:
    """Move each parameter/buffer to ``meta`` when a module registers it (like accelerate's
    ``init_empty_weights``): other tensors built in ``__init__`` stay real."""

    def __enter__(self):
        import torch.nn as nn

        self._nn = nn
        self._orig_param = nn.Module.register_parameter
        self._orig_buffer = nn.Module.register_buffer
        orig_param, orig_buffer = self._orig_param, self._orig_buffer

        def register_parameter(module, name, param):
            if param is not None:
                param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
            orig_param(module, name, param)

        def register_buffer(module, name, tensor, persistent=True):
            if tensor is not None:
                tensor = tensor.to("meta")
            orig_buffer(module, name, tensor, persistent=persistent)

        nn.Module.register_parameter = register_parameter
        nn.Module.register_buffer = register_buffer
        return self

    def __exit__(self, *exc) -> None:
        self._nn.Module.register_parameter = self._orig_param
        self._nn.Module.register_buffer = self._orig_buffer
