"""The unit of work: one job per (source, pool), carrying every target cut from that pool.

:func:`run_job` is a plain function (no Ray): it forwards the union of the targets' distinct samples
once, slices the outputs per target and computes every requested metric. Any exception (in the
forward pass, in a transform, in a metric) becomes ``failed`` rows for exactly the pairs it affects;
:func:`run_job` itself never raises.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transfergraph.planner.common.checks import encode_labels
from transfergraph.planner.common.exceptions import FeatureError
from transfergraph.planner.runtime.forward import torch_threads
from transfergraph.planner.scoring.outputs import job_outputs, job_union
from transfergraph.planner.scoring.payload import ModelPayload
from transfergraph.planner.scoring.reference import RefSpec, build_reference, linear_head

__all__ = ["TargetSpec", "Job", "run_job", "error_text", "failed_rows"]

_MAX_ERROR_CHARS = 500


@dataclass
class TargetSpec:
    """One target of a job: its rows in the pool, its labels and the metrics still to compute.

    ``metrics`` holds ``(metric_name, seed_or_None)`` pairs; ``keys`` the matching cache keys.
    """

    name: str
    index: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    metrics: list[tuple[str, int | None]]
    keys: list[str | None]


@dataclass
class Job:
    """Score one source against several targets that share one pool.

    ``shared_keys`` names the two shared objects the executor passes as extra arguments:
    the source's :class:`ModelPayload` and the pool array.
    """

    source: str
    source_key: str
    pool_key: str
    targets: list[TargetSpec]
    metric_objects: dict[str, Any] = field(repr=False)
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
    def shared_keys(self) -> tuple[str, str]:
        return (self.source_key, self.pool_key)

    @property
    def n_pairs(self) -> int:
        """(source, target) pairs this job computes (each with one or more metrics)."""
        return len(self.targets)


def error_text(exc: BaseException, prefix: str = "") -> str:
    """``"Type: message"`` on one line, without a traceback, at most 500 characters."""
    message = str(exc)
    for marker in ("Traceback (most recent call last)", "\ntraceback:"):
        message = message.split(marker, 1)[0]  # Ray errors embed the remote traceback
    message = re.sub(r"\s*traceback:?\s*$", "", " ".join(message.split()), flags=re.IGNORECASE).rstrip(":")
    text = f"{prefix}{type(exc).__name__}: {message}" if message else f"{prefix}{type(exc).__name__}"
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _row(job: Job, target: TargetSpec, i: int, **values: Any) -> dict[str, Any]:
    name, _ = target.metrics[i]
    metric = job.metric_objects[name]
    row = {
        "source": job.source,
        "target": target.name,
        "metric": name,
        "metric_version": str(getattr(metric, "version", "")),
        "key": target.keys[i],
        "score": math.nan,
        "status": "failed",
        "error": "",
        "seconds": 0.0,
    }
    row.update(values)
    return row


def failed_rows(job: Job, error: str) -> list[dict[str, Any]]:
    """A ``failed`` row for every pair of ``job``, all with the same error text."""
    return [_row(job, t, i, error=error) for t in job.targets for i in range(len(t.metrics))]


def _log_softmax64(logits: np.ndarray) -> np.ndarray:
    from scipy.special import log_softmax

    return log_softmax(np.asarray(logits, dtype=np.float64), axis=1)


def run_job(job: Job, payload: ModelPayload, pool: np.ndarray) -> list[dict[str, Any]]:
    """Forward once, then score every (target, metric) of ``job``.

    Returns one row dict per (target, metric) with keys ``source, target, metric, metric_version,
    key, score, status, error, seconds``. ``seconds`` = the metric's own time plus the forward
    time shared out over the targets in proportion to their sample counts (and evenly over metrics).
    """
    inputs = {job.metric_objects[m].input for t in job.targets for m, _ in t.metrics}
    ref = job.reference if "features+reference" in inputs else None
    union = job_union(job)
    head = None
    try:
        model = payload.load()
        if ref is not None:
            head = linear_head(model, payload.feature_layer)
        # One torch thread unless the executor asks for more (the local executor does not): a
        # model's matrix products split their sums by thread count, so its logits would depend on
        # the executor (measured: the CNAPs-style adapted models' Mahalanobis head).
        with torch_threads(job.threads or 1):
            out = job_outputs(job, payload, pool, union, bool(inputs & {"features", "features+reference"}))
    except Exception as exc:  # noqa: BLE001 - a broken source/task fails its pairs, not the run
        shape = tuple(pool.shape[1:]) if hasattr(pool, "shape") else f"(lazy {type(pool).__name__})"
        return failed_rows(job, error_text(exc, f"forward of source {job.source!r} on inputs of shape {shape} failed: "))
    from transfergraph.planner.runtime.threads import blas_threads

    # One BLAS thread for the metrics wherever the job runs (the driver for "local", a Ray worker, a
    # cluster node): OpenBLAS splits long dot products and some factorizations by thread count, so
    # the last bits of a score would otherwise depend on the executor (measured: Z=30,000 row dots).
    with blas_threads(1):
        return _score_targets(job, out, union, head)


def _score_targets(job: Job, out: Any, union: np.ndarray, head: Any = None) -> list[dict[str, Any]]:
    """Every (target, metric) row of ``job`` from the forward outputs ``out`` over the ``union`` rows."""
    total = sum(len(t.index) for t in job.targets)
    union_log_probs = None  # log-softmax is row-wise: computed once over the union, sliced per target
    shared_ref: list[Any] = []  # a task reference is built once per job and shared by its targets
    bad_logits = bad_features = None  # rows of the union whose model outputs are not finite
    rows = []
    for target in job.targets:
        pos = np.searchsorted(union, target.index)
        class_counts = np.bincount(encode_labels(target.labels, func="score")[0])
        share = out.seconds * len(target.index) / total / max(len(target.metrics), 1)
        for i, (name, seed) in enumerate(target.metrics):
            metric = job.metric_objects[name]
            start = time.perf_counter()
            extra: dict[str, Any] = {}
            try:
                if metric.input == "features+reference":
                    value, extra = _reference_metric(job, metric, out, union, head, pos, target, seed, shared_ref)
                elif metric.input == "probs":
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
                width = (union_log_probs if metric.input == "probs" else out.features).shape[1]
                flag = _flag(metric, len(pos), width, class_counts)
                if extra.get("tta_vacuous"):  # a valid but uninformative bound: say so next to the score
                    flag = "; ".join(f for f in (flag, "vacuous: bound >= H(Y), no better than the label prior") if f)
                values = {"score": value, "status": "ok", "flag": flag, **extra}
            except Exception as exc:  # noqa: BLE001 - one metric failing fails only its pair
                values = {"error": error_text(exc, f"metric {name!r} failed: ")}
            values["seconds"] = share + time.perf_counter() - start
            rows.append(_row(job, target, i, **values))
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
    if not len(bad):
        return
    first = int(bad[0])
    union_row = int(pos[first])
    size, n = job.batch_size, len(bad_rows)
    if job.store_dir is None:
        batch = union_row // size
        where = (f"in forward batch {batch} of {size} rows (rows {batch * size}-{min((batch + 1) * size, n) - 1} "
                 f"of the {n} distinct samples this job forwarded, in their sorted order)")
    else:
        where = (f"row {union_row} of the {n} distinct samples of this job (in their sorted order), as stored "
                 f"in the forward-output store under {job.store_dir!r}")
    raise SourceOutputError(
        f"source model {job.source!r} returned non-finite {what} (NaN or inf) for {len(bad)} of the "
        f"{len(pos)} samples of target {target.name!r}; first: target sample {first} (input row "
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
