"""LogME: Log of Maximum Evidence (You et al., ICML 2021; fast form from JMLR 2022)."""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

from .._validation import check_features, check_labels
from ..exceptions import InputError
from ._backend import ops_for

__all__ = ["logme", "LogMEConvergenceWarning", "TOL", "MAX_ITER", "PROFILE_MAX_ITER"]

PAPER = "https://arxiv.org/abs/2102.11005"

#: Default tolerance (log t bracket for "profile", relative change of t for "fixed_point").
TOL = 1e-10
#: Default iteration caps: fixed-point steps and golden-section steps.
MAX_ITER = 1000
PROFILE_MAX_ITER = 200
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


def _fixed_point(ops, sigma, z2, counts, n, k, tol, max_iter, stale):
    """MacKay's fixed point for all classes at once; returns the evidence per class (k,).

    ``stale=True`` is tllib's evaluation: the updated (alpha, beta) with the previous step's
    ||m||^2 and residual. Otherwise the evidence is the profile evidence at the final t (beta = n / E(t),
    m and residual matching).
    """
    # alpha -> inf (the prior collapses to w = 0) is the supremum for a class the features do not
    # explain: t then grows geometrically. Once sigma_max / t is below rounding the evidence equals
    # its limit to double precision, so such a class stops there instead of overflowing.
    t_cap = 1e16 * max(ops.to_float(sigma.max()), 1.0)
    alpha = ops.asarray([1.0] * k, like=sigma)
    beta = ops.asarray([1.0] * k, like=sigma)
    last_m2, last_res = alpha * 0.0, alpha * 0.0
    active = alpha > 0
    for _ in range(max_iter):
        t = alpha / beta
        gamma, m2, res = _fit_terms(sigma, z2, counts, t)
        res = ops.maximum(res, _TINY)
        alpha_new = ops.where(gamma > 0, gamma / ops.maximum(m2, _TINY), alpha)
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
        if not stale:
            warnings.warn(
                f"logme(): the evidence fixed point did not reach tol={tol:g} within max_iter={max_iter} "
                f"for {int(active.sum())} of {k} classes; raise max_iter, or use method='profile'.",
                LogMEConvergenceWarning,
                stacklevel=3,
            )
    if not stale:
        # at the final t, the best beta is n / E(t) (the fixed-point beta once converged; also right
        # for a class stopped at the no-weight limit): the profile evidence at t.
        return _profile_value(ops, sigma, z2, counts, n, ops.log(alpha / beta), _profile_parts(ops, sigma, z2, counts))
    # tllib: D/2 log(alpha) - 1/2 sum_{j=1..D} log(alpha + beta sigma_j) = -1/2 sum_j log1p(sigma_j / t):
    # the D - r zero eigenvalues contribute exactly 0, and no log(alpha) cancellation remains.
    log_ratio = ops.log1p(sigma[:, None] / (alpha / beta)[None, :]).sum(axis=0)
    return (
        0.5 * n * ops.log(beta)
        - 0.5 * n * math.log(2.0 * math.pi)
        - 0.5 * beta * last_res
        - 0.5 * alpha * last_m2
        - 0.5 * log_ratio
    )


#: Profile search range for t = alpha / beta, relative to the largest eigenvalue, and grid size.
T_RANGE = 1e-12, 1e12
GRID = 97
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def _profile_value(ops, sigma, z2, counts, n, u, parts):
    """Evidence maximized over beta at t = exp(u), for every class (u has shape (k,)).

    With beta* = n / E(t), E(t) = ||y||^2 - sum_j z_j^2 / (sigma_j + t) (= ||Fm - y||^2 + t ||m||^2):
    L(t) = n/2 log(n / E) - n/2 - n/2 log(2 pi) - 1/2 sum_j log1p(sigma_j / t).
    E is evaluated as r + sum_big w_j t / (sigma_j + t) - sum_small z_j^2 / (sigma_j + t), with
    w_j = z_j^2 / sigma_j and r = ||y||^2 - sum_big w_j (the least-squares residual), so that it
    keeps its relative accuracy as t -> 0 (n < D: E -> 0 there).
    """
    big, w, resid = parts
    t = ops.exp(u)
    den = sigma[:, None] + t[None, :]
    e = resid + (w * t[None, :] / den).sum(axis=0) - ((1.0 - big) * z2 / den).sum(axis=0)
    e = ops.maximum(e, _TINY)
    return (
        0.5 * n * ops.log(n / e)
        - 0.5 * n * (1.0 + math.log(2.0 * math.pi))
        - 0.5 * ops.log1p(sigma[:, None] / t[None, :]).sum(axis=0)
    )


def _profile_parts(ops, sigma, z2, counts):
    """Split the spectrum for :func:`_profile_value`: eigenvalues above rounding noise are "big"."""
    noise = 1e-13 * ops.to_float(sigma.max()) * sigma.shape[0]
    big = (sigma > noise)[:, None] * 1.0
    safe = ops.where(sigma > noise, sigma, 1.0)
    w = big * z2 / safe[:, None]
    resid = ops.maximum(counts - w.sum(axis=0), 0.0)
    return big, w, resid


def _profile(ops, sigma, z2, counts, n, k, tol, max_iter):
    """Global maximum of the profile evidence over log t: a log grid over T_RANGE * sigma_max, then
    golden-section search in the bracket around the best grid point until it is narrower than
    ``tol`` (in log t); the limit t -> inf (no weight) is compared as well. Returns (k,)."""
    scale = max(ops.to_float(sigma.max()), 1e-300)
    parts = _profile_parts(ops, sigma, z2, counts)
    lo, hi = math.log(scale * T_RANGE[0]), math.log(scale * T_RANGE[1])
    step = (hi - lo) / (GRID - 1)
    best_u = ops.asarray([lo] * k, like=sigma)
    best_v = _profile_value(ops, sigma, z2, counts, n, best_u, parts)
    for g in range(1, GRID):
        u = best_u * 0.0 + (lo + g * step)
        v = _profile_value(ops, sigma, z2, counts, n, u, parts)
        better = v > best_v
        best_u, best_v = ops.where(better, u, best_u), ops.where(better, v, best_v)
    a = ops.maximum(best_u - step, lo)
    b = -ops.maximum(-(best_u + step), -hi)
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    vc, vd = _profile_value(ops, sigma, z2, counts, n, c, parts), _profile_value(ops, sigma, z2, counts, n, d, parts)
    for _ in range(max_iter):
        if ops.to_float((b - a).max()) < tol:
            break
        left = vc > vd  # the maximum lies in [a, d]
        a, b = ops.where(left, a, c), ops.where(left, d, b)
        new_c, new_d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
        c, d = ops.where(left, new_c, d), ops.where(left, c, new_d)
        vc_new = _profile_value(ops, sigma, z2, counts, n, c, parts)
        vd_new = _profile_value(ops, sigma, z2, counts, n, d, parts)
        vc, vd = ops.where(left, vc_new, vd), ops.where(left, vc, vd_new)
    else:
        warnings.warn(
            f"logme(): the golden-section search did not narrow log t below tol={tol:g} within "
            f"max_iter={max_iter}; raise max_iter.",
            LogMEConvergenceWarning,
            stacklevel=3,
        )
    refined = _profile_value(ops, sigma, z2, counts, n, (a + b) / 2.0, parts)
    value = ops.where(refined > best_v, refined, best_v)
    limit = 0.5 * n * ops.log(n / counts) - 0.5 * n * (1.0 + math.log(2.0 * math.pi))
    return ops.where(limit > value, limit, value)


def logme(
    features: Any,
    labels: Sequence[Any] | Any,
    *,
    tol: float | None = None,
    max_iter: int | None = None,
    method: str = "profile",
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
        per-target rank over the sources in [0, 1] (best 1, worst 0, a single source 0.5).

    Notes
    -----
    Shapes: features (n, D), labels (n,), result scalar. Cost O(n D min(n, D)) for the Gram
    matrix, O(min(n, D)^3) for its eigendecomposition, O(n D) for the class sums, then
    O(|Y| min(n, D)) per grid point or iteration for all classes together; the (n, D) matrix is
    read twice. A tensor is scored on its own device. Paper: https://arxiv.org/abs/2102.11005
    """
    if reference not in (None, "tllib"):
        raise InputError(f"reference of logme() must be None or 'tllib'; got {reference!r}.")
    if method not in ("profile", "fixed_point"):
        raise InputError(f"method of logme() must be 'profile' or 'fixed_point'; got {method!r}.")
    tllib = reference == "tllib"
    method = "fixed_point" if tllib else method
    if tol is None:
        tol = TLLIB_TOL if tllib else TOL
    if max_iter is None:
        max_iter = TLLIB_MAX_ITER if tllib else (MAX_ITER if method == "fixed_point" else PROFILE_MAX_ITER)
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise InputError(f"tol of logme() must be a positive float; got {tol!r}.")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise InputError(f"max_iter of logme() must be an int >= 1; got {max_iter!r}.")
    f = check_features(features, func="logme")
    codes, k = check_labels(labels, f.shape[0], func="logme")
    ops = ops_for(f)
    n = f.shape[0]
    codes = ops.codes(codes, f)
    counts = ops.bincount(codes, minlength=k)  # ||y_k||^2 for one-hot indicators
    sigma, z = _spectrum(ops, f, codes, k)
    z2 = z * z

    if method == "profile":
        evidence = _profile(ops, sigma, z2, counts, n, k, tol, max_iter)
    else:
        evidence = _fixed_point(ops, sigma, z2, counts, n, k, tol, max_iter, stale=tllib)
    return ops.to_float(evidence.mean()) / n
