"""N-LEEP: LEEP on Gaussian-mixture posteriors of PCA features (Li et al., CVPR 2021)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from transfergraph.planner.common.checks import check_features, check_labels
from transfergraph.planner.common.arguments import check_choice, check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.tensors import to_numpy
from transfergraph.planner.runtime.threads import blas_threads
from transfergraph.planner.metrics._backend import NUMPY
from transfergraph.planner.metrics._stats import drop_constant_columns
from transfergraph.planner.metrics.leep import leep_from_validated
from transfergraph.planner.metrics._threads import bounded_threads
from transfergraph.planner.metrics._regimes import nleep_regime
from transfergraph.planner.metrics._registry import Metric, MetricInput, entropy_bounds, normalize_by_entropy

__all__ = ["nleep", "canonical_order", "METRIC"]

PAPER = "https://arxiv.org/abs/2011.11200"


def canonical_order(f: np.ndarray) -> np.ndarray:
    r"""A permutation that sorts the rows of ``f`` by content, so fits that depend on the row order
    (k-means initialisation of the mixture) see the same matrix whatever order the caller used.

    Keys are the row power sums :math:`\sum_j f_{ij}^p`, p = 1, 2, 3, 4 (computed row by row, so a
    row's key does not depend on its position). They are symmetric in the columns, so permuting the
    feature columns (a model with its hidden units permuted) or appending zero columns gives the
    same order (up to rounding ties between different rows).
    """
    keys = [(f ** p).sum(axis=1) for p in (4, 3, 2, 1)]
    return np.lexsort(keys)


@bounded_threads
def nleep(
    features: Any,
    labels: Sequence[Any] | Any,
    *,
    seed: int = 0,
    variance: float = 0.8,
    components_per_class: int = 5,
    covariance_type: str = "full",
    max_iter: int = 100,
    classes: bool = False,
) -> float:
    r"""N-LEEP: LEEP with the source head replaced by a Gaussian mixture fitted on the features.

    1. PCA (``sklearn.decomposition.PCA``, ``svd_solver="full"``) keeping ``variance`` (80%) of the
       variance.
    2. A Gaussian mixture with :math:`K_g = \min(5 |Y|, n)` components (sklearn defaults: full
       covariance, k-means initialisation, tol 1e-3, reg_covar 1e-6, ``max_iter`` 100), seeded with
       ``seed``; the rows are first put in a canonical content order (:func:`canonical_order`), so
       the score does not depend on the sample order. PCA and EM run with one BLAS thread
       (``threadpoolctl``), so the rounding does not depend on the machine's thread count.
    3. :math:`\mathrm{NLEEP} = \mathrm{LEEP}(\theta, y)` with :math:`\theta_{iv} = p(v \mid f_i)`, the
       mixture posteriors.

    Parameters
    ----------
    features : array-like or torch.Tensor, shape (n, d)
        Computed on the CPU with scikit-learn (a tensor is copied to a NumPy array).
    labels : sequence of hashable, shape (n,)
        Classes are the values present (at least 2).
    classes : bool, default False
        Say that ``labels`` are class ids even when they look continuous: without it, float labels
        with more than n/2 distinct values are refused (:class:`~transfergraph.planner.common.exceptions.InputError`).
    seed : int, default 0
        Random state of the mixture's k-means initialisation. Same inputs and seed, same score.
    variance : float in (0, 1], default 0.8
    components_per_class : int, default 5
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    max_iter : int, default 100

    Returns
    -------
    float
        N-LEEP in :math:`[-H(Y), 0]`. ``normalized``: :math:`(\mathrm{NLEEP} + H(Y)) / H(Y)`.

    Notes
    -----
    Regime of validity: flagged ``small-sample`` while n < 20 |Y| (fewer than 4 samples per mixture
    component). Information-free columns: constant (and zero) columns are dropped before the PCA,
    and the canonical row order is symmetric in the columns. A duplicated column changes the PCA
    (its direction's variance doubles) and so the mixture: measured +0.078 (10%) for 4 duplicated
    columns on n = 150 samples of 12 ReLU features.

    Shapes: features (n, d), labels (n,), result scalar. Cost O(n d^2) for the PCA plus
    O(T n K_g d'^2) for T EM iterations in d' PCA dimensions: the slowest metric here.
    Paper: https://arxiv.org/abs/2011.11200
    """
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    seed = check_scalar(seed, "seed", int, caller="nleep", min_val=0, max_val=2**32 - 1)
    variance = check_scalar(variance, "variance", float, caller="nleep", min_val=0.0, max_val=1.0, include_boundaries="right")
    components_per_class = check_scalar(components_per_class, "components_per_class", int, caller="nleep", min_val=1)
    max_iter = check_scalar(max_iter, "max_iter", int, caller="nleep", min_val=1)
    check_choice(covariance_type, "covariance_type", ("full", "tied", "diag", "spherical"), caller="nleep")
    f = check_features(features, func="nleep")
    f = to_numpy(f)
    codes, k = check_labels(labels, f.shape[0], func="nleep", classes=classes)
    n = f.shape[0]
    if n < 2 or not (f.max(axis=0) > f.min(axis=0)).any():
        raise InputError(
            f"features of nleep() must vary across at least 2 samples (PCA needs variance); got {n} "
            f"sample(s) with all columns constant."
        )
    f = drop_constant_columns(NUMPY, f)  # no variance, no information: PCA ignores them anyway
    order = canonical_order(f)
    f, codes = f[order], codes[order]
    # EM on small (d' x d') matrices: one BLAS thread is ~20x faster than a contended pool here
    # (measured on 2 shared cores), and makes the rounding independent of the machine's thread count.
    with blas_threads(1):
        reduced = PCA(n_components=variance if variance < 1 else min(f.shape), svd_solver="full").fit_transform(f)
        mixture = GaussianMixture(
            n_components=min(components_per_class * k, n),
            covariance_type=covariance_type,
            max_iter=max_iter,
            random_state=int(seed),
        ).fit(reduced)
        posterior_raw = mixture.predict_proba(reduced)
    posterior = np.asarray(posterior_raw, dtype=np.float64)
    return leep_from_validated(posterior, posterior.sum(axis=1), codes, k)


#: The registry record (``version``: bumped when the numbers or flags change; caches key on it).
METRIC = Metric(name="nleep", func=nleep, input=MetricInput.FEATURES, version="2", seeded=True, paper=PAPER,
                normalizer=normalize_by_entropy, bounds=entropy_bounds, regime=nleep_regime,
                invariant_columns=frozenset({"zero", "constant"}))
