"""The unit of work: one job per (source, pool), carrying every target cut from that pool.

:func:`run_job` is a plain function (no Ray): it forwards the union of the targets' distinct samples
once, slices the outputs per target and computes every requested metric. Any exception (in the
forward pass, in a transform, in a metric) becomes ``failed`` rows for exactly the pairs it affects;
:func:`run_job` itself never raises. Jobs are built complete and frozen by :mod:`.planning`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

import numpy as np

from transfergraph.planner.common.checks import encode_labels
from transfergraph.planner.common.exceptions import FeatureError
from transfergraph.planner.metrics._registry import MetricInput
from transfergraph.planner.runtime.forward import torch_threads
from transfergraph.planner.scoring.errors import error_text
from transfergraph.planner.scoring.keys import PoolKey, SourceKey
from transfergraph.planner.scoring.outputs import job_outputs
from transfergraph.planner.scoring.payload import ModelPayload
from transfergraph.planner.scoring.reference import RefSpec, build_reference, linear_head
from transfergraph.planner.scoring.rows import ScoreRow
from transfergraph.planner.scoring.streamed import log_softmax64 as _log_softmax64, may_stream as _may_stream
from transfergraph.planner.scoring.streamed import score_streamed, streamed_names

__all__ = ["TargetSpec", "Job", "run_job", "error_text", "failed_rows", "union_rows"]

#: Input kinds for which a job captures the model's features.
_FEATURE_INPUTS = frozenset({MetricInput.FEATURES, MetricInput.FEATURES_REFERENCE})


@dataclass(frozen=True, eq=False)
class TargetSpec:
    """One target of a job: its rows in the pool, its labels and the metrics still to compute.

    ``metrics`` holds ``(metric_name, seed_or_None)`` pairs; ``keys`` the matching cache keys.
    """

    name: str
    index: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    metrics: tuple[tuple[str, int | None], ...]
    keys: tuple[str | None, ...]


def union_rows(targets: Iterable[TargetSpec], metric_objects: Mapping[str, Any],
               reference: RefSpec | None) -> np.ndarray:
    """Sorted distinct pool rows a job forwards: its targets' rows, plus its source's reference
    sample when a metric needs one (input kind "features+reference") and it lives in the same pool."""
    targets = list(targets)
    inputs = {metric_objects[m].input for t in targets for m, _ in t.metrics}
    ref = reference if MetricInput.FEATURES_REFERENCE in inputs else None
    extra = [ref.index] if ref is not None and ref.kind == "task" else []
    return np.unique(np.concatenate([t.index for t in targets] + extra))


@dataclass(frozen=True, eq=False)
class Job:
    """Score one source against several targets that share one pool (built complete, never changed).

    ``shared_keys`` names the two shared objects the executor passes as extra arguments:
    the source's :class:`ModelPayload` and the pool array.
    """

    source: str
    source_key: SourceKey
    pool_key: PoolKey
    targets: tuple[TargetSpec, ...]
    metric_objects: Mapping[str, Any] = field(repr=False)
    union: np.ndarray = field(repr=False)  # sorted distinct pool rows forwarded (see union_rows)
    threads: int | None = None  # torch threads for the forward pass; None -> 1 (see run_job)
    reference: RefSpec | None = None  # the source's reference sample (metrics with input "features+reference")
    batch_size: int = 256
    device: str | None = None  # None: where the model is
    num_workers: int = 0  # DataLoader reader processes for lazy pools
    store_dir: str | None = None  # forward-output store root (transfergraph.planner.storage.output_store); None: no store
    store_key: str | None = None
    sample_ids: np.ndarray | None = field(default=None, repr=False)  # ids of the union rows (content pools)
    model_fp: str | None = None  # the source's fingerprint (set when a cache is used)

    @property
    def shared_keys(self) -> tuple[SourceKey, PoolKey]:
        return (self.source_key, self.pool_key)

    @property
    def batch_key(self) -> SourceKey:
        """Jobs of one source may share an executor task (its model is then loaded once for them;
        :mod:`transfergraph.planner.executors.batching`)."""
        return self.source_key

    @property
    def batch_cost(self) -> int:
        """The job's size for batching: the distinct samples it forwards (or reads back)."""
        return int(len(self.union))

    @property
    def n_pairs(self) -> int:
        """(source, target) pairs this job computes (each with one or more metrics)."""
        return len(self.targets)

    @property
    def inputs(self) -> frozenset:
        """The input kinds of the metrics this job computes."""
        return frozenset(self.metric_objects[m].input for t in self.targets for m, _ in t.metrics)


def _version(job: Job, name: str) -> str:
    return str(getattr(job.metric_objects[name], "version", ""))


def failed_rows(job: Job, error: str) -> list[ScoreRow]:
    """A ``failed`` row for every pair of ``job``, all with the same error text."""
    return [
        ScoreRow.failed(job.source, t.name, name, error=error, metric_version=_version(job, name), key=t.keys[i])
        for t in job.targets for i, (name, _) in enumerate(t.metrics)
    ]


def run_job(job: Job, payload: ModelPayload, pool: np.ndarray) -> list[ScoreRow]:
    """Forward once, then score every (target, metric) of ``job``.

    Returns one :class:`ScoreRow` per (target, metric). ``seconds`` = the metric's own time plus the
    forward time shared out over the targets in proportion to their sample counts (and evenly over
    metrics).
    """
    inputs = job.inputs
    ref = job.reference if MetricInput.FEATURES_REFERENCE in inputs else None
    union = job.union
    head = None
    try:
        model = payload.load()
    except Exception as exc:  # noqa: BLE001 - a source that cannot be rebuilt here fails its pairs, not the run
        return failed_rows(job, error_text(exc, f"source {job.source!r} could not be loaded: "))
    try:
        if ref is not None:
            head = linear_head(model, payload.feature_layer)
        # One torch thread unless the executor asks for more (the local executor does not): a
        # model's matrix products split their sums by thread count, so its logits would depend on
        # the executor (measured: the CNAPs-style adapted models' Mahalanobis head).
        with torch_threads(job.threads or 1):
            out = job_outputs(job, payload, pool, union, bool(inputs & _FEATURE_INPUTS), lazy=_may_stream(job))
    except Exception as exc:  # noqa: BLE001 - a broken source/task fails its pairs, not the run
        shape = tuple(pool.shape[1:]) if hasattr(pool, "shape") else f"(lazy {type(pool).__name__})"
        return failed_rows(job, error_text(exc, f"forward of source {job.source!r} on inputs of shape {shape} failed: "))
    from transfergraph.planner.runtime.threads import blas_threads

    # One BLAS thread for the metrics wherever the job runs (the driver for "local", a Ray worker, a
    # cluster node): OpenBLAS splits long dot products and some factorizations by thread count, so
    # the last bits of a score would otherwise depend on the executor (measured: Z=30,000 row dots).
    with blas_threads(1):
        return _score_targets(job, out, union, head)


def _score_targets(job: Job, out: Any, union: np.ndarray, head: Any = None) -> list[ScoreRow]:
    """Every (target, metric) row of ``job`` from the forward outputs ``out`` over the ``union`` rows."""
    total = sum(len(t.index) for t in job.targets)
    union_log_probs = None  # log-softmax is row-wise: computed once over the union, sliced per target
    shared_ref: list[Any] = []  # a task reference is built once per job and shared by its targets
    bad_logits = bad_features = None  # rows of the union whose model outputs are not finite
    rows = []
    streamed = streamed_names(job, out)  # metrics read from the store in row blocks (.streamed)
    for target in job.targets:
        in_memory = any(m not in streamed for m, _ in target.metrics)
        pos = np.searchsorted(union, target.index) if in_memory else None
        class_counts = np.bincount(encode_labels(target.labels, func="score")[0])
        share = out.seconds * len(target.index) / total / max(len(target.metrics), 1)
        blocks = score_streamed(job, out, union, target, streamed, _on_bad(job, target, union)) if streamed else {}
        for i, (name, seed) in enumerate(target.metrics):
            metric = job.metric_objects[name]
            start = time.perf_counter()
            extra: dict[str, Any] = {}
            width = None
            try:
                if name in blocks:
                    if isinstance(blocks[name], BaseException):
                        raise blocks[name]
                    value, width, seconds = blocks[name]
                    start -= seconds  # the metric's share of its streamed passes
                elif metric.input == MetricInput.FEATURES_REFERENCE:
                    value, extra = _reference_metric(job, metric, out, union, head, pos, target, seed, shared_ref)
                elif metric.input == MetricInput.PROBS:
                    if union_log_probs is None:
                        union_log_probs = _log_softmax64(out.logits)
                        bad_logits = np.isnan(union_log_probs).any(axis=1)  # NaN or +inf logits, all -inf rows
                    _check_outputs(bad_logits, pos, target, job, "logits")
                    value = metric(union_log_probs[pos], target.labels, log_probs=True)
                elif out.features is None:
                    raise FeatureError(out.feature_error or "features unavailable")
                else:
                    if bad_features is None:
                        bad_features = ~np.isfinite(out.features).all(axis=1)
                    _check_outputs(bad_features, pos, target, job, "features")
                    opts = {} if seed is None else {"seed": seed}
                    value = metric(out.features[pos], target.labels, **opts)
                value = float(value)
                if not math.isfinite(value):
                    raise FloatingPointError(f"metric {name!r} returned a non-finite score ({value})")
                if width is None:
                    width = (union_log_probs if metric.input == MetricInput.PROBS else out.features).shape[1]
                flag = _flag(metric, len(target.index), width, class_counts)
                if extra.get("tta_vacuous"):  # a valid but uninformative bound: say so next to the score
                    flag = "; ".join(f for f in (flag, "vacuous: bound >= H(Y), no better than the label prior") if f)
                row = ScoreRow.ok(job.source, target.name, name, score=value, flag=flag,
                                  metric_version=_version(job, name), key=target.keys[i], extra=extra)
            except Exception as exc:  # noqa: BLE001 - one metric failing fails only its pair
                row = ScoreRow.failed(job.source, target.name, name, error=error_text(exc, f"metric {name!r} failed: "),
                                      metric_version=_version(job, name), key=target.keys[i])
            rows.append(replace(row, seconds=share + time.perf_counter() - start))
    return rows


def _reference_metric(job, metric, out, union, head, pos, target, seed, shared_ref) -> tuple[float, dict]:
    """Score of a "features+reference" metric and its extra columns (from its ``return_terms`` result)."""
    if out.features is None:
        raise FeatureError(out.feature_error or "features unavailable")
    spec = job.reference if job.reference is not None else RefSpec("none", error="no reference resolved")
    if spec.kind == "pseudo":
        ref = build_reference(spec, head, out, union, pos)
    else:
        if not shared_ref:
            shared_ref.append(build_reference(spec, head, out, union, pos))
        ref = shared_ref[0]
    options = {"seed": seed} if seed is not None else {}
    terms = metric(out.features[pos], target.labels, reference=ref, return_terms=True, **options)
    return -float(terms.bound), terms.columns()


def _check_outputs(bad_rows: np.ndarray, pos: np.ndarray, target: TargetSpec, job: Job, what: str) -> None:
    """Raise a :class:`SourceOutputError` naming the source model, the target sample and where the
    outputs came from when the model's ``what`` ("logits" or "features") are not finite for some of the
    target's rows (the metric's own check would name only its internal argument): the forward batch (of
    ``job.batch_size`` rows) without a store; with the forward-output store, the row and the store
    (its rows may come from earlier runs, forwarded in other batches)."""
    bad = np.flatnonzero(bad_rows[pos])
    if len(bad):
        raise _bad_outputs(job, target, what, len(bad), int(bad[0]), int(pos[int(bad[0])]), len(bad_rows))


def _on_bad(job: Job, target: TargetSpec, union: np.ndarray) -> Any:
    """The streamed path's callback for non-finite outputs: raises what :func:`_check_outputs` raises."""
    def raise_bad(what: str, n_bad: int, first: int) -> None:
        union_row = int(np.searchsorted(union, target.index[first]))
        raise _bad_outputs(job, target, what, n_bad, first, union_row, len(union))

    return raise_bad


def _bad_outputs(job: Job, target: TargetSpec, what: str, n_bad: int, first: int, union_row: int,
                 n: int) -> "SourceOutputError":
    """The error for ``n_bad`` target rows of non-finite ``what``, the first at target row ``first``
    (row ``union_row`` of the ``n`` union rows)."""
    size = job.batch_size
    if job.store_dir is None:
        batch = union_row // size
        where = (f"in forward batch {batch} of {size} rows (rows {batch * size}-{min((batch + 1) * size, n) - 1} "
                 f"of the {n} distinct samples this job forwarded, in their sorted order)")
    else:
        where = (f"row {union_row} of the {n} distinct samples of this job (in their sorted order), as stored "
                 f"in the forward-output store under {job.store_dir!r}")
    return SourceOutputError(
        f"source model {job.source!r} returned non-finite {what} (NaN or inf) for {n_bad} of the "
        f"{len(target.index)} samples of target {target.name!r}; first: target sample {first} (input row "
        f"{int(target.index[first])}), {where}. Check the model's weights and its inputs there."
    )


class SourceOutputError(FloatingPointError):
    """A source model's outputs (logits or features) are NaN or inf on some target samples."""


def _flag(metric: Any, n: int, width: int, class_counts: np.ndarray) -> str:
    """The metric's regime flag for this pair; a failing regime check is reported, never fatal."""
    try:
        return metric.flag(n, width, class_counts)
    except Exception as exc:  # noqa: BLE001 - the score itself is fine: keep it
        return error_text(exc, "flag unavailable: ")
