"""Transferability metrics: pure functions, arrays or tensors in, a float out.

Every metric is "higher = more transferable", computed in float64, deterministic and invariant to
sample order. ``REGISTRY`` maps each name to a :class:`Metric` record (input kind, version,
normalization used by ``score()``, regime of validity, paper link).

Direct calls run BLAS on one thread by default, as ``score()`` does (same bits as the score table, no
oversubscription of a loaded machine); :func:`set_blas_threads` changes that bound.
"""
from __future__ import annotations

from transfergraph.planner.metrics._registry import (
    Metric,
    MetricInput,
    normalize_by_classes,
    normalize_by_entropy,
    normalize_gbc,
    normalize_minmax,
    normalize_rank,
)
from transfergraph.planner.metrics import _regimes as regimes
from transfergraph.planner.metrics.gbc import METRIC as _GBC
from transfergraph.planner.metrics.hscore import METRIC as _H_SCORE
from transfergraph.planner.metrics.leep import METRIC as _LEEP
from transfergraph.planner.metrics.logme import METRIC as _LOGME
from transfergraph.planner.metrics.nce import METRIC as _NCE
from transfergraph.planner.metrics.nleep import METRIC as _NLEEP
from transfergraph.planner.metrics.reg_hscore import METRIC as _REG_H_SCORE
from transfergraph.planner.metrics.transrate import METRIC as _TRANSRATE
from transfergraph.planner.metrics.tta import METRIC as _TTA
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
    "MetricInput",
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


#: name -> Metric, each declared in its own module (its ``METRIC``, every field by keyword).
#: ``version`` is bumped whenever a metric's numbers (or its flags) change: score caches key on it.
#: Version 2: the ``flag`` column (older cached rows have none), GBC's direct
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
    for m in (_LEEP, _NCE, _H_SCORE, _REG_H_SCORE, _LOGME, _NLEEP, _GBC, _TRANSRATE, _TTA)
}
