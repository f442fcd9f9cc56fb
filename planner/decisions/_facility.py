r"""Budgeted source set = facility location, on arrays.

Objective on a positive-part weight matrix ``P = max(W, 0)`` (S sources, T targets; 0 where no edge):

.. math:: f(B) = \sum_t \max\bigl(0, \max_{s \in B} P_{st}\bigr), \qquad |B| \le b.

``f`` is monotone submodular, so greedy is a (1 - 1/e)-approximation (Nemhauser, Wolsey & Fisher 1978);
a 1-swap pass improves it, and for any set S the bound
:math:`f(\mathrm{OPT}) \le f(S) + \sum_{\text{top } b} \Delta(e \mid S)` certifies its gap.
The exact MILP (DECISIONS.md §3): binary :math:`y_s`, continuous :math:`x_{st} \in [0,1]` for
:math:`P_{st} > 0`; max :math:`\sum P_{st} x_{st}` s.t. :math:`\sum_s x_{st} \le 1`,
:math:`x_{st} \le y_s`, :math:`\sum_s y_s \le b`.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from ._milp import MilpOutcome, maximize_milp

__all__ = ["facility_value", "greedy_swap", "submodular_bound", "facility_milp", "prune_unused"]


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


def prune_unused(P: np.ndarray, chosen) -> list[int]:
    """Drop chosen sources that are no target's strictly positive best (f is unchanged)."""
    chosen = sorted(chosen)
    if not chosen:
        return chosen
    sub = P[chosen]
    best = np.argmax(sub, axis=0)
    used = {chosen[best[t]] for t in range(P.shape[1]) if sub[best[t], t] > 0}
    return [s for s in chosen if s in used]


def facility_milp(P: np.ndarray, budget: int, *, time_limit: float) -> tuple[list[int] | None, MilpOutcome]:
    """Solve the facility-location MILP; returns (chosen rows or None, solver outcome)."""
    S, T = P.shape
    es, et = np.nonzero(P > 0)
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
    out = maximize_milp(c, A, lb, ub, integrality, time_limit=time_limit)
    if out.x is None:
        return None, out
    return sorted(np.flatnonzero(out.x[:S] > 0.5).tolist()), out
