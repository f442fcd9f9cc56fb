"""Transferability metrics (SPEC §1): pure functions, arrays or tensors in, a float out.

Every metric is "higher = more transferable", computed in float64, deterministic and invariant to
sample order. ``REGISTRY`` maps each name to a :class:`Metric` record (input kind, version,
normalization used by ``score()``, paper link).
"""
from __future__ import annotations

import math

from ._registry import (
    Metric,
    normalize_by_classes,
    normalize_by_entropy,
    normalize_gbc,
    normalize_rank,
)
from .entropy import label_entropy
from .leep import leep
from .nce import nce
from .hscore import h_score
from .reg_hscore import reg_h_score
from .logme import logme
from .nleep import nleep
from .gbc import gbc
from .transrate import transrate
from .tta import tta
from .tta_reference import Reference, TTATerms

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


def _metric(name, func, input, normalizer, bounds, duplication_invariant, *, seeded=False, version="1", columns=()):
    return Metric(
        name=name,
        func=func,
        input=input,
        version=version,
        seeded=seeded,
        paper=func.__module__ and __import__(func.__module__, fromlist=["PAPER"]).PAPER,
        normalizer=normalizer,
        bounds=bounds,
        duplication_invariant=duplication_invariant,
        columns=tuple(columns),
    )


#: name -> Metric. ``version`` is bumped whenever a metric's numbers change (score caches key on it).
REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        _metric("leep", leep, "probs", normalize_by_entropy, _entropy_bounds, True),
        _metric("nce", nce, "probs", normalize_by_entropy, _entropy_bounds, True),
        _metric("h_score", h_score, "features", normalize_by_classes, _class_bounds, True),
        _metric("reg_h_score", reg_h_score, "features", normalize_by_classes, _class_bounds, False),
        _metric("logme", logme, "features", normalize_rank, _unbounded, False),
        _metric("nleep", nleep, "features", normalize_by_entropy, _entropy_bounds, False, seeded=True),
        _metric("gbc", gbc, "features", normalize_gbc, _gbc_bounds, True),
        _metric("transrate", transrate, "features", normalize_rank, _unbounded, True),
        # needs a reference sample too (input "features+reference"); rank-normalized: the certified
        # value is usually vacuous, and a vacuous upper bound is no sign of negative transfer
        _metric("tta", tta, "features+reference", normalize_rank, _nonpositive, False, seeded=True,
                columns=TTATerms(0, 0, 0, 0, 0, 0).columns()),
    )
}
