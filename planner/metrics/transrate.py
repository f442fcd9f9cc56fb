"""TransRate (Huang et al., ICML 2022)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from transfergraph.planner.common.checks import check_features, check_labels
from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.metrics._backend import ops_for
from transfergraph.planner.metrics._stats import centred_covariance
from transfergraph.planner.metrics._threads import bounded_threads
from transfergraph.planner.metrics._regimes import transrate_regime
from transfergraph.planner.metrics._registry import Metric, MetricInput, unbounded, normalize_minmax

__all__ = ["transrate", "coding_rate", "METRIC"]

PAPER = "https://arxiv.org/abs/2106.09362"


def coding_rate(ops: Any, z: Any, eps: float) -> float:
    r""":math:`R(Z) = \tfrac12 \log\det(I_d + Z^\top Z / (m \epsilon))` for Z (m, d).

    Uses the smaller Gram matrix (:math:`Z^\top Z` or :math:`Z Z^\top`: same nonzero spectrum, so
    the same determinant) and a Cholesky factor of the symmetric positive definite
    :math:`I + G / (m\epsilon)` (eigenvalues >= 1): :math:`R = \sum_i \log L_{ii}`.
    """
    m, d = z.shape
    gram = z.T @ z if m >= d else z @ z.T
    return _half_logdet_identity_plus(ops, gram, m * eps)


def _half_logdet_identity_plus(ops: Any, gram: Any, scale: float) -> float:
    """1/2 log det(I + gram / scale) for a symmetric PSD ``gram``."""
    mat = (gram + gram.T) / (2.0 * scale)
    mat = mat + ops.eye_like(mat)
    chol = ops.cholesky(mat)
    return ops.to_float(ops.log(chol.diagonal()).sum())


@bounded_threads
def transrate(features: Any, labels: Sequence[Any] | Any, *, eps: float = 1e-4, classes: bool = False) -> float:
    r"""TransRate: coding rate of the features minus the mean coding rate within each class.

    .. math::
        R(Z) = \tfrac12 \log\det\left(I_d + \frac{Z^\top Z}{m\,\epsilon}\right),\qquad
        \mathrm{TrR} = R(F) - \frac{1}{|Y|} \sum_c R(F_c),

    where F is the feature matrix centred by its global mean, :math:`F_c` its rows of class c
    (m = the number of rows of each), and the class mean is **unweighted** (tllib / the paper's
    snippet). **Preprocessing:** centring only, no scaling: TransRate depends on the feature scale
    through :math:`\epsilon`; compare sources on features of comparable scale or rescale them first.

    Parameters
    ----------
    features : array-like or torch.Tensor, shape (n, d)
    labels : sequence of hashable, shape (n,)
        Classes are the values present (at least 2); an absent label value is not a class.
    classes : bool, default False
        Say that ``labels`` are class ids even when they look continuous: without it, float labels
        with more than n/2 distinct values are refused (:class:`~transfergraph.planner.common.exceptions.InputError`).
    eps : float, default 1e-4
        Distortion :math:`\epsilon` of the coding rate.

    Returns
    -------
    float
        TransRate (>= 0 up to rounding for balanced classes; unbounded above). ``normalized``:
        per-target min-max over the sources in [0, 1] (best 1, worst 0; all tied or a single source 0.5).
        Invariant to duplicating the dataset (:math:`Z^\top Z / m` is unchanged).

    Notes
    -----
    Regime of validity: flagged ``small-sample`` when the smallest class has n_c <= d samples (its
    coding rate is rank-limited and the score then grows with d). Information-free columns: a zero
    or constant column is 0 after centring and adds nothing to either log-determinant. A duplicated
    column changes both coding rates by definition (measured: +1e-4 relative for 4 duplicated
    columns on n = 150 samples of 12 ReLU features).

    Shapes: features (n, d), labels (n,), result scalar. Cost O(n d^2) for the Gram matrices and
    O(d^3 + \sum_c \min(n_c, d)^3) for the Cholesky factors; extra memory O(d^2) plus one class. Paper: https://arxiv.org/abs/2106.09362
    """
    eps = check_scalar(eps, "eps", float, caller="transrate", min_val=0.0, include_boundaries="neither")
    f = check_features(features, func="transrate")
    codes, k = check_labels(labels, f.shape[0], func="transrate", classes=classes)
    ops = ops_for(f)
    n = f.shape[0]
    mean = f.sum(axis=0) / n
    whole = _half_logdet_identity_plus(ops, n * centred_covariance(ops, f, mean), n * eps)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    order = ops.codes(order, f)
    within = 0.0
    for c in range(k):  # one class block at a time: O(n_c d) extra memory
        within += coding_rate(ops, f[order[bounds[c] : bounds[c + 1]]] - mean, eps)
    return whole - within / k


#: The registry record (``version``: bumped when the numbers or flags change; caches key on it).
METRIC = Metric(name="transrate", func=transrate, input=MetricInput.FEATURES, version="2", paper=PAPER,
                normalizer=normalize_minmax, bounds=unbounded, regime=transrate_regime,
                invariant_columns=frozenset({"zero", "constant"}), duplication_invariant=True)
