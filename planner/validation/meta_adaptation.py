"""Meta-transfer: a CNAPs-style model adapts to a task's training split in one forward pass.

A meta-transferred model exposes ``adapt(context_inputs, context_labels) -> nn.Module``
whose logits are over the context's distinct labels in sorted order. The task's training split is
the context set, its test split the queries (the LEEP paper's §5.4 protocol with CNAPs).
In the paper the score that predicts this accuracy is LEEP of the *source classifier of the
meta-model's frozen backbone* on the context set; pair the rows with that source (see
:func:`transfergraph.planner.validation.run_validation`, ``meta_model``).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.tensors import to_numpy
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.validation._common import encode, evaluate_codes, require_test_split, seeded_torch, torch_threads, transformed

__all__ = ["meta_transfer", "check_meta_model"]


def check_meta_model(meta_model: Any, argument: str = "meta_model") -> None:
    """Raise :class:`InputError` unless ``meta_model`` has a callable ``adapt``."""
    if not callable(getattr(meta_model, "adapt", None)):
        raise InputError(
            f"{argument} must be a CNAPs-style model with adapt(context_inputs, context_labels) -> nn.Module "
            f"(e.g. from transfergraph.adapters.meta); got {type(meta_model).__name__}."
        )


def meta_transfer(
    source: Source | None,
    task: Task,
    *,
    meta_model: Any,
    seed: int = 0,
    batch_size: int = 512,
    threads: int | None = 1,
) -> dict[str, Any]:
    """Adapt ``meta_model`` to ``task``'s training split (context) and classify its test split.

    Parameters
    ----------
    source : Source or None
        Only its ``transform`` is used (the meta-model's backbone is that source's network, so it
        expects the same input space); None applies no transform.
    task : Task with a test split
    meta_model : object with ``adapt(context_inputs, context_labels) -> nn.Module``
        Called with a float32 tensor (n, ...) and int64 codes (n,) of the sorted training classes;
        the adapted module must return logits (m, K) over those K classes.
    seed : int
        Seeds torch's RNG during adaptation and prediction.

    Returns
    -------
    dict(accuracy, f1, seconds, n_train, n_test, n_classes, status="ok", error="").
    """
    import torch

    require_test_split(task, "meta_transfer")
    check_meta_model(meta_model)
    batch_size = check_scalar(batch_size, "batch_size", int, caller="meta_transfer", min_val=1)
    threads = check_scalar(threads, "threads", int, caller="meta_transfer", min_val=1, allow_none=True)
    transform = source.transform if source is not None else None
    with torch_threads(threads), seeded_torch(seed):
        start = time.perf_counter()
        x = transformed(task.inputs, transform)
        codes = torch.from_numpy(encode(task.labels, task.classes))
        adapted = meta_model.adapt(x, codes)
        xt = transformed(task.test_inputs, transform)
        adapted.eval()
        with torch.no_grad():
            logits = torch.cat([adapted(xt[i:i + batch_size]) for i in range(0, len(xt), batch_size)])
        if logits.ndim != 2 or logits.shape[1] != task.n_classes:
            raise InputError(
                f"meta_model.adapt(...) must return a module with logits over the {task.n_classes} context "
                f"classes of task {task.name!r}; got output shape {tuple(logits.shape)}."
            )
        predicted = to_numpy(logits.argmax(1)).astype(np.int64)
        seconds = time.perf_counter() - start
    metrics = evaluate_codes(predicted, encode(task.test_labels, task.classes))
    return {**metrics, "seconds": seconds, "n_train": task.n_samples, "n_test": len(task.test_labels),
            "n_classes": task.n_classes, "status": "ok", "error": ""}
