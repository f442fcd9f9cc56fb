"""The torch edge of scoring: one batched forward pass yielding logits and features.

Features are the input of the model's last ``nn.Linear`` (captured with a forward pre-hook), or the
flattened output of the module named by ``feature_layer``. The model runs in eval mode under
``torch.no_grad``; its training flag is restored afterwards. Batches run on the device that holds
the model's parameters (CPU or CUDA) and come back as NumPy arrays on the host.

Image batches of a convolutional model on the CPU run in channels-last memory order (NHWC): PyTorch's
oneDNN convolutions are much faster there than in the default NCHW order (measured on this project's
2-core VM, one thread, 3,000 images: 2.2x for a 2-conv CNN at 1x28x28, 2.7x for the demo's SmallCNN at
1x16x16, 1.5x at 3x32x32, 2.6x for the CNAPs-style backbone). The values are the same function of the
inputs; only the rounding of the convolutions' sums differs (logits within ~5e-8). Every executor runs
the same code, so scores stay bitwise identical between "local" and "ray".
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from .exceptions import InputError

__all__ = ["ForwardOutput", "forward", "feature_module", "prefers_channels_last", "torch_threads"]

DEFAULT_BATCH_SIZE = 256


@dataclass
class ForwardOutput:
    """Outputs of one forward pass over ``n`` samples.

    Attributes
    ----------
    logits : np.ndarray, shape (n, Z)
        The model's outputs (source-class logits), in the model's floating dtype.
    features : np.ndarray of shape (n, d), or None
        Flattened feature vectors; None when they were not requested or cannot be captured.
    feature_error : str or None
        Why ``features`` is None although features were requested.
    seconds : float
        Wall time of the pass.
    """

    logits: np.ndarray
    features: np.ndarray | None
    feature_error: str | None
    seconds: float


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


def _model_device_dtype(model: Any) -> tuple[Any, Any]:
    import torch

    for p in model.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def forward(
    model: Any,
    pool: np.ndarray,
    index: np.ndarray | None = None,
    *,
    transform: Callable[[Any], Any] | None = None,
    feature_layer: str | None = None,
    want_features: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    channels_last: bool | None = None,
) -> ForwardOutput:
    """Forward ``pool[index]`` through ``model`` in batches.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits of shape (b, Z) for a batch of b samples.
    pool : np.ndarray, shape (N, ...)
        Samples; may be read-only (batches are copied out of it).
    index : np.ndarray of int, shape (n,), optional
        Rows of ``pool`` to forward, in output order. Default: all rows.
    transform : callable, optional
        Applied to each batch (a float32 ``torch.Tensor`` of shape (b, ...)) before the model.
    feature_layer : str, optional
        See :func:`feature_module`.
    want_features : bool
        Capture features (costs one hook per batch).
    batch_size : int
        Samples per batch.
    channels_last : bool, optional
        Feed 4-D (b, C, H, W) batches in channels-last memory order. Default (None): when the model
        runs on the CPU and contains an ``nn.Conv2d`` (see the module docstring for why).

    Returns
    -------
    ForwardOutput
        ``logits`` (n, Z) and ``features`` (n, d), row i for ``pool[index[i]]``.

    Raises
    ------
    ValueError
        When the model's output is not a 2-D (b, Z) array of logits.
    RuntimeError, TypeError, ...
        Whatever the model or transform raises (e.g. a shape mismatch), unchanged.
    """
    import time

    import torch

    start = time.perf_counter()
    index = np.arange(len(pool)) if index is None else np.asarray(index, dtype=np.int64)
    n = len(index)
    device, dtype = _model_device_dtype(model)
    if channels_last is None:
        channels_last = prefers_channels_last(model, device)
    elif not isinstance(channels_last, bool):
        raise InputError(f"channels_last of forward() must be True, False or None; got {channels_last!r}.")
    module, info = feature_module(model, feature_layer) if want_features else (None, "not requested")
    captured: list[Any] = []
    handle = None
    if module is not None:
        if info is True:
            handle = module.register_forward_pre_hook(lambda m, args: captured.append(args[0]))
        else:
            handle = module.register_forward_hook(lambda m, args, out: captured.append(out))
    feature_error = None if module is not None else (info if want_features else None)
    logits = features = None
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for lo in range(0, n, batch_size):
                rows = index[lo:lo + batch_size]
                batch = torch.from_numpy(np.ascontiguousarray(pool[rows])).to(torch.float32)
                if transform is not None:
                    batch = transform(batch)
                if batch.is_floating_point():
                    batch = batch.to(device=device, dtype=dtype)
                else:
                    batch = batch.to(device=device)
                if channels_last and batch.ndim == 4:
                    batch = _as_channels_last(batch)
                captured.clear()
                out = model(batch)
                out = _check_logits(out, len(rows))
                if logits is None:
                    logits = np.empty((n, out.shape[1]), dtype=out.dtype)
                logits[lo:lo + len(rows)] = out
                if module is not None and feature_error is None:
                    feats, feature_error = _take_features(captured, len(rows))
                    if feats is not None:
                        if features is None:
                            features = np.empty((n, feats.shape[1]), dtype=feats.dtype)
                        features[lo:lo + len(rows)] = feats
    finally:
        model.train(was_training)
        if handle is not None:
            handle.remove()
    if logits is None:
        raise InputError("forward needs at least one sample; got an empty index.")
    if feature_error is not None:
        features = None
    return ForwardOutput(logits, features, feature_error, time.perf_counter() - start)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)`` (None: unchanged), then restore.

    Jobs run their forward passes with one thread on every executor: a model's matrix products
    (e.g. the CNAPs-style Mahalanobis head) split their sums by thread count, so the last bits of
    its logits would otherwise depend on where the job ran.
    """
    import torch

    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def prefers_channels_last(model: Any, device: Any) -> bool:
    """Whether :func:`forward` feeds ``model`` channels-last batches: on the CPU, with an ``nn.Conv2d``."""
    import torch.nn as nn

    return getattr(device, "type", str(device)) == "cpu" and any(isinstance(m, nn.Conv2d) for m in model.modules())


def _as_channels_last(batch: Any) -> Any:
    """``batch`` (b, C, H, W) copied into channels-last strides (C*H*W, 1, W*C, C).

    ``Tensor.contiguous(memory_format=torch.channels_last)`` is not enough: for C = 1 a standard
    contiguous batch already counts as channels-last contiguous and comes back unchanged, so the
    convolution would still pick NCHW.
    """
    import torch

    out = torch.empty_like(batch, memory_format=torch.channels_last)
    out.copy_(batch)
    return out


def _to_numpy(t: Any) -> np.ndarray:
    import torch

    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.detach().cpu().numpy()


def _check_logits(out: Any, b: int) -> np.ndarray:
    import torch

    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise InputError(f"model output must be a torch.Tensor of logits (b, Z); got {type(out).__name__}.")
    if out.ndim != 2 or out.shape[0] != b:
        raise InputError(
            f"model output must be logits of shape (batch, n_source_classes) = ({b}, Z); "
            f"got shape {tuple(out.shape)}."
        )
    return _to_numpy(out)


def _take_features(captured: list[Any], b: int) -> tuple[np.ndarray | None, str | None]:
    import torch

    if not captured:
        return None, "the feature module was not called during the forward pass"
    feats = captured[-1]
    if isinstance(feats, (tuple, list)):
        feats = feats[0]
    if not isinstance(feats, torch.Tensor) or feats.ndim < 1 or feats.shape[0] != b:
        shape = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__
        return None, f"feature activations must have batch size {b} first; got {shape}"
    return _to_numpy(feats.reshape(b, -1)), None
