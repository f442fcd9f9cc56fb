"""Streamed metrics of a scoring job: each target's outputs read from the forward-output store in row blocks.

When a job's outputs come from the store (``score(cache=...)``), the metrics of
:data:`transfergraph.planner.metrics.streaming.STREAMED` (LEEP, NCE, H-score, shrinkage H-score, LogME)
never see the whole (n, Z) logits or (n, d) features: :func:`score_streamed` reads a target's rows block
by block (:data:`BLOCK_BYTES` of float64 at most, in the target's row order; the block height follows
the stored width, read from the shard's header), once per pass of the accumulators of
:mod:`transfergraph.planner.metrics.streaming` (LEEP's second pass reuses the log-probabilities of
a target that fits in one block instead of reading them again), whose values are bitwise those of the
in-memory functions, except LogME's: equal to 1e-12 relative when n >= d (its Gram matrix is summed
per block instead of in one BLAS product; :mod:`transfergraph.planner.metrics.streaming_logme`), so a
run with a cache and one without may differ in LogME's last bits (never between executors).

A job's memory is then O(block + |Y| Z + d^2 + 16 MiB) (the last term: the covariance's row block, the
in-memory kernels' own, kept so that its sums are bitwise theirs) plus its per-sample integers (label
codes, store locations: about 20 bytes per sample, measured in ``benchmarks/RESULTS.md``). Metrics
without a streamed path, and jobs without a store (whose outputs exist only in memory: LEEP and the
covariances need a second pass over them), read the whole arrays as before.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import numpy as np

from transfergraph.planner.common.exceptions import FeatureError, InputError
from transfergraph.planner.common.labels import check_labels
from transfergraph.planner.metrics._registry import MetricInput
from transfergraph.planner.metrics.streaming import STREAMED, GaussianAccumulator, LeepAccumulator, NceAccumulator
from transfergraph.planner.metrics.streaming_logme import LogmeAccumulator

__all__ = ["score_streamed", "streamed_names", "may_stream", "log_softmax64", "BLOCK_BYTES", "MAX_BLOCK_ROWS",
           "ENABLED"]

#: Largest block read from the store, in bytes of float64 at the output's width.
BLOCK_BYTES = 1 << 20
#: Most rows per block (small outputs: more rows would only grow memory).
MAX_BLOCK_ROWS = 4096
#: Stream from the store when True (default). Tests and ``benchmarks/streamed_metrics_memory.py`` set
#: it to False to run the in-memory path on the same store.
ENABLED = True

#: A callback raising the job's "non-finite outputs" error: (what, rows bad, first bad target row).
OnBad = Callable[[str, int, int], None]


def log_softmax64(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (each row's values depend on that row only)."""
    from scipy.special import log_softmax

    return log_softmax(np.asarray(logits, dtype=np.float64), axis=1)


def may_stream(job: Any) -> bool:
    """Whether ``job`` streams some metric: it has a store and asks for a metric of ``STREAMED``."""
    return ENABLED and job.store_dir is not None and any(m in STREAMED for t in job.targets for m, _ in t.metrics)


def streamed_names(job: Any, out: Any) -> frozenset[str]:
    """The metrics of ``job`` computed by :func:`score_streamed` for outputs ``out`` (outputs left in
    the store, see :func:`transfergraph.planner.scoring.outputs.job_outputs`)."""
    if not ENABLED or not hasattr(out, "rows"):
        return frozenset()
    return frozenset(m for t in job.targets for m, _ in t.metrics if m in STREAMED)


def _blocks(out: Any, kind: str, union: np.ndarray, index: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(first target row, stored ``kind`` rows) for consecutive blocks of the target's rows ``index``."""
    lo, rows = 0, None
    while lo < len(index):
        if rows is None:  # the block height follows the outputs' width
            width = getattr(out.rows, "width", None)
            width = width(kind) if width is not None else out.rows.read(kind, np.searchsorted(union, index[:1])).shape[1]
            rows = max(1, min(MAX_BLOCK_ROWS, BLOCK_BYTES // (8 * width)))
        part = index[lo:lo + rows]
        yield lo, out.rows.read(kind, np.searchsorted(union, part))
        lo += len(part)


def _labels(target: Any, names: list[str], x_arg: str, errors: dict) -> tuple[np.ndarray, int] | None:
    """Label codes and class count of ``target``, checked as each metric checks them; on failure, each
    metric's own error (its name in the message) goes to ``errors`` and None is returned."""
    n = len(target.index)
    try:
        return check_labels(target.labels, n, func=names[0], x_arg=x_arg)
    except InputError:
        for name in names:
            try:
                check_labels(target.labels, n, func=name, x_arg=x_arg)
            except InputError as exc:
                errors[name] = exc
        return None


class _BadRows:
    """Counts the rows of non-finite outputs over the blocks of pass 1 (and the first one)."""

    def __init__(self) -> None:
        self.n, self.first = 0, -1

    def add(self, lo: int, bad: np.ndarray) -> bool:
        """Record a block's bad-row mask; True while no bad row has been seen."""
        if bad.any():
            self.first = self.first if self.n else lo + int(np.flatnonzero(bad)[0])
            self.n += int(bad.sum())
        return not self.n


def _finish_pass_one(bad: _BadRows, what: str, on_bad: OnBad, names: list[str], errors: dict, results: dict) -> bool:
    """After pass 1: the job's non-finite-outputs error fails every metric of the group (it comes first,
    as in memory), else label errors fail their metrics. True when the metrics can be finished."""
    if bad.n:
        try:
            on_bad(what, bad.n, bad.first)
        except Exception as exc:  # noqa: BLE001 - fails this input kind's metrics
            results.update({name: exc for name in names})
            return False
    results.update(errors)
    return not errors


def _probs(out: Any, union: np.ndarray, target: Any, names: list[str], on_bad: OnBad, results: dict) -> None:
    errors: dict[str, BaseException] = {}
    labels = _labels(target, names, "probs", errors)
    n = len(target.index)
    accs: dict[str, Any] = {}
    if labels is not None:
        codes, k = labels
        if "leep" in names:
            accs["leep"] = LeepAccumulator(n, k, log_probs=True)
        if "nce" in names:
            accs["nce"] = NceAccumulator(k, log_probs=True)
    bad, width = _BadRows(), 0
    whole = None  # the target's log-probabilities when they came in one block: pass 2 reuses them
    for lo, logits in _blocks(out, "logits", union, target.index):
        lp = log_softmax64(logits)
        whole = lp if lo == 0 and len(lp) == n else None
        width = lp.shape[1]
        if not bad.add(lo, np.isnan(lp).any(axis=1)):  # NaN or +inf logits, all -inf rows (as in memory)
            continue
        for name, acc in list(accs.items()):
            try:
                (acc.add_joint if name == "leep" else acc.add)(lp, codes[lo:lo + len(lp)])
            except Exception as exc:  # noqa: BLE001 - fails only this metric
                errors[name] = exc
                del accs[name]
    _finish_pass_one(bad, "logits", on_bad, names, errors, results)
    if bad.n or labels is None:
        return
    if "leep" in accs:
        try:
            blocks = ((lo, log_softmax64(logits)) for lo, logits in _blocks(out, "logits", union, target.index))
            for lo, lp in ([(0, whole)] if whole is not None else blocks):
                accs["leep"].add_likelihood(lp, codes[lo:lo + len(lp)])
        except Exception as exc:  # noqa: BLE001
            results["leep"] = exc
            del accs["leep"]
    for name, acc in accs.items():
        try:
            results[name] = (acc.value(), width)
        except Exception as exc:  # noqa: BLE001
            results[name] = exc


def _features(out: Any, union: np.ndarray, target: Any, names: list[str], on_bad: OnBad, results: dict) -> None:
    if out.features_unavailable:
        results.update({name: FeatureError(out.feature_error or "features unavailable") for name in names})
        return
    errors: dict[str, BaseException] = {}
    labels = _labels(target, names, "features", errors)
    n = len(target.index)
    gaussian = [m for m in names if m in ("h_score", "reg_h_score")]
    acc = evidence = None
    if labels is not None:
        codes, k = labels
        acc = GaussianAccumulator(n, k, func=gaussian[0]) if gaussian else None
        evidence = LogmeAccumulator(n, k) if "logme" in names else None
    bad, width = _BadRows(), 0
    for lo, feats in _blocks(out, "features", union, target.index):
        width = feats.shape[1]
        if not bad.add(lo, ~np.isfinite(feats).all(axis=1)) or labels is None:
            continue
        part = codes[lo:lo + len(feats)]
        if acc is not None:
            acc.add_means(feats, part)
        if evidence is not None:
            evidence.add(feats, part)
    if not _finish_pass_one(bad, "features", on_bad, names, errors, results):
        return
    if evidence is not None:
        try:
            results["logme"] = (evidence.value(), width)
        except Exception as exc:  # noqa: BLE001 - fails only LogME
            results["logme"] = exc
    if acc is None:
        return
    for _, feats in _blocks(out, "features", union, target.index):
        acc.add_covariance(feats)
    for name in gaussian:
        results[name] = (acc.h_score() if name == "h_score" else acc.reg_h_score(), width)


def score_streamed(job: Any, out: Any, union: np.ndarray, target: Any, names: frozenset[str],
                   on_bad: OnBad) -> dict[str, tuple[float, int, float] | BaseException]:
    """Streamed values of the metrics ``names`` requested for ``target``.

    Returns ``{metric: (value, width, seconds) or the exception that failed it}``; ``width`` is Z
    or d (for the regime flag), ``seconds`` the metric's share of its group's time (metrics of one
    input kind share their passes). ``on_bad(what, n_bad, first)`` raises the job's error for
    non-finite outputs, which then fails every metric of that input kind, as in memory.
    """
    results: dict[str, Any] = {}
    wanted = [m for m, _ in target.metrics if m in names]
    for kind, run in ((MetricInput.PROBS, _probs), (MetricInput.FEATURES, _features)):
        group = [m for m in wanted if job.metric_objects[m].input == kind]
        if not group:
            continue
        start = time.perf_counter()
        try:
            run(out, union, target, group, on_bad, results)
        except Exception as exc:  # noqa: BLE001 - a failing group fails its metrics, not the job
            for name in group:
                results.setdefault(name, exc)  # computed values and metric-specific errors stay
        share = (time.perf_counter() - start) / len(group)
        for name in group:
            if isinstance(results.get(name), tuple):
                value, width = results[name]
                results[name] = (value, width, share)
    return results
