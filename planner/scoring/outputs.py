"""A job's forward outputs: read back from the forward-output store, forwarding only what is missing.

:func:`job_outputs` is the single place where a scoring job obtains logits and features for the
union of its targets' rows. Without a store it is one :func:`planner.forward.forward` call. With a
store (:class:`planner.output_store.ForwardStore`) the rows already stored for this (model, dataset)
are read from disk, the others are forwarded once and added to the store as a new shard; features
are then always captured, so that a feature-based metric added later reads them back too.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..forward import ForwardOutput, forward
from ..output_store import ForwardStore

__all__ = ["job_outputs", "job_union", "attach_forward_options"]


def job_union(job: Any) -> np.ndarray:
    """Sorted distinct pool rows a job forwards: its targets' rows, plus its source's reference
    sample when a metric needs one (input kind "features+reference") and it lives in the same pool."""
    inputs = {job.metric_objects[m].input for t in job.targets for m, _ in t.metrics}
    ref = getattr(job, "reference", None) if "features+reference" in inputs else None
    extra = [ref.index] if ref is not None and ref.kind == "task" else []
    return np.unique(np.concatenate([t.index for t in job.targets] + extra))


def _forward(job: Any, payload: Any, pool: Any, rows: np.ndarray, want_features: bool) -> ForwardOutput:
    return forward(
        payload.load(), pool, rows, transform=payload.transform, feature_layer=payload.feature_layer,
        pooling=getattr(payload, "pooling", None), want_features=want_features,
        batch_size=job.batch_size, device=job.device, num_workers=job.num_workers,
    )


def job_outputs(job: Any, payload: Any, pool: Any, union: np.ndarray, want_features: bool) -> ForwardOutput:
    """Logits (and features when wanted) of ``pool`` rows ``union``, in that order.

    ``job.store_dir``/``job.store_key`` name the store (None: no store); ``job.sample_ids`` are the
    ids of the union rows (content digests for in-memory pools; None: the rows themselves).
    """
    if job.store_dir is None:
        return _forward(job, payload, pool, union, want_features)
    start = time.perf_counter()
    store = ForwardStore(job.store_dir, job.store_key)
    ids = job.sample_ids if job.sample_ids is not None else union
    found, stored = store.lookup(ids, want_features)
    if found.all():
        return ForwardOutput(stored["logits"], stored["features"], stored["feature_error"],
                             time.perf_counter() - start)
    if not want_features:  # a forward is needed: capture features too, for any feature metric added later
        want_features = True
        found, stored = store.lookup(ids, want_features)
    missing = np.flatnonzero(~found)
    fresh = _forward(job, payload, pool, union[missing], want_features)
    store.write(ids[missing], fresh.logits, fresh.features, fresh.feature_error)
    if not found.any():
        return fresh
    logits = np.empty((len(union),) + fresh.logits.shape[1:], dtype=fresh.logits.dtype)
    logits[missing], logits[found] = fresh.logits, stored["logits"]
    features = None
    if fresh.features is not None and stored["features"] is not None:
        features = np.empty((len(union),) + fresh.features.shape[1:], dtype=fresh.features.dtype)
        features[missing], features[found] = fresh.features, stored["features"]
    error = fresh.feature_error or stored["feature_error"]
    if want_features and features is None and error is None:
        error = "features of the stored rows are unavailable"
    return ForwardOutput(logits, features, error, time.perf_counter() - start)


def attach_forward_options(jobs: list, pools: list, compute: Any, cache_dir: str | None) -> None:
    """Set each job's batch size, device, reader processes and (with a cache) its store entry."""
    import os

    from ..output_store import store_key
    from .engine import SCORING_VERSION

    for job in jobs:
        job.batch_size, job.device, job.num_workers = compute.batch_size, compute.device, compute.num_workers
        if cache_dir is None or job.model_fp is None:
            continue
        pool = pools[int(job.pool_key.split(":")[1])]
        job.store_dir = os.path.abspath(cache_dir)
        job.store_key = store_key(job.model_fp, pool.identity, SCORING_VERSION)
        if pool.sample_ids is not None:
            job.sample_ids = pool.sample_ids[job_union(job)]
