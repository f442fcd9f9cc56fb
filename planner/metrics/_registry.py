"""The :class:`Metric` record kept in ``planner.metrics.REGISTRY`` and the per-target normalizations.

``normalize`` maps ONE target's raw scores over all its sources (a 1-D array, possibly of length 1,
NaN for failed pairs) to the ``normalized`` column of SPEC §2. NaN entries stay NaN and do not
affect the others; the result is deterministic and finite wherever the input is finite.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..exceptions import InputError

__all__ = [
    "Metric",
    "normalize_by_entropy",
    "normalize_by_classes",
    "normalize_gbc",
    "normalize_rank",
]


def _as_scores(scores: Any) -> np.ndarray:
    arr = np.array(scores, dtype=np.float64, copy=True).reshape(-1)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def normalize_by_entropy(scores: Any, *, n_classes: int, label_entropy: float) -> np.ndarray:
    """``(score + H(Y)) / H(Y)``, clipped to [0, 1] (LEEP, NCE, N-LEEP: score in [-H(Y), 0]).

    0 means no better than predicting the label prior, 1 is perfect. The clip only absorbs
    rounding: the bound is exact for probabilities that sum to 1 (see the tests).
    """
    if not (np.isfinite(label_entropy) and label_entropy > 0):
        raise InputError(
            f"label_entropy of normalize() must be a positive float (H(Y) of >= 2 classes); got {label_entropy!r}."
        )
    arr = _as_scores(scores)
    return np.clip((arr + label_entropy) / label_entropy, 0.0, 1.0)


def normalize_by_classes(scores: Any, *, n_classes: int, label_entropy: float) -> np.ndarray:
    """``score / (|Y| - 1)``, clipped to [0, 1] (H-score and shrinkage H-score: H in [0, |Y| - 1])."""
    if n_classes < 2:
        raise InputError(f"n_classes of normalize() must be >= 2; got {n_classes!r}.")
    return np.clip(_as_scores(scores) / (n_classes - 1), 0.0, 1.0)


def normalize_gbc(scores: Any, *, n_classes: int, label_entropy: float) -> np.ndarray:
    """``1 + GBC / (|Y| (|Y| - 1))``, clipped to [0, 1]: GBC is minus a sum of |Y|(|Y|-1) overlaps in (0, 1]."""
    if n_classes < 2:
        raise InputError(f"n_classes of normalize() must be >= 2; got {n_classes!r}.")
    return np.clip(1.0 + _as_scores(scores) / (n_classes * (n_classes - 1)), 0.0, 1.0)


def normalize_rank(scores: Any, *, n_classes: int, label_entropy: float) -> np.ndarray:
    """Per-target rank in [0, 1]: ``(rank - 1) / (m - 1)`` over the m finite scores, ties averaged.

    For metrics with no absolute scale (LogME, TransRate). The best source gets 1, the worst 0;
    a single finite score gets 0.5 (no comparison possible). NaN entries stay NaN.
    """
    arr = _as_scores(scores)
    out = np.full_like(arr, np.nan)
    ok = ~np.isnan(arr)
    m = int(ok.sum())
    if m == 1:
        out[ok] = 0.5
    elif m > 1:
        from scipy.stats import rankdata  # here, not at import: scipy.stats costs ~1 s and ~30 MiB to import

        out[ok] = (rankdata(arr[ok], method="average") - 1.0) / (m - 1)
    return out


@dataclass(frozen=True)
class Metric:
    """One registered transferability metric.

    Attributes
    ----------
    name : str
        Registry key (``"leep"``, ...).
    func : callable
        ``func(x, labels, **options) -> float``.
    input : {"probs", "features", "features+reference"}
        What ``x`` is: source-class probabilities (called with log-probabilities and
        ``log_probs=True`` by the scoring engine) or penultimate-layer features.
        "features+reference": features, plus a ``reference=`` sample the engine builds per source
        (see :func:`planner.metrics.tta`).
    version : str
        Bumped whenever the metric's numbers change; score caches key on it.
    seeded : bool
        Whether ``func`` accepts ``seed=``.
    paper : str
        Link to the paper.
    normalizer : callable
        ``normalizer(scores, *, n_classes, label_entropy) -> np.ndarray`` (see :meth:`normalize`).
    bounds : callable
        ``bounds(n_classes, label_entropy) -> (low, high)``: documented range of the raw score
        (``-inf``/``inf`` where unbounded), used by the common tests.
    duplication_invariant : bool
        Whether the definition gives the same score when the whole dataset is repeated twice.
    columns : tuple of str
        Extra score-table columns this metric fills (empty for the others' rows).
    """

    name: str
    func: Callable[..., float]
    input: str
    version: str
    seeded: bool
    paper: str
    normalizer: Callable[..., np.ndarray]
    bounds: Callable[[int, float], tuple[float, float]] = field(
        default=lambda k, h: (-np.inf, np.inf), repr=False
    )
    duplication_invariant: bool = False
    columns: tuple = ()

    def __call__(self, x: Any, labels: Any, **options: Any) -> float:
        return self.func(x, labels, **options)

    def normalize(self, scores: Any, *, n_classes: int, label_entropy: float) -> np.ndarray:
        """Map one target's raw scores over its sources (1-D) to ``normalized`` values.

        NaN (failed pairs) stays NaN; see the normalizer's docstring for the map.
        """
        return self.normalizer(scores, n_classes=n_classes, label_entropy=label_entropy)
