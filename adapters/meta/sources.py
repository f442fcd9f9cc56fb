"""Meta-transferred models as planner sources (the two uses of LEEP with meta-transfer)."""
from __future__ import annotations

import numpy as np

from transfergraph.planner import Source, Task
from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.labels import sorted_labels
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.common.exceptions import InputError

from transfergraph.adapters.meta.model import CNAPsModel

__all__ = ["build_meta_sources", "subsample_per_class", "BACKBONE_SOURCE"]

#: name of the meta-trained model's own source classifier among the sources (LEEP predicts its
#: meta-transfer accuracy across targets)
BACKBONE_SOURCE = "cnaps_backbone"


def subsample_per_class(labels: np.ndarray, k: int, seed: int, key: str) -> np.ndarray:
    """Sorted indices of at most ``k`` samples per class, drawn with a generator seeded by (seed, crc32(key))."""
    rng = np.random.default_rng(derive_seed(int(seed), key, scheme="words"))
    keep = []
    for c in sorted_labels(labels.tolist()):
        idx = np.flatnonzero(labels == c)
        keep.extend(idx if len(idx) <= k else rng.choice(idx, size=k, replace=False))
    return np.sort(np.asarray(keep, dtype=np.int64))


def build_meta_sources(model: CNAPsModel, tasks: list[Task], *, context_shots: int | None = None, seed: int = 0,
                       adapted_as: str = "model", backbone_name: str = BACKBONE_SOURCE) -> list[Source]:
    """Sources for both uses of LEEP with a meta-transferred model.

    (i) ``backbone_name``: the frozen backbone with its own source-class head (scored on a target's
    context set, it predicts meta-transfer accuracy). (ii) ``f"cnaps@{task.name}"`` for each task: the
    model adapted (one forward pass) on that task's training split, optionally subsampled to
    ``context_shots`` per class (seeded by ``seed`` and the task name, so independent of task order).
    ``adapted_as="task"`` makes it the task's node (``Source(task=task.name)``, task->task edges);
    ``"model"`` keeps it a model node. Every adapted source sets ``feature_layer="features"``.
    """
    if not isinstance(model, CNAPsModel):
        raise InputError(f"model of build_meta_sources must be a CNAPsModel; got {type(model).__name__}.")
    if adapted_as not in ("model", "task"):
        raise InputError(f"adapted_as of build_meta_sources must be 'model' or 'task'; got {adapted_as!r}.")
    check_scalar(context_shots, "context_shots", int, caller="build_meta_sources", min_val=1, allow_none=True)
    sources = [Source(backbone_name, model.source_classifier())]
    for task in tasks:
        if not isinstance(task, Task):
            raise InputError(f"tasks of build_meta_sources must be transfergraph.planner.Task objects; got {type(task).__name__}.")
        x, y = task.inputs, task.labels
        if context_shots is not None:
            keep = subsample_per_class(y, context_shots, seed, task.name)
            x, y = x[keep], y[keep]
        adapted = model.adapt(x, y)
        sources.append(Source(f"cnaps@{task.name}", adapted, task=task.name if adapted_as == "task" else None,
                              feature_layer="features"))
    return sources
