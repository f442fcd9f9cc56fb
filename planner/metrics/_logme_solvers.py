"""LogME solvers in the eigenbasis of F^T F, vectorized over all classes (see :func:`logme`).

Inputs: ``sigma`` (r,) eigenvalues of F^T F (r = min(n, D); the D - r others are 0 and contribute
nothing), ``z2`` (r, k) squared coordinates of F^T y_k in the eigenbasis, ``counts`` (k,) = ||y_k||^2.
Each function returns the log evidence (not yet divided by n) of every class, shape (k,).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

__all__ = ["LogMEConvergenceWarning", "spectrum", "fixed_point", "profile", "T_RANGE", "GRID"]

_TINY = 1e-300


class LogMEConvergenceWarning(RuntimeWarning):
    """The evidence fixed point did not meet ``tol`` within ``max_iter`` steps (result still finite)."""


def spectrum(ops: Any, f: Any, codes: Any, k: int, targets: Any = None) -> tuple[Any, Any]:
    """Eigenvalues sigma (r,) of F^T F (r = min(n, D)) and z = V^T F^T Y (r, k).

    Y is the one-hot indicator matrix of ``codes`` (k classes), or ``targets`` (n, k) when given
    (LogME on regression targets). For n < D the n x n Gram matrix F F^T = U diag(sigma) U^T gives
    the same nonzero spectrum and z = sqrt(sigma) * (U^T Y); the D - n remaining eigenvalues are
    exactly 0 with z = 0.
    """
    def project(x: Any) -> Any:  # x^T Y, (k, width of x)
        return (x.T @ targets).T if targets is not None else ops.scatter_rows(codes, x, k)

    n, d = f.shape
    if n >= d:
        gram = f.T @ f
        sigma, v = ops.eigh((gram + gram.T) / 2.0)
        sigma = ops.maximum(sigma, 0.0)  # F^T F squares the condition number: clamp rounding
        return sigma, v.T @ project(f).T
    gram = f @ f.T
    sigma, u = ops.eigh((gram + gram.T) / 2.0)
    sigma = ops.maximum(sigma, 0.0)
    return sigma, ops.sqrt(sigma)[:, None] * project(u).T


def _fit_terms(sigma: Any, z2: Any, t: Any, parts: Any) -> tuple[Any, Any, Any]:
    """gamma, ||m||^2 and ||F m - y||^2 for every class at t = alpha / beta (vectors of length k).

    The residual is summed from non-negative parts, r_LS + sum_big w_j t^2 / (sigma_j + t)^2, minus
    the rounding-level eigenvalues' terms (see :func:`_profile_parts`), not as ||y||^2 minus the
    explained part: that difference cancels to noise when the fit is near perfect (n < D, small t).
    """
    big, w, resid = parts
    den = sigma[:, None] + t[None, :]
    gamma = (sigma[:, None] / den).sum(axis=0)
    m2 = (z2 / (den * den)).sum(axis=0)
    tt = (t * t)[None, :]
    res = resid + (w * tt / (den * den)).sum(axis=0) - ((1.0 - big) * z2 * (sigma[:, None] + 2.0 * t[None, :]) / (den * den)).sum(axis=0)
    return gamma, m2, res


def fixed_point(ops, sigma, z2, counts, n, k, tol, max_iter, stale):
    """MacKay's fixed point for all classes at once; returns the evidence per class (k,).

    ``stale=True`` is tllib's evaluation: the updated (alpha, beta) with the previous step's
    ||m||^2 and residual. Otherwise the evidence is the profile evidence at the final t (beta = n / E(t),
    m and residual matching).
    """
    # alpha -> inf (the prior collapses to w = 0) is the supremum for a class the features do not
    # explain: t then grows geometrically. Once sigma_max / t is below rounding the evidence equals
    # its limit to double precision, so such a class stops there instead of overflowing.
    # The other limit, alpha / beta -> 0, is the supremum for a class the features fit perfectly
    # (n < D): t then shrinks geometrically and, uncapped, underflows (0/0 = NaN). Below
    # 1e-16 sigma_max the profile evidence equals its t -> 0 limit to double precision.
    scale = max(ops.to_float(sigma.max()), 1.0)
    t_cap, t_floor = 1e16 * scale, 1e-16 * scale
    parts = _profile_parts(ops, sigma, z2, counts)
    alpha = ops.asarray([1.0] * k, like=sigma)
    beta = ops.asarray([1.0] * k, like=sigma)
    last_m2, last_res = alpha * 0.0, alpha * 0.0
    active = alpha > 0
    floored = alpha < 0
    converged = True
    for _ in range(max_iter):
        t = alpha / beta
        gamma, m2, res = _fit_terms(sigma, z2, t, parts)
        res = ops.maximum(res, _TINY)
        alpha_new = ops.where(gamma > 0, gamma / ops.maximum(m2, _TINY), alpha)
        beta_new = (n - gamma) / res
        low = active & (alpha_new / beta_new < t_floor)
        alpha_new = ops.where(low, beta_new * t_floor, alpha_new)  # stop at the floor, finite
        t_new = alpha_new / beta_new
        done = (ops.abs(t_new - t) / t < tol) | (t_new > t_cap) | low
        floored = floored | low
        alpha = ops.where(active, alpha_new, alpha)
        beta = ops.where(active, beta_new, beta)
        last_m2 = ops.where(active, m2, last_m2)
        last_res = ops.where(active, res, last_res)
        active = active & ~done
        if not bool(active.any()):
            break
    else:
        converged = False
    if not stale and not converged:
        warnings.warn(
            f"logme(): the evidence fixed point did not reach tol={tol:g} within max_iter={max_iter} "
            f"for {int(active.sum())} of {k} classes; raise max_iter, or use method='profile'.",
            LogMEConvergenceWarning,
            stacklevel=3,
        )
    elif not stale and bool(floored.any()):
        warnings.warn(
            f"logme(): for {int(floored.sum())} of {k} classes the evidence grows until alpha/beta -> 0 "
            f"(the features fit the class exactly, n < D); the fixed point has no finite stationary point "
            f"and the value returned is that limit (method='profile' finds it without a warning).",
            LogMEConvergenceWarning,
            stacklevel=3,
        )
    if not stale:
        # at the final t, the best beta is n / E(t) (the fixed-point beta once converged; also right
        # for a class stopped at the no-weight limit): the profile evidence at t.
        return _profile_value(ops, sigma, z2, counts, n, ops.log(alpha / beta), parts)
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


def _grid_values(ops, sigma, z2, counts, n, t: float, parts):
    """:func:`_profile_value` at one shared t for all classes: two (k, r) x (r,) products."""
    big, w, resid = parts
    inv = 1.0 / (sigma + t)
    e = resid + t * (w.T @ inv) - ((1.0 - big) * z2).T @ inv
    e = ops.maximum(e, _TINY)
    logdet = ops.to_float(ops.log1p(sigma / t).sum())
    return 0.5 * n * ops.log(n / e) - 0.5 * n * (1.0 + math.log(2.0 * math.pi)) - 0.5 * logdet


def profile(ops, sigma, z2, counts, n, k, tol, max_iter):
    """Global maximum of the profile evidence over u = log t: a log grid over T_RANGE * sigma_max
    (t shared by all classes, so each point is two matrix-vector products), then golden-section
    search in the bracket around each class's best grid point (one evaluation per step) until it
    is narrower than ``tol``; the limit t -> inf (no weight) is compared as well. Returns (k,)."""
    scale = max(ops.to_float(sigma.max()), 1e-300)
    parts = _profile_parts(ops, sigma, z2, counts)
    lo, hi = math.log(scale * T_RANGE[0]), math.log(scale * T_RANGE[1])
    step = (hi - lo) / (GRID - 1)
    best_u = ops.asarray([lo] * k, like=sigma)
    best_v = _grid_values(ops, sigma, z2, counts, n, math.exp(lo), parts)
    for g in range(1, GRID):
        u = lo + g * step
        v = _grid_values(ops, sigma, z2, counts, n, math.exp(u), parts)
        better = v > best_v
        best_u, best_v = ops.where(better, best_u * 0.0 + u, best_u), ops.where(better, v, best_v)
    a = ops.maximum(best_u - step, lo)
    b = -ops.maximum(-(best_u + step), -hi)
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    vc, vd = _profile_value(ops, sigma, z2, counts, n, c, parts), _profile_value(ops, sigma, z2, counts, n, d, parts)
    for _ in range(max_iter):
        if ops.to_float((b - a).max()) < tol:
            break
        left = vc > vd  # the maximum lies in [a, d]: d becomes the new upper inner point's partner
        a, b = ops.where(left, a, c), ops.where(left, d, b)
        probe = ops.where(left, b - _GOLDEN * (b - a), a + _GOLDEN * (b - a))
        vp = _profile_value(ops, sigma, z2, counts, n, probe, parts)
        c, d, vc, vd = (
            ops.where(left, probe, d), ops.where(left, c, probe),
            ops.where(left, vp, vd), ops.where(left, vc, vp),
        )
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
