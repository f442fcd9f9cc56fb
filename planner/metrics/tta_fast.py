r"""TTA "fast" mode: the bound restricted to a label map, a temperature and per-domain standardization.

Feasible set (every member gives a valid bound; the search only picks the smallest it finds):

- feature map: reference features standardized with reference moments, target features with target
  moments (an invertible affine map); the head is rewritten in reference-standardized coordinates,
  :math:`\tilde W = W\,\mathrm{diag}(\sigma_R)`, :math:`\tilde c = c + W\mu_R`;
- label map :math:`m: Y \to Z_R` (collisions allowed), prior :math:`D_s = \sum_{y: m(y)=s} \pi_T(y)`,
  so :math:`BD = \pi_T` holds exactly;
- temperature :math:`\alpha \ge 0` on the head.

The transformed classifier :math:`g(f) = \mathrm{softmax}_y(\alpha(\tilde W_{m(y)} \tilde f + \tilde c_{m(y)})
+ \log(\pi_T(y)/D_{m(y)}))` is a linear softmax head on the target features, and

.. math::
    J_\alpha(m) = \sum_y \pi_T(y)\,\big[\ell^S_\alpha(m(y)) + \log(D_{m(y)}/\pi_T(y))
    + \tau_\alpha(m)\, W_1(\tilde R_{m(y)}, \tilde T_y)\big],
    \qquad \tau_\alpha(m) = \sqrt2\,\alpha\,\sigma_{\max}(\tilde W_{m(Y)})

bounds its empirical target cross-entropy (hence the best linear head's), where
:math:`\ell^S_\alpha(s)` is the mean over reference class s of the cross-entropy of the
softmax restricted to the used classes :math:`S = m(Y)`. The per-class identity
:math:`-\log g_y(u) = \ell^S_\alpha(u, m(y)) + \log(D_{m(y)}/\pi_T(y))` and the Lipschitz constant of
:math:`f \mapsto -\log g_y(f)` (gradient :math:`\alpha \tilde W_{m(Y)}^\top(e_y - g)`, norm at most
:math:`\sqrt2\,\alpha\,\sigma_{\max}`) give the inequality class by class through Kantorovich-Rubinstein
duality. Mehra, Zhang, Hamm, "Analysis of Task Transferability in Large Pre-trained Classifiers",
arXiv:2307.00823 (the bound's three terms); this restriction of its feasible set is ours.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from transfergraph.planner.metrics import _ot
from transfergraph.planner.metrics.tta_reference import PreparedReference
from transfergraph.planner.common.seeds import derive_seed

__all__ = ["FastProblem", "build_problem", "search", "standardize", "subsample"]

#: Temperature grid of ``lipschitz="auto"``: 0 and 16 log-spaced values in [1e-3, 1].
ALPHA_GRID = np.concatenate([[0.0], np.logspace(-3.0, 0.0, 16)])
_SQRT2 = math.sqrt(2.0)


def standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x - mean) / std`` per column (std < 1e-12 -> 1); returns ``(z, mean, std)``."""
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd < 1e-12, 1.0, sd)
    return (x - mu) / sd, mu, sd


def subsample(x: np.ndarray, codes: np.ndarray, k: int, cap: int | None, seed: int) -> list[np.ndarray]:
    """Per class, at most ``cap`` rows, independent of the sample order.

    Rows of each class are sorted lexicographically, then a seeded permutation picks ``cap`` of them
    (all rows, in sorted order, when the class has at most ``cap``). Returns one (n_c, d) array per class.
    """
    rng = np.random.default_rng(seed)
    out = []
    for c in range(k):
        rows = x[codes == c]
        rows = rows[np.lexsort(rows.T[::-1])] if rows.shape[1] else rows
        if cap is not None and len(rows) > cap:
            rows = rows[np.sort(rng.permutation(len(rows))[:cap])]
        out.append(rows)
    return out


@dataclass
class FastProblem:
    """Everything J needs: class clouds, reference logits, the pairwise W1 matrix and the prior."""

    prior: np.ndarray  # (K_T,) target label prior pi_T
    logits: list  # per reference class s: (m_s, K_R) standardized-head logits of its kept rows
    weight: np.ndarray  # (K_R, d) head in reference-standardized coordinates
    cost: np.ndarray  # (K_R, K_T) W1 between class clouds; inf where pruned
    n_target: int
    n_reference: int
    gram: np.ndarray  # (K_R, K_R) W W^T: sigma_max(W[m]) = sqrt(lambda_max(gram[m][:, m]))

    def __post_init__(self) -> None:
        self.stacked = np.concatenate(self.logits)  # (sum m_s, K_R)
        self.row_class = np.repeat(np.arange(len(self.logits)), [len(lg) for lg in self.logits])
        self.row_count = np.bincount(self.row_class, minlength=len(self.logits))

    def sigma(self, m: np.ndarray) -> float:
        """Largest singular value of the head rows W[m] (rows repeated as m repeats them)."""
        if not self.weight.size:
            return 0.0
        top = float(np.linalg.eigvalsh(self.gram[np.ix_(m, m)])[-1])
        return math.sqrt(max(top, 0.0))


def build_problem(
    f: np.ndarray, y: np.ndarray, k_t: int, prior: np.ndarray, ref: PreparedReference, *,
    std: bool, cap: int | None, candidates: int | None, seed: int,
) -> FastProblem:
    """Standardize, subsample, compute reference logits and the candidate W1 matrix."""
    u, w, c = ref.features, ref.weight, ref.bias
    if std:
        f, _, _ = standardize(f)
        u, mu_r, sd_r = standardize(u)
        c = c + w @ mu_r
        w = w * sd_r
    k_r = len(ref.classes)
    tgt = subsample(f, y, k_t, cap, seed)
    rcl = subsample(u, ref.codes, k_r, cap, derive_seed(seed, 1, scheme="offset"))
    logits = [r @ w.T + c for r in rcl]
    n_cand = k_r if candidates is None and k_r <= 50 else min(k_r, candidates or 5)
    rmeans = np.stack([r.mean(axis=0) for r in rcl])
    cost = np.full((k_r, k_t), np.inf)
    for j, t in enumerate(tgt):
        lower = np.linalg.norm(rmeans - t.mean(axis=0), axis=1)  # Jensen: ||mean_s - mean_y|| <= W1
        for s in np.argsort(lower, kind="stable")[:n_cand]:
            cost[s, j] = _ot.w1(rcl[s], t)
    return FastProblem(prior, logits, w, cost, sum(len(t) for t in tgt), sum(len(r) for r in rcl), w @ w.T)


def terms(p: FastProblem, m: np.ndarray, alpha: float | None, tau: float | None) -> tuple[float, ...]:
    """``(J, source_loss, label_entropy, wasserstein, tau, alpha)`` of map ``m`` at ``alpha`` (or fixed ``tau``)."""
    used = np.unique(m)
    sigma = p.sigma(m)
    if tau is not None:
        alpha = tau / (_SQRT2 * sigma) if sigma > 0 else 0.0
    lip = _SQRT2 * alpha * sigma
    rows = np.isin(p.row_class, used)
    a = alpha * p.stacked[rows][:, used]
    top = a.max(axis=1, keepdims=True)
    own = alpha * p.stacked[rows, p.row_class[rows]]
    loss = np.log(np.exp(a - top).sum(axis=1)) + top[:, 0] - own  # CE of the softmax over the used classes
    k_r = len(p.weight)
    loss_s = np.bincount(p.row_class[rows], weights=loss, minlength=k_r) / np.maximum(p.row_count, 1)
    d = np.zeros(k_r)
    np.add.at(d, m, p.prior)
    src = float(np.sum(p.prior * loss_s[m]))
    ent = float(np.sum(p.prior * np.log(d[m] / p.prior)))
    was = float(np.sum(p.prior * p.cost[m, np.arange(len(m))]))
    return src + ent + lip * was, src, ent, was, lip, alpha


def _start(p: FastProblem, alpha: float, tau: float | None) -> np.ndarray:
    """Initial map: min-cost assignment of the full-head surrogate (upper bound on J), or per-class argmin."""
    from scipy.optimize import linear_sum_assignment

    k_r, k_t = p.cost.shape
    sigma = float(np.linalg.norm(p.weight, 2)) if p.weight.size else 0.0
    if tau is not None:
        alpha = tau / (_SQRT2 * sigma) if sigma > 0 else 0.0
    full = np.array([_mean_ce(alpha * lg, s) for s, lg in enumerate(p.logits)])
    surrogate = p.prior[None, :] * (full[:, None] + _SQRT2 * alpha * sigma * p.cost)  # (K_R, K_T)
    finite = np.where(np.isfinite(surrogate), surrogate, 1e300)
    if k_r >= k_t:
        rows, cols = linear_sum_assignment(finite)
        m = np.empty(k_t, dtype=np.int64)
        m[cols] = rows
        if np.isfinite(p.cost[m, np.arange(k_t)]).all():
            return m
    return np.argmin(finite, axis=0).astype(np.int64)


def _mean_ce(a: np.ndarray, s: int) -> float:
    top = a.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(a - top).sum(axis=1)) + top[:, 0] - a[:, s]))


def _improve(p: FastProblem, m: np.ndarray, alpha: float, tau: float | None, passes: int = 3) -> tuple[np.ndarray, tuple]:
    """Single-class moves (collisions allowed), accepted only when the exact J decreases."""
    best = terms(p, m, alpha, tau)
    seen = {m.tobytes()}
    for _ in range(passes):
        moved = False
        for y in range(len(m)):
            for s in np.flatnonzero(np.isfinite(p.cost[:, y])):
                if s == m[y]:
                    continue
                trial = m.copy()
                trial[y] = s
                if trial.tobytes() in seen:  # already evaluated (and not better) on this path
                    continue
                seen.add(trial.tobytes())
                t = terms(p, trial, alpha, tau)
                if t[0] < best[0] - 1e-12:
                    m, best, moved = trial, t, True
        if not moved:
            break
    return m, best


def search(p: FastProblem, lipschitz: str | float, refine: int = 3) -> tuple[np.ndarray, tuple]:
    """The smallest J found over the temperature grid ("auto"), at alpha = 1 ("head") or at a fixed tau.

    Every grid temperature gets its assignment start map and exact J; the ``refine`` temperatures with
    the smallest start J then get the single-class-move search. Any (map, temperature) gives a valid
    bound, so this only trades tightness for time. "auto" also tries the constant map at alpha = 0
    (the label-prior head, J = H(pi_T)), so its bound never exceeds H(pi_T).
    """
    if isinstance(lipschitz, str):
        grid, tau = (ALPHA_GRID if lipschitz == "auto" else np.array([1.0])), None
    else:
        grid, tau = np.array([1.0]), float(lipschitz)
    starts = [(_start(p, float(a), tau), float(a)) for a in grid]
    values = [terms(p, m, a, tau) for m, a in starts]
    best_i = np.argsort([v[0] for v in values], kind="stable")[:refine]
    best_m, best = None, None
    for i in sorted(best_i):
        m, t = _improve(p, starts[i][0], starts[i][1], tau)
        if best is None or t[0] < best[0] - 1e-12:
            best_m, best = m, t
    if lipschitz == "auto":  # the label-prior head (one reference class, alpha = 0): J = H(pi_T) exactly
        full = np.flatnonzero(np.isfinite(p.cost).all(axis=1))
        if len(full):
            s = full[np.argmin((p.cost[full] * p.prior).sum(axis=1))]
            m = np.full(len(p.prior), s, dtype=np.int64)
            t = terms(p, m, 0.0, None)
            if t[0] < best[0] - 1e-12:
                best_m, best = m, t
    return best_m, best
