"""LogME: Log of Maximum Evidence (You et al., ICML 2021; fast form from JMLR 2022)."""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

from .._validation import check_features, check_labels
from ..exceptions import InputError
from ._backend import ops_for

__all__ = ["logme", "LogMEConvergenceWarning", "TOL", "MAX_ITER"]

PAPER = "https://arxiv.org/abs/2102.11005"

#: Default stopping rule: relative change of t = alpha / beta below TOL, at most MAX_ITER steps.
TOL = 1e-10
MAX_ITER = 1000
#: tllib's rule (``reference="tllib"``): tol 1e-2, 11 iterations, evidence at the stale m.
TLLIB_TOL = 1e-2
TLLIB_MAX_ITER = 11
_TINY = 1e-300


class LogMEConvergenceWarning(RuntimeWarning):
    """The evidence fixed point did not meet ``tol`` within ``max_iter`` steps (result still finite)."""


def _spectrum(ops: Any, f: Any, codes: Any, k: int) -> tuple[Any, Any]:
    """Eigenvalues sigma (r,) of F^T F (r = min(n, D)) and z = V^T F^T Y (r, k).

    For n < D the n x n Gram matrix F F^T = U diag(sigma) U^T gives the same nonzero spectrum and
    z = sqrt(sigma) * (U^T Y); the D - n remaining eigenvalues are exactly 0 with z = 0.
    """
    n, d = f.shape
    if n >= d:
        gram = f.T @ f
        sigma, v = ops.eigh((gram + gram.T) / 2.0)
        sigma = ops.maximum(sigma, 0.0)  # F^T F squares the condition number: clamp rounding
        z = v.T @ ops.scatter_rows(codes, f, k).T
        return sigma, z
    gram = f @ f.T
    sigma, u = ops.eigh((gram + gram.T) / 2.0)
    sigma = ops.maximum(sigma, 0.0)
    z = ops.sqrt(sigma)[:, None] * ops.scatter_rows(codes, u, k).T
    return sigma, z


def _fit_terms(sigma: Any, z2: Any, counts: Any, t: Any) -> tuple[Any, Any, Any]:
    """gamma, ||m||^2 and ||F m - y||^2 for every class at t = alpha / beta (vectors of length k)."""
    den = sigma[:, None] + t[None, :]
    gamma = (sigma[:, None] / den).sum(axis=0)
    m2 = (z2 / (den * den)).sum(axis=0)
    res = counts - (z2 * (sigma[:, None] + 2.0 * t[None, :]) / (den * den)).sum(axis=0)
    return gamma, m2, res


def logme(
    features: Any,
    labels: Sequence[Any] | Any,
    *,
    tol: float | None = None,
    max_iter: int | None = None,
    reference: str | None = None,
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

    :math:`\log|A|` runs over all D eigenvalues of :math:`F^\top F`, zeros included (correct for
    n < D and for constant or zero columns, unlike thuml's fixed-point code). Only the classes
    present are scored. MacKay's fixed point from :math:`\alpha = \beta = 1`:
    :math:`\gamma = \sum_j \sigma_j / (\sigma_j + t)`, :math:`\alpha \leftarrow \gamma / \|m\|^2`,
    :math:`\beta \leftarrow (n - \gamma) / \|Fm - y\|^2`, :math:`t = \alpha / \beta`, run for all
    classes at once in the eigenbasis (JMLR Alg. 3): with :math:`z = V^\top F^\top Y`,
    :math:`\|m\|^2 = \sum_j z_j^2 / (\sigma_j + t)^2` and
    :math:`\|Fm - y\|^2 = \|y\|^2 - \sum_j z_j^2 (\sigma_j + 2t) / (\sigma_j + t)^2`. A class stops
    when :math:`|t_{new} - t| / t <` ``tol``, or when :math:`t > 10^{16} \sigma_{max}` (the evidence
    is maximized in the limit alpha -> inf, no weight; it is then equal to that limit in double
    precision). The log-determinant enters as
    :math:`\tfrac D2\log\alpha - \tfrac12\log|A| = -\tfrac12\sum_{j=1}^{D}\log(1 + \sigma_j / t)`. By default the evidence is then evaluated at the final
    :math:`(\alpha, \beta)` with the matching m (the maximized evidence).

    Parameters
    ----------
    features : array-like or torch.Tensor, shape (n, D)
        Target features (used as given: LogME is not scale invariant).
    labels : sequence of hashable, shape (n,)
        Target labels; classes are the values present (at least 2).
    tol : float, optional
        Stopping tolerance on the relative change of t. Default 1e-10 (1e-2 with ``reference="tllib"``).
    max_iter : int, optional
        Iteration cap. Default 1000 (11 with ``reference="tllib"``). Reaching it without meeting
        ``tol`` emits :class:`LogMEConvergenceWarning`; the result is still finite.
    reference : {None, "tllib"}, default None
        ``"tllib"`` reproduces tllib's ``log_maximum_evidence`` (tol 1e-2, 11 iterations, evidence
        evaluated at the updated (alpha, beta) with the previous step's m and residual) for parity.

    Returns
    -------
    float
        LogME; unbounded (typically in [-2, 2]), not comparable across targets. ``normalized``:
        per-target rank over the sources in [0, 1] (best 1, worst 0, a single source 0.5).

    Notes
    -----
    Shapes: features (n, D), labels (n,), result scalar. Cost O(n D min(n, D)) for the Gram
    matrix, O(min(n, D)^3) for its eigendecomposition, O(n D) for the class sums, then
    O(|Y| min(n, D)) per iteration for all classes together; the (n, D) matrix is read twice.
    A tensor is scored on its own device. Paper: https://arxiv.org/abs/2102.11005
    """
    if reference not in (None, "tllib"):
        raise InputError(f"reference of logme() must be None or 'tllib'; got {reference!r}.")
    tllib = reference == "tllib"
    tol = (TLLIB_TOL if tllib else TOL) if tol is None else tol
    max_iter = (TLLIB_MAX_ITER if tllib else MAX_ITER) if max_iter is None else max_iter
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise InputError(f"tol of logme() must be a positive float; got {tol!r}.")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise InputError(f"max_iter of logme() must be an int >= 1; got {max_iter!r}.")
    f = check_features(features, func="logme")
    codes, k = check_labels(labels, f.shape[0], func="logme")
    ops = ops_for(f)
    n, d = f.shape
    codes = ops.codes(codes, f)
    counts = ops.bincount(codes, minlength=k)  # ||y_k||^2 for one-hot indicators
    sigma, z = _spectrum(ops, f, codes, k)
    z2 = z * z

    # alpha -> inf (the prior collapses to w = 0) is the supremum for a class the features do not
    # explain: t then grows geometrically. Once sigma_max / t is below rounding the evidence equals
    # its limit to double precision, so such a class stops there instead of overflowing.
    t_cap = 1e16 * max(ops.to_float(sigma.max()), 1.0)
    alpha = ops.asarray([1.0] * k, like=f)
    beta = ops.asarray([1.0] * k, like=f)
    last_m2, last_res = alpha * 0.0, alpha * 0.0
    active = alpha > 0
    for _ in range(max_iter):
        t = alpha / beta
        gamma, m2, res = _fit_terms(sigma, z2, counts, t)
        m2, res = ops.maximum(m2, _TINY), ops.maximum(res, _TINY)
        alpha_new = ops.where(gamma > 0, gamma / m2, alpha)
        beta_new = (n - gamma) / res
        t_new = alpha_new / beta_new
        done = (ops.abs(t_new - t) / t < tol) | (t_new > t_cap)
        alpha = ops.where(active, alpha_new, alpha)
        beta = ops.where(active, beta_new, beta)
        last_m2 = ops.where(active, m2, last_m2)
        last_res = ops.where(active, res, last_res)
        active = active & ~done
        if not bool(active.any()):
            break
    else:
        if not tllib:
            warnings.warn(
                f"logme(): the evidence fixed point did not reach tol={tol:g} within max_iter={max_iter} "
                f"for {int(active.sum())} of {k} classes; raise max_iter for the maximized evidence.",
                LogMEConvergenceWarning,
                stacklevel=2,
            )
    if not tllib:  # evaluate at the final (alpha, beta) with the matching m and residual
        _, last_m2, last_res = _fit_terms(sigma, z2, counts, alpha / beta)
        last_m2, last_res = ops.maximum(last_m2, _TINY), ops.maximum(last_res, _TINY)
    # D/2 log(alpha) - 1/2 sum_{j=1..D} log(alpha + beta sigma_j) = -1/2 sum_j log1p(sigma_j / t):
    # the D - r zero eigenvalues contribute exactly 0, and no log(alpha) cancellation remains.
    log_ratio = ops.log1p(sigma[:, None] / (alpha / beta)[None, :]).sum(axis=0)
    evidence = (
        0.5 * n * ops.log(beta)
        - 0.5 * n * math.log(2.0 * math.pi)
        - 0.5 * beta * last_res
        - 0.5 * alpha * last_m2
        - 0.5 * log_ratio
    )
    return ops.to_float(evidence.mean()) / n
