r"""Budgeted source set = facility location, on arrays.

Objective on a positive-part weight matrix ``P = max(W, 0)`` (S sources, T targets; 0 where no edge):

.. math:: f(B) = \sum_t \max\bigl(0, \max_{s \in B} P_{st}\bigr), \qquad |B| \le b.

``f`` is monotone submodular, so greedy is a (1 - 1/e)-approximation (Nemhauser, Wolsey & Fisher 1978);
a 1-swap pass improves it, and for any set S the bound
:math:`f(\mathrm{OPT}) \le f(S) + \sum_{\text{top } b} \Delta(e \mid S)` certifies its gap; a
Lagrangian bound (:func:`lagrangian_bound`) tightens it (measured: a few tenths of a percent).
The exact MILP, after Lagrangian variable fixing: binary :math:`y_s`, continuous :math:`x_{st} \in [0,1]` for
:math:`P_{st} > 0`; max :math:`\sum P_{st} x_{st}` s.t. :math:`\sum_s x_{st} \le 1`,
:math:`x_{st} \le y_s`, :math:`\sum_s y_s \le b`.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from transfergraph.planner.decisions._milp import MilpOutcome, maximize_milp

__all__ = [
    "facility_value", "greedy_swap", "submodular_bound", "lagrangian", "lagrangian_bound", "fix_sources",
    "facility_milp", "prune_unused",
]


def facility_value(P: np.ndarray, chosen) -> float:
    """f(B) for B = ``chosen`` (indices into the rows of ``P`` (S, T))."""
    chosen = list(chosen)
    if not chosen:
        return 0.0
    return float(P[chosen].max(axis=0).sum())


def _cover(P: np.ndarray, chosen) -> np.ndarray:
    chosen = list(chosen)
    return P[chosen].max(axis=0) if chosen else np.zeros(P.shape[1])


def _gains(P: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """Marginal gain of every source given the current cover (T,): (S,)."""
    return np.maximum(P - cover, 0.0).sum(axis=1)


def greedy_swap(P: np.ndarray, budget: int, *, max_passes: int = 20) -> list[int]:
    """Greedy by marginal gain (ties: lowest index), then best-improvement 1-swap passes.

    Stops adding when no source has a positive gain, so the set can be smaller than ``budget``.
    Returns sorted row indices.
    """
    S = P.shape[0]
    chosen: list[int] = []
    cover = np.zeros(P.shape[1])
    for _ in range(min(budget, S)):
        g = _gains(P, cover)
        g[chosen] = -1.0
        s = int(np.argmax(g))
        if g[s] <= 0.0:
            break
        chosen.append(s)
        cover = np.maximum(cover, P[s])
    value = facility_value(P, chosen)
    for _ in range(max_passes):
        improved = False
        for pos in range(len(chosen)):
            others = chosen[:pos] + chosen[pos + 1:]
            g = _gains(P, _cover(P, others))
            g[others] = -1.0
            c = int(np.argmax(g))
            new = facility_value(P, others) + g[c]
            if c != chosen[pos] and new > value + 1e-12 * max(1.0, abs(value)):
                chosen[pos] = c
                value = facility_value(P, chosen)
                improved = True
        if not improved:
            break
    return sorted(chosen)


def submodular_bound(P: np.ndarray, chosen, budget: int) -> float:
    """Upper bound on max f: min(all sources open, f(S) + sum of the ``budget`` largest gains)."""
    cover = _cover(P, chosen)
    g = np.sort(_gains(P, cover))[::-1][:budget]
    return float(min(P.max(axis=0, initial=0.0).sum(), cover.sum() + g.sum()))


def lagrangian(P: np.ndarray, chosen, budget: int, *, iters: int = 60) -> tuple[float, np.ndarray]:
    r"""Upper bound on max f from relaxing :math:`\sum_s x_{st} \le 1` with multipliers u >= 0:

    .. math:: L(u) = \sum_t u_t + \max_{|B| \le b} \sum_{s \in B} \rho_s(u), \qquad
              \rho_s(u) = \sum_t (P_{st} - u_t)^+ .

    Started at u = the cover of ``chosen`` (there L equals :func:`submodular_bound`'s second term),
    then ``iters`` Polyak subgradient steps aimed at the incumbent value. Returns the smallest L seen
    and its u. Deterministic (fixed iteration count); O(iters * S * T).
    """
    S, T = P.shape
    b = min(budget, S)
    if S == 0 or b == 0:
        return 0.0, np.zeros(T)
    lower = facility_value(P, chosen)
    u = _cover(P, chosen).copy()
    best, best_u = np.inf, u.copy()
    theta, stall = 1.0, 0
    for _ in range(iters):
        rho = np.maximum(P - u, 0.0).sum(axis=1)
        top = np.argsort(-rho, kind="stable")[:b]
        L = float(u.sum() + rho[top].sum())
        if L < best - 1e-12:
            best, best_u, stall = L, u.copy(), 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2.0, 0
        g = 1.0 - (P[top] > u).sum(axis=0)
        norm = float((g * g).sum())
        if norm == 0.0 or best - lower <= 1e-12 * max(1.0, abs(best)):
            break
        u = np.maximum(0.0, u - theta * (L - lower) / norm * g)
    return best, best_u


def lagrangian_bound(P: np.ndarray, chosen, budget: int, *, iters: int = 60) -> float:
    """The bound of :func:`lagrangian` alone."""
    return lagrangian(P, chosen, budget, iters=iters)[0]


def fix_sources(P: np.ndarray, u: np.ndarray, budget: int, lower: float) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Lagrangian variable fixing. With :math:`\rho(u)` sorted, :math:`\rho_{[b]}` the b-th largest:
    a source outside the top b with :math:`L - \rho_{[b]} + \rho_s` below ``lower`` cannot be in any
    solution better than ``lower`` (fix y_s = 0); one inside with :math:`L - \rho_s + \rho_{[b+1]}`
    below ``lower`` is in every such solution (fix y_s = 1).

    Returns (fixed_out mask, fixed_in mask, the largest of those bounds over fixed sources, or -inf):
    every solution that violates a fixing is worth at most that value.
    """
    S = P.shape[0]
    b = min(budget, S)
    rho = np.maximum(P - u, 0.0).sum(axis=1)
    order = np.argsort(-rho, kind="stable")
    L = float(u.sum() + rho[order[:b]].sum())
    in_top = np.zeros(S, dtype=bool)
    in_top[order[:b]] = True
    rb = rho[order[b - 1]] if b >= 1 else 0.0
    rb1 = rho[order[b]] if b < S else 0.0
    margin = 1e-9 * max(1.0, abs(lower))
    with_s = L - rb + rho  # bound when forcing an outside source in
    without_s = L - rho + rb1  # bound when forcing a top source out
    fixed_out = ~in_top & (with_s < lower - margin)
    fixed_in = in_top & (without_s < lower - margin) if b < S else np.zeros(S, dtype=bool)
    worst = np.concatenate([with_s[fixed_out], without_s[fixed_in]])
    return fixed_out, fixed_in, float(worst.max()) if len(worst) else -np.inf


def prune_unused(P: np.ndarray, chosen) -> list[int]:
    """Drop chosen sources that are no target's strictly positive best (f is unchanged)."""
    chosen = sorted(chosen)
    if not chosen:
        return chosen
    sub = P[chosen]
    best = np.argmax(sub, axis=0)
    used = {chosen[best[t]] for t in range(P.shape[1]) if sub[best[t], t] > 0}
    return [s for s in chosen if s in used]


def facility_milp(
    P: np.ndarray, budget: int, *, time_limit: float, fixed_out=None, fixed_in=None
) -> tuple[list[int] | None, MilpOutcome]:
    """Solve the facility-location MILP; returns (chosen rows or None, solver outcome).

    ``fixed_out`` / ``fixed_in`` (boolean (S,)) fix y_s to 0 / 1 (see :func:`fix_sources`); edges of
    fixed-out sources are not created.
    """
    S, T = P.shape
    keep = np.ones(S, dtype=bool) if fixed_out is None else ~np.asarray(fixed_out)
    es, et = np.nonzero((P > 0) & keep[:, None])
    E = len(es)
    c = np.concatenate([np.zeros(S), P[es, et]])
    rows_t = sparse.coo_matrix((np.ones(E), (et, S + np.arange(E))), shape=(T, S + E))
    link = sparse.coo_matrix(
        (np.concatenate([np.ones(E), -np.ones(E)]),
         (np.concatenate([np.arange(E), np.arange(E)]), np.concatenate([S + np.arange(E), es]))),
        shape=(E, S + E),
    )
    card = sparse.coo_matrix((np.ones(S), (np.zeros(S, int), np.arange(S))), shape=(1, S + E))
    A = sparse.vstack([rows_t, link, card]).tocsr()
    lb = np.full(T + E + 1, -np.inf)
    ub = np.concatenate([np.ones(T), np.zeros(E), [budget]])
    integrality = np.concatenate([np.ones(S), np.zeros(E)])
    var_lb = np.zeros(S + E)
    var_ub = np.ones(S + E)
    var_ub[:S][~keep] = 0.0
    if fixed_in is not None:
        var_lb[:S][np.asarray(fixed_in)] = 1.0
    out = maximize_milp(c, A, lb, ub, integrality, time_limit=time_limit, var_lb=var_lb, var_ub=var_ub)
    if out.x is None:
        return None, out
    return sorted(np.flatnonzero(out.x[:S] > 0.5).tolist()), out
