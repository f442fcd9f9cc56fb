"""Predict the unscored cells of a (source x target) score matrix from the scored ones.

The model (pure NumPy; no learned features, nothing known only after scoring the predicted pair)::

    Y[i, j] = mu_j + s_j * (a_i + u_i . v_j + beta * n_ij + e_ij)

1. **Per-target standardization.** ``mu_j`` and ``s_j`` are the mean and standard deviation of the
   *observed* scores of target ``j`` (a target with fewer than 2 distinct observed scores takes the
   median ``s`` of the others). ``mu_j`` is then re-estimated a few times as the mean of
   ``Y[i, j] - s_j a_i`` over its observed sources, so a target scored only on strong sources is
   not mistaken for an easy target.
2. **Shrunk source means.** ``a_i = (sum_j z_ij + lam * prior_i) / (n_i + lam)`` over the ``n_i``
   targets where source ``i`` was scored (``z`` the standardized scores; ``prior`` 0 unless given):
   a source seen on few targets is pulled towards the prior.
3. **Low-rank residual** (OBOE's impute, Yang et al., KDD 2019): ``u_i . v_j`` of rank ``r`` fitted to
   the residuals ``z_ij - a_i`` by alternating ridge least squares on the observed cells only.
4. **Neighbour term** (Koren, KDD 2008): ``n_ij`` = the mean residual of source ``i`` on the
   :data:`NEIGHBOURS` targets most similar to ``j`` where ``i`` was scored, weighted by their
   similarity (Pearson correlation of the standardized scores over the sources scored on both, 3+,
   shrunk by ``n / (n + 10)``; negative ones dropped): a target borrows the ranking of its look-alikes.
5. **Model choice.** ``r`` (0 included), the ridge and ``beta`` (0, or :data:`BETAS` on ``r = 0`` and on
   the chosen ``r``) are chosen by K-fold cross-validation over the observed cells, every observed cell
   predicted once by the fit that did not see it: the model with the best mean per-target Spearman
   correlation between those predictions and the scores wins (the squared error breaks ties). A
   ranking criterion, because rankings are what the predictions are for: on the digits zoo of
   ``benchmarks/predicted_pairs.py`` the squared error preferred rank 5 for new targets (Kendall tau
   0.65 on their unscored cells), the ranking criterion the neighbour term (0.79). The low-rank and
   neighbour terms are considered only when at least ``min_side`` sources and targets have 2+
   observations each.
6. **Predictive s.d.** ``sd_ij = s_j * sqrt(sigma2 * (1 + 1 / (n_i + lam)))`` with ``sigma2`` the
   cross-validated mean squared error of the chosen model, each held-out error divided by its target's
   ``s_j`` from all observed cells (the residual noise plus the uncertainty of a source mean estimated
   from ``n_i`` cells).

The low-rank and neighbour terms are what carry a source's *target-specific* strength (its class
subset, its domain) to targets it was not scored on; the shrunk mean alone ranks sources the same on
every target. Cost: 5 folds x (1 + |RANKS| x |RIDGES| + 4) fits of 30 alternating sweeps, each
O(observed cells x r^2 + (S + T) r^3) plus the neighbour term's O(S T^2) similarity products.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = ["Prediction", "predict_matrix", "als_fit"]

#: candidate ranks and ridge penalties tried by cross-validation (rank 0 = shrunk source means only)
RANKS = (0, 1, 2, 3, 5)
RIDGES = (0.3, 1.0, 3.0)
#: weights of the neighbour term tried by cross-validation (0 always is), and the neighbours it averages
BETAS = (0.5, 1.0)
NEIGHBOURS = 5


@dataclass(frozen=True)
class Prediction:
    """Predicted matrix and its spread.

    Attributes
    ----------
    mean, sd : ndarray (S, T)
        Prediction and predictive standard deviation of every cell, on the scale of the input
        (observed cells are predicted too: the model's fit, not the observation).
    rank : int
        Rank of the low-rank term chosen (0: shrunk source means only).
    ridge : float
        Its ridge penalty (NaN when ``rank`` is 0).
    beta : float
        Weight of the neighbour term (0: not used).
    cv_mse : float
        Cross-validated mean squared error on the standardized scale (``sigma2``; when no
        cross-validation could run, the in-sample error).
    source_factors : ndarray (S, 1 + rank)
        ``[a_i, u_i]``: the source mean and the low-rank factors (the pair design's pivoted QR reads them).
    """

    mean: np.ndarray
    sd: np.ndarray
    rank: int
    ridge: float
    cv_mse: float
    source_factors: np.ndarray
    beta: float = 0.0


def _check(Y: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Y = np.asarray(Y, dtype=np.float64)
    M = np.asarray(observed, dtype=bool)
    if Y.ndim != 2 or M.shape != Y.shape:
        raise InputError(f"predict_matrix needs a 2-D score matrix and a mask of its shape; got {Y.shape} and {M.shape}.")
    M = M & np.isfinite(Y)
    return Y, M


def _column_scale(Y: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = M.sum(axis=0)
    Yz = np.where(M, Y, 0.0)
    mu = Yz.sum(axis=0) / np.maximum(n, 1)
    var = (np.where(M, Y - mu, 0.0) ** 2).sum(axis=0) / np.maximum(n, 1)
    s = np.sqrt(var)
    good = (n >= 2) & (s > 1e-12 * np.maximum(1.0, np.abs(mu)))
    fallback = float(np.median(s[good])) if good.any() else 1.0
    s = np.where(good, s, fallback if fallback > 0 else 1.0)
    if (n == 0).any():
        mu = np.where(n == 0, float(np.mean(mu[n > 0])) if (n > 0).any() else 0.0, mu)
    return mu, s


def _source_means(Z: np.ndarray, M: np.ndarray, lam: float, prior: np.ndarray) -> np.ndarray:
    return (np.where(M, Z, 0.0).sum(axis=1) + lam * prior) / (M.sum(axis=1) + lam)


def als_fit(R: np.ndarray, M: np.ndarray, rank: int, ridge: float, *, n_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Rank-``rank`` factors ``U (S, r)``, ``V (T, r)`` minimizing
    ``sum_{(i, j) observed} (R_ij - u_i . v_j)^2 + ridge * (|U|^2 + |V|^2)`` by alternating ridge
    least squares, started from the truncated SVD of the zero-filled ``R`` (deterministic)."""
    S, T = R.shape
    Rz = np.where(M, R, 0.0)
    frac = max(M.mean(), 1e-12)
    u, sv, vt = np.linalg.svd(Rz / frac, full_matrices=False)
    root = np.sqrt(sv[:rank])
    U, V = u[:, :rank] * root, vt[:rank].T * root
    Mf = M.astype(np.float64)
    eye = ridge * np.eye(rank)
    for _ in range(n_iter):
        U = _ridge_rows(Rz, Mf, V, eye)
        V = _ridge_rows(Rz.T, Mf.T, U, eye)
    return U, V


def _ridge_rows(Rz: np.ndarray, Mf: np.ndarray, V: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """Row i: argmin_u sum_j M_ij (R_ij - u . v_j)^2 + ridge |u|^2, for all rows at once."""
    r = V.shape[1]
    outer = (V[:, :, None] * V[:, None, :]).reshape(len(V), r * r)
    A = (Mf @ outer).reshape(-1, r, r) + eye
    b = Rz @ V
    return np.linalg.solve(A, b[:, :, None])[:, :, 0]


def _folds(M: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number (0..k-1) of every observed cell, -1 elsewhere; each fold keeps >= 1 cell per row
    out of the held-out set where a row has few cells (rows with < 2 cells are never held out)."""
    rng = np.random.default_rng(seed)
    fold = np.full(M.shape, -1, dtype=np.int64)
    idx = np.flatnonzero(M.ravel())
    perm = rng.permutation(len(idx))
    fold.ravel()[idx[perm]] = np.arange(len(idx)) % k
    few = M.sum(axis=1) < 2
    fold[few] = -1
    return fold


def _neighbour_term(Z: np.ndarray, R: np.ndarray, M: np.ndarray, k: int, shrink: float = 10.0) -> np.ndarray:
    """(S, T): for each target, the weighted mean residual ``R[i, k]`` of its ``k`` most similar targets on
    source i; similarity = Pearson correlation of the standardized scores over the sources observed on
    both (3+), times ``n / (n + shrink)``, negative ones dropped (Koren, KDD 2008: factors + neighbours)."""
    Mf = M.astype(np.float64)
    A = np.where(M, Z, 0.0)
    n = Mf.T @ Mf
    sx = A.T @ Mf
    sxx = (A * A).T @ Mf
    num = n * (A.T @ A) - sx * sx.T
    var = np.maximum(n * sxx - sx * sx, 0.0)
    den = np.sqrt(var * var.T)
    W = np.where((den > 0) & (n >= 3), num / np.where(den > 0, den, 1.0), 0.0) * n / (n + shrink)
    np.fill_diagonal(W, 0.0)
    W = np.maximum(W, 0.0)
    if k < W.shape[1]:
        cut = -np.sort(-W, axis=1)[:, k - 1:k]
        W = np.where(W >= cut, W, 0.0)
    top = np.where(M, R, 0.0) @ W.T
    weight = Mf @ W.T
    return np.where(weight > 0, top / np.where(weight > 0, weight, 1.0), 0.0)


def _mean_rank_correlation(Y: np.ndarray, P: np.ndarray, M: np.ndarray) -> float:
    """Mean over targets with 3+ cells in ``M`` of the Spearman correlation of ``P`` with ``Y`` there
    (0 for a constant column)."""
    from scipy.stats import rankdata

    out = []
    for j in range(Y.shape[1]):
        m = M[:, j]
        if m.sum() < 3:
            continue
        a, b = rankdata(Y[m, j]), rankdata(P[m, j])
        sa, sb = a.std(), b.std()
        out.append(float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb)) if sa > 0 and sb > 0 else 0.0)
    return float(np.mean(out)) if out else 0.0


def _fit(Y, M, lam, prior, rank, ridge, n_mu_iter=3, beta=0.0):
    """(zhat over all cells, mu, s, a, U) of the model fitted on the cells ``M``."""
    mu, s = _column_scale(Y, M)
    a = np.zeros(Y.shape[0])
    for _ in range(n_mu_iter):
        Z = (Y - mu) / s
        a = _source_means(Z, M, lam, prior)
        n = M.sum(axis=0)
        mu = np.where(n > 0, np.where(M, Y - s * a[:, None], 0.0).sum(axis=0) / np.maximum(n, 1), mu)
    Z = (Y - mu) / s
    a = _source_means(Z, M, lam, prior)
    zhat = np.repeat(a[:, None], Y.shape[1], axis=1)
    U = np.zeros((Y.shape[0], 0))
    if rank > 0:
        U, V = als_fit(np.where(M, Z - a[:, None], 0.0), M, rank, ridge)
        zhat = zhat + U @ V.T
    if beta > 0:
        zhat = zhat + beta * _neighbour_term(Z, Z - zhat, M, NEIGHBOURS)
    return zhat, mu, s, a, U


def predict_matrix(
    Y: np.ndarray,
    observed: np.ndarray,
    *,
    lam: float = 1.0,
    prior: np.ndarray | None = None,
    min_side: int = 20,
    n_folds: int = 5,
    seed: int = 0,
    ranks: tuple[int, ...] = RANKS,
    ridges: tuple[float, ...] = RIDGES,
    betas: tuple[float, ...] = BETAS,
) -> Prediction:
    """Predict every cell of ``Y`` (S sources x T targets) from the cells where ``observed`` is True.

    Parameters
    ----------
    Y : array (S, T)
        Scores; values outside ``observed`` (or not finite) are ignored.
    observed : bool array (S, T)
    lam : float
        Shrinkage weight of the source mean towards ``prior`` (in pseudo-observations).
    prior : array (S,), optional
        Prior standardized strength of each source (e.g. from descriptors); default 0.
    min_side : int
        The low-rank and neighbour terms are considered only when at least this many sources and
        targets have 2+ observed cells each.
    n_folds, seed : int
        Cross-validation folds over the observed cells and the seed of their assignment.
    ranks, ridges, betas : tuples
        The candidate ranks (0 = none), ridge penalties and neighbour weights (0 is always tried).

    Returns
    -------
    Prediction
        See the module docstring for the model.

    Raises
    ------
    InputError
        ``Y`` and ``observed`` are not 2-D arrays of the same shape, or nothing is observed.
    """
    Y, M = _check(Y, observed)
    if not M.any():
        raise InputError("predict_matrix needs at least one observed cell; got none.")
    S, T = Y.shape
    prior = np.zeros(S) if prior is None else np.asarray(prior, dtype=np.float64).reshape(S)
    Yf = np.where(M, Y, 0.0)
    rich_rows = int((M.sum(axis=1) >= 2).sum())
    rich_cols = int((M.sum(axis=0) >= 2).sum())
    candidates = [(0, float("nan"))]
    if rich_rows >= min_side and rich_cols >= min_side:
        candidates += [(r, g) for r in ranks if 0 < r < min(rich_rows, rich_cols) for g in ridges]
    cv_mse = float("nan")
    best = candidates[0]
    fold = _folds(M, n_folds, seed)
    _, s_all = _column_scale(Yf, M)  # errors of every fold in the same units: the full data's s_j
    beta = 0.0

    held = fold >= 0

    def cv_error(rank, ridge, beta):
        """(minus the mean per-target Spearman correlation between the held-out predictions and the
        scores, the pooled mean squared held-out error): every observed cell is predicted once, by the
        fit that did not see it; the ranking term decides, the error breaks ties and sizes ``sd``."""
        pred = np.zeros(Y.shape)
        for f in range(n_folds):
            test = fold == f
            if not test.any():
                continue
            zhat, mu, s, _, _ = _fit(Yf, M & ~test, lam, prior, rank, ridge, beta=beta)
            pred = np.where(test, mu + s * zhat, pred)
        err = ((Yf - pred) / s_all)[held]
        return (-_mean_rank_correlation(Yf, pred, held), float(err @ err / max(len(err), 1)))

    if (fold >= 0).sum() >= n_folds:
        errors = [cv_error(rank, ridge, 0.0) for rank, ridge in candidates]
        k = min(range(len(errors)), key=errors.__getitem__)  # first minimum: the smaller model on ties
        best, score = candidates[k], errors[k]
        if rich_cols >= min_side:  # the neighbour term on the source means alone, and on the chosen rank
            for model in dict.fromkeys([candidates[0], best]):
                for b in betas:
                    e = cv_error(*model, b)
                    if e < score:
                        best, beta, score = model, b, e
        cv_mse = score[1]
    rank, ridge = best
    zhat, mu, s, a, U = _fit(Yf, M, lam, prior, rank, ridge, beta=beta)
    if not np.isfinite(cv_mse):
        resid = ((Yf - mu) / s - zhat)[M]
        cv_mse = float(resid @ resid / max(len(resid), 1)) if len(resid) > 1 else 1.0
    n_i = M.sum(axis=1)
    sd_z = np.sqrt(cv_mse * (1.0 + 1.0 / (n_i + lam)))
    mean = mu + s * zhat
    sd = s[None, :] * sd_z[:, None]
    return Prediction(mean=mean, sd=sd, rank=int(rank), ridge=float(ridge), cv_mse=cv_mse,
                      source_factors=np.column_stack([a, U]), beta=float(beta))
