"""Disjoint shares of a training split: which base rows each task and each trained model may use.

With ``data.disjoint: true`` every consumer of a dataset's training split — each task (its per-task
model trains on the task's rows), each external model the suite trains and the CNAPs-style
meta-trained backbone — draws from its own share of the split, so no model has seen a sample of a
target it is scored on. A task with ``samples_from: OTHER`` draws from OTHER's share instead: a
deliberate overlap (e.g. a noisy copy of another task's images) that the plan's leakage check reports;
an external model with ``samples_from: TASK`` is trained on TASK's share (its classes within it).

Algorithm (deterministic in ``config.seed``): for each class ``c`` of the split, the rows of class ``c``
are permuted with the child seed ``stable_seed(seed, "shares", pool, c)`` and cut into ``m_c``
contiguous, near-equal chunks, where ``m_c`` is the number of consumers that use class ``c`` (in config
order: tasks, external models, then the backbone); consumer ``j`` of class ``c`` takes chunk ``j``. A
consumer's share is the union of its chunks over its classes, sorted. Without ``data.disjoint``
every consumer may use the whole split (``None``).

Checkpoints loaded from disk are not consumers: their training data is unknown.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from transfergraph.jobs.seeds import stable_seed

if TYPE_CHECKING:
    from transfergraph.config import JobConfig

__all__ = ["META_CONSUMER", "share_rows"]

#: the consumer name of the meta-trained backbone (task and model names cannot contain "/")
META_CONSUMER = "models.meta/backbone"


def _consumers(config: "JobConfig", pool: str) -> list[tuple[str, Sequence[Any] | None]]:
    """(name, classes or None for all) of every consumer of ``pool``'s training split, in config order."""
    out: list[tuple[str, Sequence[Any] | None]] = []
    for spec in config.tasks:
        if (spec.dataset or config.data.source) == pool and spec.samples_from is None:
            out.append((spec.name, spec.classes))
    for spec in config.models.external:
        if not spec.checkpoint and spec.samples_from is None and (spec.dataset or config.data.source) == pool:
            out.append((spec.name, spec.classes))
    meta = config.models.meta
    if meta.enabled and not meta.checkpoint and config.data.source == pool:
        out.append((META_CONSUMER, None))
    return out


def share_rows(config: "JobConfig", name: str, dataset: str | None, train_y: np.ndarray) -> np.ndarray | None:
    """Rows of the training split (labels ``train_y``) that consumer ``name`` may use, sorted; ``None``
    when ``data.disjoint`` is off (every row). A task with ``samples_from`` gets its donor's share.

    Raises
    ------
    KeyError
        ``name`` is not a consumer of that split (a programming error: the config validates names).
    """
    if not config.data.disjoint:
        return None
    borrower = next((s for s in [*config.tasks, *config.models.external]
                     if s.name == name and s.samples_from is not None), None)
    if borrower is not None:
        name = borrower.samples_from
        dataset = next((t.dataset for t in config.tasks if t.name == name), dataset)
    pool = dataset or config.data.source
    consumers = _consumers(config, pool)
    if name not in {n for n, _ in consumers}:
        raise KeyError(f"{name!r} does not draw from the training split of {pool!r}")
    y = np.asarray(train_y)
    rows: list[np.ndarray] = []
    for c in sorted(np.unique(y).tolist(), key=lambda v: (str(type(v)), v)):
        users = [n for n, classes in consumers if classes is None or c in list(classes)]
        if name not in users:
            continue
        rng = np.random.default_rng(stable_seed(config.seed, "shares", pool, c))
        idx = rng.permutation(np.flatnonzero(y == c))
        rows.append(np.array_split(idx, len(users))[users.index(name)])
    return np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)
