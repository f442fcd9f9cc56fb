"""H-score (Bao et al., ICIP 2019)."""
from __future__ import annotations

from typing import Any, Sequence

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.metrics._stats import centred_covariance, class_stats, feature_inputs
from transfergraph.planner.metrics._threads import bounded_threads
from transfergraph.planner.metrics._regimes import h_score_regime
from transfergraph.planner.metrics._registry import Metric, MetricInput, class_bounds, normalize_by_classes

__all__ = ["h_score", "between_class_projection", "h_score_from_stats", "METRIC"]

PAPER = "https://ieeexplore.ieee.org/document/8803726"


def between_class_projection(ops: Any, f: Any, codes: Any, k: int) -> tuple[Any, Any, Any]:
    """Return (Sigma_f (d, d), M (k, d) = class means - mean, w (k,) = n_c / n), all 1/n."""
    mean, means, weights = class_stats(ops, f, codes, k)
    return centred_covariance(ops, f, mean), means - mean, weights


@bounded_threads
def h_score(features: Any, labels: Sequence[Any] | Any, *, rcond: float = 1e-15, classes: bool = False) -> float:
    r"""H-score: how well the class-conditional means of the features separate the target classes.

    .. math::
        H = \operatorname{tr}\left(\Sigma_f^{+} \Sigma_b\right),\quad
        \Sigma_f = \operatorname{cov}(f),\quad
        \Sigma_b = \sum_c \frac{n_c}{n} (\mu_c - \mu)(\mu_c - \mu)^\top,

    both with the 1/n convention. With :math:`\Sigma_f = U \Lambda U^\top` (``eigh``), the
    pseudo-inverse keeps :math:`\lambda_j > \mathrm{rcond} \cdot \lambda_{max}` and
    :math:`H = \sum_j \sum_c \frac{n_c}{n} (u_j^\top (\mu_c - \mu))^2 / \lambda_j`.
    Exactly constant feature columns are dropped first (they carry no label information).

    Parameters
    ----------
    features : array-like or torch.Tensor, shape (n, d)
        Target features from the source model (penultimate layer).
    labels : sequence of hashable, shape (n,)
        Target labels; classes are the values present (at least 2).
    classes : bool, default False
        Say that ``labels`` are class ids even when they look continuous: without it, float labels
        with more than n/2 distinct values are refused (:class:`~transfergraph.planner.common.exceptions.InputError`).
    rcond : float, default 1e-15
        Relative eigenvalue cutoff of the pseudo-inverse (tllib's default; the official code uses
        1e-10 and stable_transfer 1e-5; it decides the answer when cov(f) is ill-conditioned).

    Returns
    -------
    float
        H in :math:`[0, \min(d, |Y| - 1)]`; invariant to invertible affine maps of the features
        (up to the cutoff). ``normalized``: :math:`H / (|Y| - 1)`, clipped to [0, 1].

    Notes
    -----
    Regime of validity: flagged ``degenerate`` when n <= d + 1 (H = |Y| - 1 for ANY features: the
    between-class covariance lies where the within-class scatter vanishes) and ``small-sample`` while
    n - 1 < 4d (information-free features score about d / (n - 1) of the maximum).
    Information-free columns: zero and constant columns are dropped; a duplicated column is an
    injective linear map of the features, to which H is invariant (the pseudo-inverse drops the
    null direction), so none of the three changes the score beyond rounding.

    Shapes: features (n, d), labels (n,), result scalar. Cost O(n d^2) for cov(f) (row blocks),
    O(n d) for the class means, O(|Y| d^2 + d^3) for the projection and the eigendecomposition.
    A tensor is scored on its own device. Paper: https://ieeexplore.ieee.org/document/8803726
    """
    rcond = check_scalar(rcond, "rcond", float, caller="h_score", min_val=0.0, max_val=1.0, include_boundaries="left")
    ops, f, codes, k = feature_inputs(features, labels, func="h_score", classes=classes)
    if f.shape[1] == 0:
        return 0.0
    cov, centred_means, weights = between_class_projection(ops, f, codes, k)
    return h_score_from_stats(ops, cov, centred_means, weights, rcond)


def h_score_from_stats(ops: Any, cov: Any, centred_means: Any, weights: Any, rcond: float) -> float:
    """H from the statistics of :func:`between_class_projection` (Sigma_f (d, d), class means minus
    the mean (k, d), n_c / n (k,)); shared by :func:`h_score` and the streamed path
    (:class:`transfergraph.planner.metrics.streaming.GaussianAccumulator`)."""
    lam, u = ops.eigh(cov)
    keep = lam > rcond * lam.max()
    proj = centred_means @ u[:, keep]  # (k, r)
    return ops.to_float(((weights[:, None] * proj * proj).sum(axis=0) / lam[keep]).sum())


#: The registry record (``version``: bumped when the numbers or flags change; caches key on it).
METRIC = Metric(name="h_score", func=h_score, input=MetricInput.FEATURES, version="2", paper=PAPER,
                normalizer=normalize_by_classes, bounds=class_bounds, regime=h_score_regime,
                invariant_columns=frozenset({"zero", "constant", "duplicated"}), duplication_invariant=True)
