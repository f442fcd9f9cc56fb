"""The :class:`Metric` record kept in ``transfergraph.planner.metrics.REGISTRY``, the kinds of metric input
(:class:`MetricInput`), the per-target normalizations and the documented score ranges.

Each metric module declares its own record (a module-level ``METRIC = Metric(name=..., ...)``, all
fields by keyword); the package collects them into ``REGISTRY``.

``normalize`` maps ONE target's raw scores over all its sources (a 1-D array, possibly of length 1,
NaN for failed pairs) to the ``normalized`` column of the score table. NaN entries stay NaN and do not
affect the others; the result is deterministic and finite wherever the input is finite.

Near-ties. Before any map, scores equal to within :data:`TIE_RTOL` (relative) are made exactly
equal (:func:`tie_scores`), so sources computing the same function (a bitwise copy, a model with
its hidden units permuted, float32 forward-pass noise) get the same ``normalized`` value and
decisions break the tie by name instead of by rounding.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = [
    "Metric",
    "MetricInput",
    "entropy_bounds",
    "class_bounds",
    "gbc_bounds",
    "unbounded",
    "nonpositive",
    "normalize_by_entropy",
    "normalize_by_classes",
    "normalize_gbc",
    "normalize_rank",
    "normalize_minmax",
    "tie_scores",
    "TIE_RTOL",
]


class MetricInput(str, Enum):
    """What a metric's first argument is: the kinds the scoring engine knows how to feed.

    A ``str`` subclass: each member compares (and hashes) equal to its value, so
    ``REGISTRY["leep"].input == "probs"`` holds and a duck-typed registry entry whose ``input`` is a
    plain string is fed the same way.

    Members
    -------
    PROBS : "probs"
        Source-class probabilities (the engine passes log-probabilities with ``log_probs=True``).
    FEATURES : "features"
        Penultimate-layer features, shape (n, d).
    FEATURES_REFERENCE : "features+reference"
        Features, plus a ``reference=`` sample of the source's own data that the engine builds per
        source (the TTA bound, :func:`transfergraph.planner.metrics.tta`).
    """

    PROBS = "probs"
    FEATURES = "features"
    FEATURES_REFERENCE = "features+reference"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def uses_features(self) -> bool:
        """Whether the engine must capture the model's features for this kind."""
        return self is not MetricInput.PROBS


def entropy_bounds(k: int, h: float) -> tuple[float, float]:
    """Range ``[-H(Y), 0]`` (LEEP, NCE, N-LEEP)."""
    return (-h, 0.0)


def class_bounds(k: int, h: float) -> tuple[float, float]:
    """Range ``[0, |Y| - 1]`` (H-score, shrinkage H-score)."""
    return (0.0, float(k - 1))


def gbc_bounds(k: int, h: float) -> tuple[float, float]:
    """Range ``[-|Y|(|Y| - 1), 0]`` (GBC: minus a sum of |Y|(|Y|-1) overlaps)."""
    return (-float(k * (k - 1)), 0.0)


def unbounded(k: int, h: float) -> tuple[float, float]:
    """No documented range (LogME, TransRate)."""
    return (-math.inf, math.inf)


def nonpositive(k: int, h: float) -> tuple[float, float]:
    """Range ``(-inf, 0]`` (TTA: minus an upper bound on the target risk)."""
    return (-math.inf, 0.0)


#: Relative tolerance under which two scores of one target are the same score: float32 forward
#: passes of one function in two summation orders differ by ~1e-7 relative in their logits.
TIE_RTOL = 1e-6
#: Absolute tolerance, relative to the largest magnitude among the target's scores (scores that
#: straddle 0 by rounding).
TIE_ATOL_SCALE = 1e-12


def _as_scores(scores: Any) -> np.ndarray:
    arr = np.array(scores, dtype=np.float64, copy=True).reshape(-1)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def tie_scores(scores: Any, *, rtol: float = TIE_RTOL) -> np.ndarray:
    """Copy of ``scores`` with near-equal values made equal (NaN stays NaN).

    Sorted ascending, the finite scores are cut into runs: a score joins the current run when it is
    within ``rtol * max(|a|, |b|) + 1e-12 * max|scores|`` of the run's first score a; every run is
    replaced by its mean. The runs depend only on the multiset of values, so the result does not
    depend on the source order; distinct values farther apart than the tolerance are unchanged.
    """
    arr = _as_scores(scores)
    ok = np.flatnonzero(~np.isnan(arr))
    if len(ok) < 2:
        return arr
    order = ok[np.argsort(arr[ok], kind="stable")]
    vals = arr[order]
    atol = TIE_ATOL_SCALE * float(np.max(np.abs(vals)))
    start = 0
    for i in range(1, len(vals) + 1):
        if i == len(vals) or vals[i] - vals[start] > rtol * max(abs(vals[i]), abs(vals[start])) + atol:
            if i - start > 1:
                arr[order[start:i]] = float(np.mean(vals[start:i]))
            start = i
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


def normalize_minmax(scores: Any, *, n_classes: int, label_entropy: float) -> np.ndarray:
    """Per-target min-max: ``(score - min) / (max - min)`` over the target's finite scores.

    For metrics with no absolute scale (LogME, TransRate): continuous in every score (a source
    0.1 below the best gets close to 1, not the rank of a distant second). Comparable across
    targets only as the position between that target's best (1) and worst (0) source. All scores
    tied (within :data:`TIE_RTOL`), or a single finite score, give 0.5. NaN entries stay NaN.
    """
    arr = _as_scores(scores)
    out = np.full_like(arr, np.nan)
    ok = ~np.isnan(arr)
    if not ok.any():
        return out
    lo, hi = float(arr[ok].min()), float(arr[ok].max())
    out[ok] = 0.5 if hi == lo else np.clip((arr[ok] - lo) / (hi - lo), 0.0, 1.0)
    return out


def normalize_rank(scores: Any, *, n_classes: int, label_entropy: float) -> np.ndarray:
    """Per-target rank in [0, 1]: ``(rank - 1) / (m - 1)`` over the m finite scores, ties averaged
    (after :func:`tie_scores`, when called through :meth:`Metric.normalize`).

    The best source gets 1, the worst 0; a single finite score gets 0.5 (no comparison possible).
    NaN entries stay NaN. Not continuous in the scores; kept for callers that want ranks.
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


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One registered transferability metric (every field is passed by keyword).

    Attributes
    ----------
    name : str
        Registry key (``"leep"``, ...).
    func : callable
        ``func(x, labels, **options) -> float``.
    input : MetricInput
        What ``x`` is (a plain string is converted; it compares equal to its value): ``"probs"``,
        source-class probabilities (called with log-probabilities and ``log_probs=True`` by the
        scoring engine); ``"features"``, penultimate-layer features; ``"features+reference"``,
        features plus a ``reference=`` sample the engine builds per source (see
        :func:`transfergraph.planner.metrics.tta`).
    version : str
        Bumped whenever the metric's numbers change; score caches key on it.
    seeded : bool, default False
        Whether ``func`` accepts ``seed=``.
    paper : str
        Link to the paper.
    normalizer : callable
        ``normalizer(scores, *, n_classes, label_entropy) -> np.ndarray`` (see :meth:`normalize`).
    bounds : callable
        ``bounds(n_classes, label_entropy) -> (low, high)``: documented range of the raw score
        (``-inf``/``inf`` where unbounded), used by the common tests.
    regime : callable
        ``regime(n, width, class_counts) -> str``: ``""`` when a score on n samples of ``width``
        columns (d features or Z source classes) with these class sizes is within the metric's regime
        of validity, else the short reason written to the ``flag`` column (see
        :mod:`transfergraph.planner.metrics._regimes`). Required: a metric cannot be registered without one.
    invariant_columns : frozenset of {"zero", "constant", "duplicated"}
        Information-free feature columns that leave the score unchanged (up to rounding): all-zero
        columns (dead ReLU units), constant columns, copies of existing columns. Required; a kind
        left out must be explained in the metric's docstring ("... column ..."), with its effect.
        Probability metrics have no feature columns: ``frozenset()``.
    duplication_invariant : bool
        Whether the definition gives the same score when the whole dataset is repeated twice.
    columns : tuple of str
        Extra score-table columns this metric fills (empty for the others' rows).
    """

    name: str
    func: Callable[..., float]
    input: MetricInput
    version: str
    paper: str
    seeded: bool = False
    normalizer: Callable[..., np.ndarray]
    regime: Callable[[int, int, np.ndarray], str]
    invariant_columns: frozenset
    bounds: Callable[[int, float], tuple[float, float]] = field(
        default=lambda k, h: (-np.inf, np.inf), repr=False
    )
    duplication_invariant: bool = False
    columns: tuple = ()

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "input", MetricInput(self.input))
        except ValueError:
            raise InputError(f"input of Metric {self.name!r} must be one of {[k.value for k in MetricInput]}; "
                             f"got {self.input!r}.") from None

    def __call__(self, x: Any, labels: Any, **options: Any) -> float:
        return self.func(x, labels, **options)

    def normalize(self, scores: Any, *, n_classes: int, label_entropy: float) -> np.ndarray:
        """Map one target's raw scores over its sources (1-D) to ``normalized`` values.

        Scores within :data:`TIE_RTOL` of each other are first made equal (:func:`tie_scores`).
        NaN (failed pairs) stays NaN; see the normalizer's docstring for the map.
        """
        return self.normalizer(tie_scores(scores), n_classes=n_classes, label_entropy=label_entropy)

    def flag(self, n: int, width: int, class_counts: Any) -> str:
        """The ``flag`` of a score on ``n`` samples with ``width`` input columns (see ``regime``)."""
        reason = self.regime(int(n), int(width), np.asarray(class_counts, dtype=np.int64))
        if not isinstance(reason, str):
            raise InputError(f"regime of metric {self.name!r} must return a str; got {type(reason).__name__}.")
        return reason
