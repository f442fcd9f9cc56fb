"""A job's forward outputs: read back from the forward-output store, forwarding only what is missing.

:func:`job_outputs` is the single place where a scoring job obtains logits and features for the
union of its targets' rows. Without a store it is one :func:`transfergraph.planner.runtime.forward.forward` call. With a
store (:class:`transfergraph.planner.storage.output_store.ForwardStore`) the rows already stored for this (model, dataset)
are read from disk, the others are forwarded once and added to the store as a new shard; features
are then always captured, so that a feature-based metric added later reads them back too.

Memory: with a store, each forward batch goes straight to the new shard's files
(:func:`transfergraph.planner.runtime.forward.forward_batches` into a :class:`~transfergraph.planner.storage.output_store.ShardWriter`); the job
then reads back only what its metrics use (the logits, plus the features only when a feature-based
metric asks for them). So a job never holds the features it captured for the store, nor more than
one batch of the outputs it forwards.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np

from transfergraph.planner.common.exceptions import CacheError
from transfergraph.planner.runtime.forward import ForwardOutput, forward, forward_batches
from transfergraph.planner.storage.output_store import ForwardStore
from transfergraph.planner.storage.stored_rows import StoredRows

__all__ = ["job_outputs", "forward_to_store", "StoredOutputs"]


def _options(job: Any, payload: Any, want_features: bool) -> dict[str, Any]:
    return dict(transform=payload.transform, feature_layer=payload.feature_layer,
                pooling=getattr(payload, "pooling", None), want_features=want_features,
                batch_size=job.batch_size, device=job.device, num_workers=job.num_workers)


def forward_to_store(store: ForwardStore, ids: np.ndarray, model: Any, pool: Any, rows: np.ndarray,
                     options: dict[str, Any]) -> None:
    """Forward ``pool`` rows ``rows`` (named ``ids`` in the store) batch by batch into a new shard of
    ``store``; only the current batch is in memory. A failure leaves no shard (and raises)."""
    with store.writer(ids) as shard, contextlib.closing(forward_batches(model, pool, rows, **options)) as batches:
        for part in batches:
            shard.add(part.lo, part.logits, part.features, part.feature_error)


def job_outputs(job: Any, payload: Any, pool: Any, union: np.ndarray, want_features: bool,
                *, lazy: bool = False) -> ForwardOutput | "StoredOutputs":
    """Logits (and features when wanted) of ``pool`` rows ``union``, in that order.

    ``job.store_dir``/``job.store_key`` name the store (None: no store); ``job.sample_ids`` are the
    ids of the union rows (content digests for in-memory pools; None: the rows themselves). With
    ``lazy`` and a store, the outputs stay on disk: a :class:`StoredOutputs` whose ``rows`` reads row
    blocks (the streamed metrics) and whose ``logits``/``features`` read everything on first use.

    Raises
    ------
    CacheError
        When the store cannot be written or read back.
    """
    start = time.perf_counter()
    if job.store_dir is None:
        return forward(payload.load(), pool, union, **_options(job, payload, want_features))
    store = ForwardStore(job.store_dir, job.store_key)
    ids = job.sample_ids if job.sample_ids is not None else union
    found, rows = store.locate(ids, want_features)
    if not found.all():
        # Capture features too, for any feature metric added later: rows count as missing unless
        # stored with their features (or with the reason the model has none).
        found = store.locate(ids, True)[0] if not want_features else found
        missing = np.flatnonzero(~found)
        del rows
        forward_to_store(store, ids[missing], payload.load(), pool, union[missing], _options(job, payload, True))
        found, rows = store.locate(ids, want_features)
        if not found.all():
            raise CacheError(f"forward-output store {str(store.path)!r} lost {int((~found).sum())} rows "
                             "just written")
    error = rows.feature_error
    if want_features and "features" not in rows.kinds and error is None:
        error = "features of the stored rows are unavailable"
    outputs = StoredOutputs(rows, want_features, error, time.perf_counter() - start)
    if lazy:
        return outputs
    return ForwardOutput(outputs.logits, outputs.features, error, outputs.seconds)


class StoredOutputs:
    """A job's outputs left in the forward-output store (see :func:`job_outputs` with ``lazy``).

    ``rows`` (:class:`~transfergraph.planner.storage.stored_rows.StoredRows`) reads any block of the
    union's rows; ``logits`` and ``features`` (None when not wanted or not stored) read all of them
    on first use, for metrics that do not stream, bitwise as :meth:`ForwardStore.lookup` would.
    """

    def __init__(self, rows: StoredRows, want_features: bool, feature_error: str | None, seconds: float) -> None:
        self.rows, self.feature_error, self.seconds = rows, feature_error, seconds
        self._want_features = want_features
        self._read: dict[str, np.ndarray] = {}

    def _all(self, kind: str) -> np.ndarray:
        if kind not in self._read:
            self._read[kind] = self.rows.read(kind)
        return self._read[kind]

    @property
    def logits(self) -> np.ndarray:
        return self._all("logits")

    @property
    def features_unavailable(self) -> bool:
        """True when ``features`` is None (not wanted, or not stored for every row)."""
        return not self._want_features or "features" not in self.rows.kinds

    @property
    def features(self) -> np.ndarray | None:
        return None if self.features_unavailable else self._all("features")
