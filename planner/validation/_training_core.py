"""Shared pieces of the decision-validation trainers: task arrays, the training budget, seeded streams.

Common random numbers: a seed ``s`` fixes the trunk's initial weights; the head and the minibatch
stream of task ``t`` depend only on ``(s, t)`` (never on the group, the order or the arm), so two
arms that train task ``t`` see the same examples in the same order and their difference is paired.
Everything here is deterministic given its seeds (explicit NumPy generators, torch's global RNG
only inside :func:`seeded_torch`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.fingerprint import arrays_key as content_key
from transfergraph.planner.inputs.task import Task
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.validation._common import encode, seeded_torch

__all__ = ["TrainBudget", "TaskArrays", "prepare_tasks", "batch_stream", "new_head", "accuracy_and_loss",
           "arrays_key", "make_trunk"]


@dataclass(frozen=True)
class TrainBudget:
    """Equal per-task budget of the decision validations.

    steps : optimizer steps S a task gets (in a group: S steps, each with ``batch`` examples of every
    member); batch : b examples per task per step; lr, weight_decay : Adam's; n_evals : validation
    checkpoints of the group trainer (the lowest mean val loss is kept) and learning-curve points of
    the sequential learner; replay : examples per past task kept by the replay learner.
    """

    steps: int = 200
    batch: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    n_evals: int = 4
    replay: int = 20

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "n_evals", "replay"):
            check_scalar(getattr(self, name), name, int, caller="TrainBudget", min_val=0 if name == "replay" else 1)
        check_scalar(self.lr, "lr", float, caller="TrainBudget", min_val=0, include_boundaries="neither")
        check_scalar(self.weight_decay, "weight_decay", float, caller="TrainBudget", min_val=0)

    def eval_steps(self) -> list[int]:
        """Steps (1-based) after which the trainers evaluate: S/n_evals, 2S/n_evals, ..., S."""
        return sorted({max(1, round(self.steps * (i + 1) / self.n_evals)) for i in range(self.n_evals)})


@dataclass(frozen=True)
class TaskArrays:
    """One task's train/val/test tensors (float32, channels-last) and class codes 0..C-1."""

    name: str
    n_classes: int
    train_x: object
    train_y: object
    val_x: object
    val_y: object
    test_x: object
    test_y: object


def _tensor(x: np.ndarray):
    import torch

    t = torch.from_numpy(np.array(x, dtype=np.float32, copy=True))
    return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t


def _split(codes: np.ndarray, val_fraction: float, per_class: int | None, rng: np.random.Generator):
    train, val = [], []
    for c in np.unique(codes):
        idx = rng.permutation(np.flatnonzero(codes == c))
        n_val = max(1, int(round(val_fraction * len(idx))))
        val.append(idx[:n_val])
        rest = idx[n_val:]
        train.append(rest if per_class is None else rest[:per_class])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def prepare_tasks(tasks: Sequence[Task], *, val_fraction: float = 0.2, train_per_class: int | None = None,
                  split_seed: int = 0) -> list[TaskArrays]:
    """Stratified train/val split of each task's training data (fixed by ``split_seed``, never by the
    training seed); the task's test split is kept whole. ``train_per_class`` caps the training images
    per class (data-limited suites keep headroom between partitions).

    Raises InputError: a task without a test split, fewer than 2 classes, a class with < 2 samples,
    ``val_fraction`` outside (0, 0.5].
    """
    if not 0 < val_fraction <= 0.5:
        raise InputError(f"val_fraction must be in (0, 0.5]; got {val_fraction!r}.")
    out = []
    for task in tasks:
        if not isinstance(task, Task) or not task.has_test:
            raise InputError(f"tasks must be transfergraph.planner.Task objects with a test split; got {task!r}.")
        classes = np.asarray(task.classes)
        codes = encode(np.asarray(task.labels), classes)
        counts = np.bincount(codes, minlength=len(classes))
        if len(classes) < 2 or counts.min() < 2:
            raise InputError(f"task {task.name!r} needs >= 2 classes with >= 2 samples each; got counts {counts.tolist()}.")
        rng = np.random.default_rng(derive_seed(split_seed, "split", task.name))
        tr, va = _split(codes, val_fraction, train_per_class, rng)
        x = np.asarray(task.inputs)
        te_codes = encode(np.asarray(task.test_labels), classes)
        import torch

        out.append(TaskArrays(str(task.name), len(classes), _tensor(x[tr]), torch.from_numpy(codes[tr]),
                              _tensor(x[va]), torch.from_numpy(codes[va]),
                              _tensor(np.asarray(task.test_inputs)), torch.from_numpy(te_codes)))
    return out


def batch_stream(seed: int, task: str, n: int, batch: int, steps: int) -> np.ndarray:
    """(steps, batch) sample indices of ``task``'s training set: consecutive seeded permutations.

    Depends only on (seed, task, n, batch, steps), so every arm draws the same stream for a task.
    """
    rng = np.random.default_rng(derive_seed(seed, "batches", task))
    need = steps * batch
    parts, have = [], 0
    while have < need:
        parts.append(rng.permutation(n))
        have += n
    return np.concatenate(parts)[:need].reshape(steps, batch)


def new_head(seed: int, task: TaskArrays, feature_dim: int):
    """``nn.Linear(feature_dim, C_t)`` initialised from (seed, task name)."""
    from torch import nn

    with seeded_torch(derive_seed(seed, "head", task.name)):
        return nn.Linear(feature_dim, task.n_classes)


def make_trunk(trunk: Callable[[], object], seed: int, sample):
    """The trunk built by ``trunk()`` under seed ``s`` (channels-last) and its feature size."""
    import torch

    with seeded_torch(derive_seed(seed, "trunk")):
        body = trunk()
    body = body.to(memory_format=torch.channels_last)
    with torch.no_grad():
        body.eval()
        dim = int(body(sample[:2]).shape[1])
    body.train()
    return body, dim


def accuracy_and_loss(body, head, x, y, *, batch_size: int = 512) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of ``head(body(x))`` against codes ``y``, in eval mode."""
    import torch
    import torch.nn.functional as F

    was = body.training
    body.eval()
    with torch.no_grad():
        logits = torch.cat([head(body(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])
    body.train(was)
    loss = float(F.cross_entropy(logits, y, reduction="mean"))
    return float((logits.argmax(1) == y).double().mean()), loss


def arrays_key(data: Sequence[TaskArrays], *parts: object) -> str:
    """A short hash of the tasks' tensors and ``parts`` (budget, trunk description): the cache key.

    :func:`transfergraph.planner.common.fingerprint.arrays_key` over each task's name and six tensors,
    then ``repr`` of each part (a dataclass by its fields)."""
    items: list[bytes | np.ndarray] = []
    for t in data:
        items.append(t.name.encode())
        items += [a.contiguous().numpy() for a in (t.train_x, t.train_y, t.val_x, t.val_y, t.test_x, t.test_y)]
    items += [repr(asdict(p) if hasattr(p, "__dataclass_fields__") else p).encode() for p in parts]
    return content_key(*items)
