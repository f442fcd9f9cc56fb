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
    "label_entropy",
]


def _entropy_bounds(k: int, h: float) -> tuple[float, float]:
    return (-h, 0.0)


def _class_bounds(k: int, h: float) -> tuple[float, float]:
    return (0.0, float(k - 1))


REGISTRY: dict[str, Metric] = {}


def _register(metric: Metric) -> None:
    REGISTRY[metric.name] = metric


_register(Metric("leep", leep, "probs", "1", False, "https://arxiv.org/abs/2002.12462",
                 normalize_by_entropy, _entropy_bounds, True))
_register(Metric("nce", nce, "probs", "1", False, "https://arxiv.org/abs/1908.08142",
                 normalize_by_entropy, _entropy_bounds, True))
_register(Metric("h_score", h_score, "features", "1", False, "https://ieeexplore.ieee.org/document/8803726",
                 normalize_by_classes, _class_bounds, True))

try:  # the remaining metrics land in their own modules
    from .reg_hscore import reg_h_score
    from .logme import logme
    from .nleep import nleep
    from .gbc import gbc
    from .transrate import transrate
except ImportError:  # pragma: no cover - only while the suite is being assembled
    pass
else:
    _register(Metric("reg_h_score", reg_h_score, "features", "1", False, "https://arxiv.org/abs/2110.06893",
                     normalize_by_classes, _class_bounds, False))
    _register(Metric("logme", logme, "features", "1", False, "https://arxiv.org/abs/2102.11005",
                     normalize_rank, lambda k, h: (-math.inf, math.inf), False))
    _register(Metric("nleep", nleep, "features", "1", True, "https://arxiv.org/abs/2011.11200",
                     normalize_by_entropy, _entropy_bounds, False))
    _register(Metric("gbc", gbc, "features", "1", False, "https://arxiv.org/abs/2111.12780",
                     normalize_gbc, lambda k, h: (-float(k * (k - 1)), 0.0), True))
    _register(Metric("transrate", transrate, "features", "1", False, "https://arxiv.org/abs/2106.09362",
                     normalize_rank, lambda k, h: (-math.inf, math.inf), True))
