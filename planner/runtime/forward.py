"""The torch edge of scoring: one batched forward pass yielding logits and features.

Features are the input of the model's last ``nn.Linear`` (captured with a forward pre-hook), or the
flattened output of the module named by ``feature_layer``. The model runs in eval mode under
``torch.no_grad``; its training flag is restored afterwards. Batches run on the device that holds
the model's parameters (CPU or CUDA) and come back as NumPy arrays on the host.

Image batches of a convolutional model on the CPU run in channels-last memory order (NHWC): PyTorch's
oneDNN convolutions are much faster there than in the default NCHW order (measurements in
``benchmarks/RESULTS.md``, "NCHW vs channels-last"). The values are the same function of the inputs;
only the rounding of the convolutions' sums differs (logits within ~5e-8). Every executor runs the
same code, so scores stay bitwise identical between "local" and "ray".
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from transfergraph.planner.common.arguments import check_bool, check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.runtime.model_outputs import check_logits, feature_module, hook_features, output_logits, take_features
from transfergraph.planner.runtime.threads import torch_threads

__all__ = ["BatchOutput", "ForwardOutput", "forward", "forward_batches", "feature_module", "output_logits",
           "prefers_channels_last", "resolve_device", "torch_threads"]

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


def _model_device_dtype(model: Any) -> tuple[Any, Any]:
    import torch

    for p in model.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def resolve_device(device: Any) -> Any:
    """``device`` as a ``torch.device`` (None stays None); a CUDA device must be available.

    Raises
    ------
    InputError
        For a device string torch does not know, or CUDA when no CUDA device is available.
    """
    import torch

    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"device must be None, 'cpu', 'cuda' or 'cuda:N'; got {device!r} ({exc}).") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} was requested but CUDA is not available here "
                         "(torch.cuda.is_available() is False); use device='cpu' or leave it unset.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"device {device!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s).")
    return dev


def forward(model: Any, pool: Any, index: np.ndarray | None = None, **options: Any) -> ForwardOutput:
    """Forward ``pool[index]`` through ``model`` in batches: the pass of :func:`forward_batches`
    (same arguments, documented there), gathered into one :class:`ForwardOutput` with ``logits``
    (n, Z) and ``features`` (n, d), row i for ``pool[index[i]]``.

    Raises as :func:`forward_batches`.
    """
    import time

    start = time.perf_counter()
    logits = features = None
    feature_error = None
    with contextlib.closing(forward_batches(model, pool, index, **options)) as batches:
        for part in batches:
            hi = part.lo + len(part.logits)
            if logits is None:
                logits = np.empty((part.total, part.logits.shape[1]), dtype=part.logits.dtype)
            logits[part.lo:hi] = part.logits
            feature_error = part.feature_error
            if part.features is not None:
                if features is None:
                    features = np.empty((part.total, part.features.shape[1]), dtype=part.features.dtype)
                features[part.lo:hi] = part.features
    if feature_error is not None:
        features = None
    return ForwardOutput(logits, features, feature_error, time.perf_counter() - start)


@dataclass
class BatchOutput:
    """Outputs of one forward batch: rows ``lo .. lo + len(logits) - 1`` of a pass over ``total`` samples.

    ``features`` is None when not requested or not capturable; ``feature_error`` (str or None) is the
    pass's feature error so far: once set, no later batch carries features.
    """

    lo: int
    total: int
    logits: np.ndarray
    features: np.ndarray | None
    feature_error: str | None


def forward_batches(
    model: Any,
    pool: Any,
    index: np.ndarray | None = None,
    *,
    transform: Callable[[Any], Any] | None = None,
    feature_layer: str | None = None,
    pooling: str | None = None,
    want_features: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    channels_last: bool | None = None,
    device: Any = None,
    num_workers: int = 0,
) -> Iterator[BatchOutput]:
    """Forward ``pool[index]`` through ``model`` in batches, yielding one :class:`BatchOutput` per batch.

    Holds one batch of inputs and outputs at a time, so a caller that writes each batch away (the
    forward-output store) keeps memory O(batch) whatever the number of samples; :func:`forward`
    gathers the batches. The model's training flag, hooks and device are restored when the
    generator finishes or is closed (use ``contextlib.closing`` when stopping early). The errors
    below are raised at the first ``next()``.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits of shape (b, Z) for a batch of b samples: a tensor, an object with a
        ``.logits`` tensor (Hugging Face outputs), a tuple/list (first item) or a dict with "logits".
    pool : np.ndarray of shape (N, ...), or lazy samples (:class:`transfergraph.planner.inputs.lazy.LazyInputs` / a Reader)
        Samples; may be read-only. Lazy samples are read batch by batch (:func:`transfergraph.planner.inputs.batches.iter_batches`).
    index : np.ndarray of int, shape (n,), optional
        Rows of ``pool`` to forward, in output order (for a Reader: dataset rows). Default: all rows.
    transform : callable, optional
        Applied to each batch (a ``torch.Tensor`` of shape (b, ...)) before the model.
    feature_layer : str, optional
        See :func:`feature_module`.
    pooling : "avg", "max", "flatten" or None
        How 4-D (b, C, H, W) feature maps become vectors: global average or max over (H, W), or
        flattening. None: flatten (the behaviour for every other rank too).
    want_features : bool
        Capture features (costs one hook per batch).
    batch_size : int
        Samples per batch.
    channels_last : bool, optional
        Feed 4-D (b, C, H, W) batches in channels-last memory order. Default (None): when the model
        runs on the CPU and contains an ``nn.Conv2d`` (see the module docstring for why).
    device : str or torch.device, optional
        Run the pass there (the model is moved for the pass and moved back). Default: where the
        model's parameters are.
    num_workers : int
        DataLoader reader processes for lazy pools.

    Inputs enter the model as float32 when they are floating, bool or uint8 (images); other integer
    dtypes (token ids) keep their dtype (:func:`transfergraph.planner.inputs.batches.input_dtype`).

    Yields
    ------
    BatchOutput
        Rows ``lo .. lo + b - 1`` of the pass: ``logits`` (b, Z) and ``features`` (b, d).

    Raises
    ------
    InputError
        When the model's output holds no 2-D (b, Z) logits, ``device`` is unavailable, or an option has
        the wrong type or range (``batch_size`` an int >= 1, ``num_workers`` an int >= 0; bools refused).
    RuntimeError, TypeError, ...
        Whatever the model or transform raises (e.g. a shape mismatch), unchanged.
    """
    import torch

    from transfergraph.planner.inputs.batches import iter_batches

    if hasattr(pool, "rows") and hasattr(pool, "reader"):  # LazyInputs: positions -> dataset rows
        index = pool.rows if index is None else pool.rows[np.asarray(index, dtype=np.int64)]
        pool = pool.reader
    index = np.arange(len(pool)) if index is None else np.asarray(index, dtype=np.int64)
    n = len(index)
    if n == 0:
        raise InputError("forward needs at least one sample; got an empty index.")
    if pooling not in (None, "avg", "max", "flatten"):
        raise InputError(f"pooling must be 'avg', 'max', 'flatten' or None; got {pooling!r}.")
    batch_size = check_scalar(batch_size, "batch_size", int, caller="forward", min_val=1)
    num_workers = check_scalar(num_workers, "num_workers", int, caller="forward", min_val=0)
    check_bool(want_features, "want_features", caller="forward")
    target = resolve_device(device)
    home, dtype = _model_device_dtype(model)
    if target is not None and target != home:
        model.to(target)
    device = target if target is not None else home
    if channels_last is None:
        channels_last = prefers_channels_last(model, device)
    elif not isinstance(channels_last, bool):
        raise InputError(f"channels_last of forward() must be True, False or None; got {channels_last!r}.")
    module, info = feature_module(model, feature_layer) if want_features else (None, "not requested")
    captured: list[Any] = []
    handle = hook_features(module, info, captured)
    feature_error = None if module is not None else (info if want_features else None)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            batches = iter_batches(pool, index, batch_size, num_workers=num_workers,
                                   pin_memory=getattr(device, "type", "cpu") == "cuda")
            for lo, batch in batches:
                b = len(batch)
                batch = _prepare(batch, transform, device, dtype, channels_last)
                captured.clear()
                out = check_logits(model(batch), b)
                feats = None
                if module is not None and feature_error is None:
                    feats, feature_error = take_features(captured, b, pooling)
                captured.clear()
                yield BatchOutput(lo, n, out, feats, feature_error)
    finally:
        model.train(was_training)
        if handle is not None:
            handle.remove()
        if target is not None and target != home:
            model.to(home)


def _prepare(batch: Any, transform: Any, device: Any, dtype: Any, channels_last: bool) -> Any:
    """A CPU batch as the model's input: float32 (unless integer ids), transformed, on ``device``."""
    import torch

    from transfergraph.planner.inputs.batches import input_dtype

    if input_dtype(batch.dtype) == "float32":
        batch = batch.to(torch.float32)
    if transform is not None:
        batch = transform(batch)
    if batch.is_floating_point():
        batch = batch.to(device=device, dtype=dtype, non_blocking=True)
    else:
        batch = batch.to(device=device, non_blocking=True)
    if channels_last and batch.ndim == 4:
        batch = _as_channels_last(batch)
    return batch


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
