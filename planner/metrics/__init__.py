"""Transferability metrics: pure functions, arrays or tensors in, a float out.

Every metric is "higher = more transferable", computed in float64, deterministic and invariant to
sample order. ``REGISTRY`` maps each name to a :class:`Metric` record (input kind, version,
normalization used by ``score()``, regime of validity, paper link).

Direct calls run BLAS on one thread by default, as ``score()`` does (same bits as the score table, no
oversubscription of a loaded machine); :func:`set_blas_threads` changes that bound.
"""
from __future__ import annotations

import math

from transfergraph.planner.metrics._registry import (
    Metric,
    normalize_by_classes,
    normalize_by_entropy,
    normalize_gbc,
    normalize_minmax,
    normalize_rank,
)
from transfergraph.planner.metrics import _regimes as regimes
from transfergraph.planner.metrics._threads import get_blas_threads, set_blas_threads
from transfergraph.planner.metrics.entropy import label_entropy
from transfergraph.planner.metrics.leep import leep
from transfergraph.planner.metrics.nce import nce
from transfergraph.planner.metrics.hscore import h_score
from transfergraph.planner.metrics.reg_hscore import reg_h_score
from transfergraph.planner.metrics.logme import logme
from transfergraph.planner.metrics.nleep import nleep
from transfergraph.planner.metrics.gbc import gbc
from transfergraph.planner.metrics.transrate import transrate
from transfergraph.planner.metrics.tta import tta
from transfergraph.planner.metrics.tta_reference import Reference, TTATerms

__all__ = [
    "REGISTRY",
    "Metric",
    "leep",
    "nce",
    "h_score",
    "reg_h_score",
    "logme",
    "nleep",
    "gbc",
    "transrate",
    "tta",
    "Reference",
    "TTATerms",
    "label_entropy",
    "set_blas_threads",
    "get_blas_threads",
]


def _entropy_bounds(k: int, h: float) -> tuple[float, float]:
    return (-h, 0.0)


def _class_bounds(k: int, h: float) -> tuple[float, float]:
    return (0.0, float(k - 1))


def _gbc_bounds(k: int, h: float) -> tuple[float, float]:
    return (-float(k * (k - 1)), 0.0)


def _unbounded(k: int, h: float) -> tuple[float, float]:
    return (-math.inf, math.inf)


def _nonpositive(k: int, h: float) -> tuple[float, float]:
    return (-math.inf, 0.0)


def _metric(name, func, input, normalizer, bounds, duplication_invariant, *, regime, invariant, seeded=False, version="2",
            columns=()):
    return Metric(
        name=name,
        func=func,
        input=input,
        version=version,
        seeded=seeded,
        paper=func.__module__ and __import__(func.__module__, fromlist=["PAPER"]).PAPER,
        normalizer=normalizer,
        regime=regime,
        invariant_columns=frozenset(invariant),
        bounds=bounds,
        duplication_invariant=duplication_invariant,
        columns=tuple(columns),
    )


#: name -> Metric. ``version`` is bumped whenever a metric's numbers (or its flags) change: score
#: caches key on it. Version 2: the ``flag`` column (older cached rows have none), GBC's direct
#: off-diagonal sum, LogME's fixed point for n < D.
#:
#: Why each ``normalized`` is comparable across targets: LEEP, NCE and N-LEEP map [-H(Y), 0] to
#: [0, 1] (0 = the label prior's score, 1 = perfect prediction, whatever the label set); H-scores
#: divide by their maximum |Y| - 1 (the fraction of the achievable class separation); GBC's
#: 1 + GBC / (|Y|(|Y|-1)) is one minus the mean pairwise class overlap; LogME and TransRate have no
#: absolute scale (a log evidence per sample, a coding-rate difference that depends on the feature
#: scale), so they are min-max scaled per target: comparable only as the position between that
#: target's best and worst source. Every map first ties scores within TIE_RTOL.
REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        _metric("leep", leep, "probs", normalize_by_entropy, _entropy_bounds, True, regime=regimes.leep_regime, invariant=()),
        _metric("nce", nce, "probs", normalize_by_entropy, _entropy_bounds, True, regime=regimes.nce_regime, invariant=()),
        _metric("h_score", h_score, "features", normalize_by_classes, _class_bounds, True,
                regime=regimes.h_score_regime, invariant=("zero", "constant", "duplicated")),
        _metric("reg_h_score", reg_h_score, "features", normalize_by_classes, _class_bounds, False,
                regime=regimes.reg_h_score_regime, invariant=("zero", "constant")),
        _metric("logme", logme, "features", normalize_minmax, _unbounded, False, regime=regimes.logme_regime, invariant=("zero",)),
        _metric("nleep", nleep, "features", normalize_by_entropy, _entropy_bounds, False, seeded=True,
                regime=regimes.nleep_regime, invariant=("zero", "constant")),
        _metric("gbc", gbc, "features", normalize_gbc, _gbc_bounds, True, regime=regimes.gbc_regime, invariant=("zero", "constant")),
        _metric("transrate", transrate, "features", normalize_minmax, _unbounded, True,
                regime=regimes.transrate_regime, invariant=("zero", "constant")),
        # needs a reference sample too (input "features+reference"); rank-normalized: the certified
        # value is usually vacuous, and a vacuous upper bound is no sign of negative transfer
        _metric("tta", tta, "features+reference", normalize_rank, _nonpositive, False, seeded=True,
                columns=TTATerms(0, 0, 0, 0, 0, 0).columns(), regime=regimes.tta_regime, invariant=("zero", "constant", "duplicated")),
    )
}
