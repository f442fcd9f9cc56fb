"""Reference samples for metrics whose input kind is "features+reference" (the TTA bound).

Driver side (:func:`resolve_references`): each source's reference is, in order, an explicit
``Source(reference=Task)``, the opt-in ``Source(reference="pseudo")``, or the source's own task
(``Source(task=A)`` with task A among the scored tasks). Its samples join the content pools, so a job
forwards them in the same pass as its targets (once per source and pool; nothing is forwarded
twice). A source with none of these gets a spec carrying the error its pairs fail with.

Job side (:func:`build_reference`): the reference features are sliced from the job's forward
output, the head is the model's last ``nn.Linear`` when it really produces the logits from the
features (checked on the reference rows), else a logistic head is fitted on the reference features.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from transfergraph.planner.common.exceptions import FeatureError, ScoreError

from transfergraph.planner.common.fingerprint import combine
from transfergraph.planner.common.tensors import to_numpy
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.metrics._registry import MetricInput

__all__ = ["RefSpec", "resolve_references", "reference_tasks", "build_reference", "data_fingerprint", "NO_REFERENCE"]

NO_REFERENCE = (
    "tta needs a reference sample: set Source(task=...) to a task among the scored tasks, "
    "Source(reference=Task(...)) (e.g. a labelled sample of the model's training data), or "
    "Source(reference='pseudo') (the target labelled by the source's argmax; unvalidated)"
)


@dataclass
class RefSpec:
    """Where one source's reference sample lives: rows of a pool, "pseudo", or an error."""

    kind: str  # "task", "pseudo" or "none"
    name: str = ""
    pool: int = -1
    index: np.ndarray = field(default=None, repr=False)
    labels: np.ndarray = field(default=None, repr=False)
    fingerprint: str = ""
    error: str = ""


def reference_tasks(sources: Sequence[Source], tasks: Sequence[Task]) -> list[Task]:
    """Explicit reference tasks that are not themselves among ``tasks`` (they join the pools)."""
    ids = {id(t) for t in tasks}
    out: list[Task] = []
    for s in sources:
        ref = getattr(s, "reference", None)
        if isinstance(ref, Task) and id(ref) not in ids:
            ids.add(id(ref))
            out.append(ref)
    return out


def resolve_references(sources: Sequence[Source], views: Sequence[Any]) -> dict[str, RefSpec]:
    """Source name -> its :class:`RefSpec`; ``views`` are the pool views of targets and reference tasks."""
    by_id = {id(v.task): v for v in views}
    by_name: dict[str, Any] = {}
    for v in views:
        by_name.setdefault(v.task.name, v)
    out = {}
    for s in sources:
        ref = getattr(s, "reference", None)
        if ref == "pseudo":
            out[s.name] = RefSpec("pseudo", name="pseudo", fingerprint="pseudo")
            continue
        view = by_id.get(id(ref)) if isinstance(ref, Task) else by_name.get(s.task) if s.task else None
        if view is None:
            why = (f"source {s.name!r} has task={s.task!r}, which is not among the scored tasks; "
                   if s.task else f"source {s.name!r} is an external model without a reference; ")
            out[s.name] = RefSpec("none", error=why + NO_REFERENCE)
            continue
        out[s.name] = RefSpec("task", view.task.name, view.pool, view.index, view.task.labels, view.fingerprint)
    return out


def data_fingerprint(target_fp: str, metric: Any, spec: RefSpec | None) -> str:
    """The cache's data fingerprint of a pair: the target's, plus the reference's for reference metrics."""
    if getattr(metric, "input", "") != MetricInput.FEATURES_REFERENCE:
        return target_fp
    return combine("with-reference", target_fp, spec.fingerprint if spec is not None else "none")


def linear_head(model: Any, feature_layer: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(W, c) of the model's last ``nn.Linear`` when the features are its input, else None."""
    from transfergraph.planner.runtime.forward import feature_module

    module, take_input = feature_module(model, feature_layer)
    if module is None or take_input is not True:
        return None
    w = to_numpy(module.weight.double())
    c = to_numpy(module.bias.double()) if module.bias is not None else np.zeros(w.shape[0])
    return w, c


def _consistent(head: tuple[np.ndarray, np.ndarray] | None, feats: np.ndarray, logits: np.ndarray) -> bool:
    """Whether features @ W.T + c reproduces the model's logits (the last Linear is the output layer)."""
    if head is None or head[0].shape != (logits.shape[1], feats.shape[1]):
        return False
    pred = feats.astype(np.float64) @ head[0].T + head[1]
    scale = max(1.0, float(np.abs(logits).max()))
    return bool(np.abs(pred - logits).max() <= 1e-3 * scale)


def build_reference(spec: RefSpec, head: Any, out: Any, union: np.ndarray, target_pos: np.ndarray) -> Any:
    """The :class:`transfergraph.planner.metrics.Reference` of one pair, from the job's forward output ``out``.

    Raises :class:`~transfergraph.planner.common.exceptions.ScoreError` with the spec's error when the source has no
    reference (:class:`~transfergraph.planner.common.exceptions.FeatureError` when features could not be captured).
    """
    from transfergraph.planner.metrics import Reference

    if spec.kind == "none":
        raise ScoreError(spec.error)
    if out.features is None:
        raise FeatureError(out.feature_error or "features unavailable")
    if spec.kind == "pseudo":
        feats, logits = out.features[target_pos], out.logits[target_pos]
        if not _consistent(head, feats, logits):
            raise ScoreError("reference='pseudo' needs the model's last nn.Linear to map the features to the logits")
        return Reference.pseudo(feats, logits, head[0], head[1])
    pos = np.searchsorted(union, spec.index)
    feats, logits = out.features[pos], out.logits[pos]
    if _consistent(head, feats, logits):
        return Reference(feats, spec.labels, head[0], head[1], name=spec.name)
    return Reference(feats, spec.labels, name=spec.name)  # no usable head: a logistic head is fitted
