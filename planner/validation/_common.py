"""Shared pieces of the transfer methods: label encoding, test-split evaluation, seeds, transforms.

Pure NumPy except :func:`transformed` and :func:`seeded_torch` (and :func:`torch_threads`, from
``transfergraph.planner.runtime.threads``), the torch edge every method uses.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.runtime.threads import torch_threads  # noqa: F401 - re-exported: the methods' torch edge
from transfergraph.planner.inputs.task import Task

__all__ = [
    "encode",
    "evaluate_codes",
    "pair_seed",
    "require_test_split",
    "transformed",
    "torch_threads",
    "seeded_torch",
]


def require_test_split(task: Task, method: str) -> None:
    """Raise :class:`InputError` when ``task`` has no test split (validation evaluates on it)."""
    if not isinstance(task, Task):
        raise InputError(f"task of {method}() must be a transfergraph.planner.Task; got {type(task).__name__}.")
    if not task.has_test:
        raise InputError(
            f"task {task.name!r} passed to {method}() has no test split; build it with "
            "Task(..., test_inputs=..., test_labels=...) (validation trains on inputs and evaluates on the test split)."
        )


def encode(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Codes of ``labels`` in the sorted ``classes``: ``classes[code] == label``, -1 for unseen labels.

    Parameters
    ----------
    labels : np.ndarray, shape (n,)
    classes : np.ndarray, shape (K,), sorted distinct values (``Task.classes``)

    Returns
    -------
    np.ndarray of int64, shape (n,), values in {-1, 0, ..., K-1}
    """
    lookup = {v: i for i, v in enumerate(np.asarray(classes).tolist())}
    return np.fromiter((lookup.get(v, -1) for v in np.asarray(labels).tolist()), dtype=np.int64, count=len(labels))


def evaluate_codes(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Accuracy and macro F1 of predicted class codes against the true codes.

    accuracy = mean(pred == true); F1 is sklearn's macro average over the classes present in
    ``true`` or ``predicted`` (a true code of -1, a test label unseen in training, is always wrong
    and counts as its own class). ``zero_division=0``.
    """
    from sklearn.metrics import f1_score

    predicted = np.asarray(predicted, dtype=np.int64)
    true = np.asarray(true, dtype=np.int64)
    if predicted.shape != true.shape or predicted.ndim != 1 or len(true) == 0:
        raise InputError(
            f"predicted and true codes must be 1-D arrays of the same non-zero length; "
            f"got shapes {predicted.shape} and {true.shape}."
        )
    accuracy = float(np.mean(predicted == true))
    f1 = float(f1_score(true, predicted, average="macro", zero_division=0))
    return {"accuracy": accuracy, "f1": f1}


def pair_seed(seed: int, *parts: Any) -> int:
    """A seed in [0, 2**31) derived from ``seed`` and names, the same in every process and order:
    :func:`transfergraph.planner.common.seeds.derive_seed` with its default scheme."""
    return derive_seed(seed, *parts)


def transformed(x: np.ndarray, transform: Callable[[Any], Any] | None, *, batch_size: int = 512) -> Any:
    """``x`` as a float32 ``torch.Tensor``, mapped through ``transform`` batch by batch (a copy).

    Parameters
    ----------
    x : np.ndarray, shape (n, ...)
    transform : callable taking and returning a float32 tensor batch, or None
    """
    import torch

    t = torch.from_numpy(np.array(x, dtype=np.float32, copy=True))
    if transform is None:
        return t
    parts = [transform(t[i:i + batch_size]) for i in range(0, len(t), batch_size)]
    return torch.cat(parts).float()


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Run the block with torch's global CPU RNG seeded to ``seed``; the caller's RNG state is restored."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield

