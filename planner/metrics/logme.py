"""LogME: Log of Maximum Evidence (You et al., ICML 2021; fast form from JMLR 2022)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from transfergraph.planner.common.arguments import check_bool, check_choice, check_scalar
from transfergraph.planner.common.checks import check_features, check_labels, is_tensor
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.tensors import to_numpy
from transfergraph.planner.metrics._backend import ops_for
from transfergraph.planner.metrics._logme_solvers import LogMEConvergenceWarning, fixed_point, profile, spectrum
from transfergraph.planner.metrics._threads import bounded_threads
from transfergraph.planner.metrics._regimes import logme_regime
from transfergraph.planner.metrics._registry import Metric, MetricInput, unbounded, normalize_minmax

__all__ = ["logme", "LogMEConvergenceWarning", "TOL", "MAX_ITER", "PROFILE_MAX_ITER", "METRIC"]

PAPER = "https://arxiv.org/abs/2102.11005"

#: Default tolerance (log t bracket for "profile", relative change of t for "fixed_point").
TOL = 1e-10
#: Default iteration caps: fixed-point steps and golden-section steps.
MAX_ITER = 1000
PROFILE_MAX_ITER = 200
#: tllib's rule (``reference="tllib"``): tol 1e-2, 11 iterations, evidence at the stale m.
TLLIB_TOL = 1e-2
TLLIB_MAX_ITER = 11


def regression_targets(labels: Any, n: int) -> np.ndarray:
    """``labels`` as finite float64 regression targets of shape (n, k) ((n,) becomes (n, 1))."""
    y = to_numpy(labels) if is_tensor(labels) else labels
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("labels of logme(regression=True) must be numeric targets of shape (n,) or (n, k); "
                         f"got values that are not numbers ({type(labels).__name__}).") from None
    y = y[:, None] if y.ndim == 1 else y
    if y.ndim != 2 or y.shape[0] != n or y.shape[1] == 0:
        raise InputError(f"labels of logme(regression=True) must have shape ({n},) or ({n}, k) to match features; "
                         f"got {np.shape(labels)}.")
    if not np.isfinite(y).all():
        raise InputError("labels of logme(regression=True) must be finite; got NaN or inf.")
    return y


@bounded_threads
def logme(
    features: Any,
    labels: Sequence[Any] | Any,
    *,
    tol: float | None = None,
    max_iter: int | None = None,
    method: str = "profile",
    reference: str | None = None,
    classes: bool = False,
    regression: bool = False,
) -> float:
    r"""LogME: the mean over classes of the maximized log-evidence per sample of a Bayesian linear
    model from the features to each one-hot class indicator.

    For each class indicator :math:`y_k \in \{0, 1\}^n`, with :math:`w \sim N(0, \alpha^{-1} I_D)`,
    :math:`y = F w + N(0, \beta^{-1} I_n)`, :math:`A = \alpha I_D + \beta F^\top F`,
    :math:`m = \beta A^{-1} F^\top y`:

    .. math::
        \mathcal L_k(\alpha, \beta) = \tfrac n2 \log\beta + \tfrac D2 \log\alpha
        - \tfrac n2 \log 2\pi - \tfrac\beta2 \|F m - y\|^2 - \tfrac\alpha2 \|m\|^2
        - \tfrac12 \log|A|,\qquad
        \mathrm{LogME} = \frac1{|Y|} \sum_k \max_{\alpha,\beta} \mathcal L_k / n.

    :math:`\log|A|` runs over all D eigenvalues :math:`\sigma_j` of :math:`F^\top F`, zeros included
    (correct for n < D and for constant or zero columns, unlike thuml's fixed-point code); it enters
    as :math:`\tfrac D2\log\alpha - \tfrac12\log|A| = -\tfrac12\sum_{j=1}^{D}\log(1 + \sigma_j/t)`,
    :math:`t = \alpha/\beta`, so zero eigenvalues contribute exactly 0. Only the classes present
    are scored. Everything runs for all classes at once in the eigenbasis (JMLR Alg. 3): with
    :math:`z = V^\top F^\top Y`, :math:`\|m\|^2 = \sum_j z_j^2 / (\sigma_j + t)^2` and
    :math:`\|Fm - y\|^2 = \|y\|^2 - \sum_j z_j^2 (\sigma_j + 2t) / (\sigma_j + t)^2`.

    ``method="profile"`` (default) maximizes the evidence to convergence: :math:`\beta` has the
    closed form :math:`n / E(t)`, :math:`E(t) = \|y\|^2 - \sum_j z_j^2 / (\sigma_j + t)`, which leaves
    a 1-D problem in :math:`\log t`, solved globally by a 97-point log grid over
    :math:`[10^{-12}, 10^{12}] \cdot \sigma_{max}` and golden-section search in the best bracket until
    it is narrower than ``tol``; the limit :math:`t \to \infty` (no weight) is included.
    ``method="fixed_point"`` runs MacKay's iteration from :math:`\alpha = \beta = 1`
    (:math:`\gamma = \sum_j \sigma_j / (\sigma_j + t)`, :math:`\alpha \leftarrow \gamma / \|m\|^2`,
    :math:`\beta \leftarrow (n - \gamma) / \|Fm - y\|^2`) until :math:`|t_{new} - t| / t <` ``tol``
    (or :math:`t > 10^{16} \sigma_{max}`, the no-weight limit) and evaluates the evidence there. It
    finds the same maximum when it converges, but can need thousands of steps when n < D.

    Parameters
    ----------
    features : array-like or torch.Tensor, shape (n, D)
        Target features (used as given: LogME is not scale invariant).
    labels : sequence of hashable, shape (n,)
        Target labels; classes are the values present (at least 2).
    classes : bool, default False
        Say that ``labels`` are class ids even when they look continuous: without it, float labels
        with more than n/2 distinct values are refused (:class:`~transfergraph.planner.common.exceptions.InputError`).
    tol : float, optional
        ``profile``: bracket width in log t (default 1e-10); ``fixed_point``: relative change of t
        (default 1e-10; 1e-2 with ``reference="tllib"``).
    max_iter : int, optional
        Iteration cap: golden-section steps (default 200) or fixed-point steps (default 1000; 11 with
        ``reference="tllib"``). Reaching it emits :class:`LogMEConvergenceWarning`; the result is
        still finite.
    method : {"profile", "fixed_point"}, default "profile"
    reference : {None, "tllib"}, default None
        ``"tllib"`` reproduces tllib's ``log_maximum_evidence`` for parity: the fixed point with tol
        1e-2 and 11 iterations, the evidence evaluated at the updated (alpha, beta) with the previous
        step's m and residual (no warning when it stops early). It overrides ``method``.

    Returns
    -------
    float
        LogME; unbounded (typically in [-2, 2]), not comparable across targets. ``normalized``:
        per-target min-max over the sources in [0, 1] (best 1, worst 0; all tied or a single source 0.5).

    Notes
    -----
    Regime of validity: never flagged: the evidence penalizes fitting noise at any n and D.
    Information-free columns: a zero column changes nothing (its eigenvalue 0 contributes 0). A
    constant column c is not information-free for LogME's model, which has no intercept: it acts as
    an intercept regressor (weight prior N(0, 1 / (alpha c^2))), so the score rises by the evidence
    of fitting each class indicator's mean (measured: +0.036 for 4 columns of 1.0 on n = 150 samples
    of 12 ReLU features); centre the features for an intercept-free comparison. A duplicated column
    doubles the prior variance along its direction (the prior is isotropic over columns): +0.007 on
    the same input with 4 duplicates. The fixed-point method can stop at a local maximum of the
    evidence (1 of 80 random n < D inputs: 0.55% below the profile maximum).

    Shapes: features (n, D), labels (n,), result scalar. Cost O(n D min(n, D)) for the Gram
    matrix, O(min(n, D)^3) for its eigendecomposition, O(n D) for the class sums, then
    O(|Y| min(n, D)) per grid point or iteration for all classes together; the (n, D) matrix is
    read twice. A tensor is scored on its own device.

    ``regression=True`` scores regression targets as in the LogME paper: ``labels`` is a float array
    (n,) or (n, K) and each column is one y (no one-hot encoding); the score is the mean over columns.
    Paper: https://arxiv.org/abs/2102.11005
    """
    if reference is not None:
        check_choice(reference, "reference", (None, "tllib"), caller="logme")
    check_choice(method, "method", ("profile", "fixed_point"), caller="logme")
    tllib = reference == "tllib"
    method = "fixed_point" if tllib else method
    if tol is None:
        tol = TLLIB_TOL if tllib else TOL
    if max_iter is None:
        max_iter = TLLIB_MAX_ITER if tllib else (MAX_ITER if method == "fixed_point" else PROFILE_MAX_ITER)
    tol = check_scalar(tol, "tol", float, caller="logme", min_val=0.0, include_boundaries="neither")
    max_iter = check_scalar(max_iter, "max_iter", int, caller="logme", min_val=1)
    f = check_features(features, func="logme")
    check_bool(regression, "regression", caller="logme")
    ops = ops_for(f)
    n = f.shape[0]
    if regression:  # the LogME paper's regression use: each target column is one y
        y = ops.asarray(regression_targets(labels, n), like=f)
        k = y.shape[1]
        counts = (y * y).sum(axis=0)
        sigma, z = spectrum(ops, f, None, k, targets=y)
    else:
        codes, k = check_labels(labels, n, func="logme", classes=classes)
        codes = ops.codes(codes, f)
        counts = ops.bincount(codes, minlength=k)  # ||y_k||^2 for one-hot indicators
        sigma, z = spectrum(ops, f, codes, k)
    z2 = z * z

    if method == "profile":
        evidence = profile(ops, sigma, z2, counts, n, k, tol, max_iter)
    else:
        evidence = fixed_point(ops, sigma, z2, counts, n, k, tol, max_iter, stale=tllib)
    return ops.to_float(evidence.mean()) / n


#: The registry record (``version``: bumped when the numbers or flags change; caches key on it).
METRIC = Metric(name="logme", func=logme, input=MetricInput.FEATURES, version="2", paper=PAPER,
                normalizer=normalize_minmax, bounds=unbounded, regime=logme_regime,
                invariant_columns=frozenset({"zero"}))
