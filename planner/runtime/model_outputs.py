"""What a model gives back in a forward pass: its logits and the activations taken as features.

Features are the input of the model's last ``nn.Linear`` (captured with a forward pre-hook), or the
output of the module named by ``feature_layer``; 4-D feature maps are pooled or flattened. Used by
:func:`transfergraph.planner.runtime.forward.forward`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.tensors import to_numpy

__all__ = ["feature_module", "hook_features", "output_logits", "check_logits", "take_features"]


def feature_module(model: Any, feature_layer: str | None) -> tuple[Any, bool] | tuple[None, str]:
    """The module whose activations are the features, and whether to take its *input*.

    Returns ``(module, take_input)``; ``take_input`` is True for the default (input of the last
    ``nn.Linear``). When no such module exists, returns ``(None, reason)``.
    """
    import torch.nn as nn

    if feature_layer is not None:
        modules = dict(model.named_modules())
        if feature_layer not in modules:
            return None, f"feature_layer {feature_layer!r} is not a module of {type(model).__name__}"
        return modules[feature_layer], False
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        return None, (
            f"{type(model).__name__} has no nn.Linear, so its features are undefined; "
            "pass Source(..., feature_layer=NAME)"
        )
    return linears[-1], True


def hook_features(module: Any, info: Any, captured: list[Any]) -> Any:
    """Register the feature hook on ``module`` (its input when ``info`` is True, else its output)."""
    if module is None:
        return None
    if info is True:
        return module.register_forward_pre_hook(lambda m, args: captured.append(args[0]))
    return module.register_forward_hook(lambda m, args, out: captured.append(out))


def output_logits(out: Any) -> Any:
    """The logits tensor in a model's output: the tensor itself, ``out.logits`` (Hugging Face),
    ``out["logits"]`` (a dict) or the first item of a tuple/list; else ``out`` unchanged."""
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict) and "logits" in out:
        return out["logits"]
    if isinstance(getattr(out, "logits", None), torch.Tensor):
        return out.logits
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    return out


def check_logits(out: Any, b: int) -> np.ndarray:
    import torch

    out = output_logits(out)
    if not isinstance(out, torch.Tensor):
        raise InputError(
            "model output must hold logits (b, Z): a tensor, an object with .logits, a dict with 'logits' "
            f"or a tuple whose first item is the logits; got {type(out).__name__}."
        )
    if out.ndim != 2 or out.shape[0] != b:
        raise InputError(
            f"model output must be logits of shape (batch, n_source_classes) = ({b}, Z); "
            f"got shape {tuple(out.shape)}."
        )
    return to_numpy(out, widen_half=True)


def take_features(captured: list[Any], b: int, pooling: str | None = None) -> tuple[np.ndarray | None, str | None]:
    import torch

    if not captured:
        return None, "the feature module was not called during the forward pass"
    feats = captured[-1]
    if isinstance(feats, (tuple, list)):
        feats = feats[0]
    if not isinstance(feats, torch.Tensor) or feats.ndim < 1 or feats.shape[0] != b:
        shape = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__
        return None, f"feature activations must have batch size {b} first; got {shape}"
    if feats.ndim == 4 and pooling in ("avg", "max"):
        feats = feats.float().mean(dim=(2, 3)) if pooling == "avg" else feats.amax(dim=(2, 3))
    return to_numpy(feats.reshape(b, -1), widen_half=True), None
