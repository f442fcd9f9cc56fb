r"""Curriculum objective "cumulative" on arrays: every earlier task helps every later one.

.. math:: J_{\text{cum}}(\pi) = \sum_{j < k} w(\pi_j \to \pi_k)

(missing edge: 0), the linear ordering problem (NP-hard).

- Exact: MILP on :math:`x_{ij}` = "i before j" (i < j) with the 3-cycle inequalities
  :math:`0 \le x_{ij} + x_{jk} - x_{ik} \le 1`, for n <= LOP_EXACT_MAX.
- Heuristic: sort by net flow :math:`\sum_j (w_{ij} - w_{ji})`, then insertion local search.
- Bound: :math:`\sum_{i<j} \max(w_{ij}, w_{ji})`, or the MILP's dual bound.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from transfergraph.planner.decisions._milp import MilpOutcome, maximize_milp

__all__ = ["lop_value", "lop_milp", "lop_heuristic", "lop_bound", "LOP_EXACT_MAX"]

#: largest task count given to the exact MILP (C(40,3) = 9880 triangle pairs of rows)
LOP_EXACT_MAX = 40


def lop_value(W: np.ndarray, order) -> float:
    """J_cum of ``order`` for weights ``W`` (n, n) (diagonal ignored)."""
    order = np.asarray(order, dtype=int)
    sub = W[np.ix_(order, order)]
    return float(np.triu(sub, 1).sum())


def lop_bound(W: np.ndarray, start: int | None = None) -> float:
    """Sum over pairs of the better direction (the start's pairs are forced to start-first)."""
    M = np.maximum(W, W.T)
    if start is not None:
        M[start, :] = W[start, :]
        M[:, start] = W[start, :]
    return float(np.triu(M, 1).sum())


def lop_milp(W: np.ndarray, *, start: int | None, time_limit: float) -> tuple[list[int] | None, MilpOutcome]:
    """Exact linear ordering by MILP; returns (order or None, solver outcome)."""
    n = W.shape[0]
    iu, ju = np.triu_indices(n, 1)
    var = -np.ones((n, n), dtype=int)
    var[iu, ju] = np.arange(len(iu))
    c = W[iu, ju] - W[ju, iu]
    const = float(W[ju, iu].sum())
    tri = [(i, j, k) for i in range(n) for j in range(i + 1, n) for k in range(j + 1, n)]
    nv = len(iu)
    if tri:
        t = np.asarray(tri)
        r = np.repeat(np.arange(len(t)), 3)
        cidx = np.stack([var[t[:, 0], t[:, 1]], var[t[:, 1], t[:, 2]], var[t[:, 0], t[:, 2]]], 1).ravel()
        vals = np.tile([1.0, 1.0, -1.0], len(t))
        A = sparse.csr_matrix((vals, (r, cidx)), shape=(len(t), nv))
        lb, ub = np.zeros(len(t)), np.ones(len(t))
    else:
        A = sparse.csr_matrix((1, max(nv, 1)))
        lb, ub = np.zeros(1), np.zeros(1)
    lo, hi = np.zeros(nv), np.ones(nv)
    if start is not None:
        hi[var[:start, start][var[:start, start] >= 0]] = 0.0  # i < start: x_{i,start} = 0
        lo[var[start, start + 1:]] = 1.0                       # start < j: x_{start,j} = 1
    if nv == 0:
        return list(range(n)), MilpOutcome(None, True, const, 0, "trivial")
    out = maximize_milp(c, A, lb, ub, np.ones(nv), time_limit=time_limit, var_lb=lo, var_ub=hi)
    bound = None if out.bound is None else out.bound + const
    out = MilpOutcome(out.x, out.optimal, bound, out.status, out.message)
    if out.x is None:
        return None, out
    x = out.x > 0.5
    before = np.zeros((n, n), dtype=int)
    before[iu, ju] = x
    before[ju, iu] = ~x
    order = sorted(range(n), key=lambda v: (-before[v].sum(), v))
    return order, out


def _insertion_pass(W: np.ndarray, order: list[int], fixed_first: bool) -> bool:
    improved = False
    for v in list(order):
        if fixed_first and order[0] == v:
            continue
        p = order.index(v)
        seq = np.asarray(order)
        d = W[seq, v] - W[v, seq]
        cs = np.concatenate([[0.0], np.cumsum(d)])  # cs[r] = sum_{q < r} d_q
        n = len(order)
        gains = np.full(n, -np.inf)
        after = np.arange(p + 1, n)
        gains[after] = cs[after + 1] - cs[p + 1]
        lo = 1 if fixed_first else 0
        before = np.arange(lo, p)
        gains[before] = -(cs[p] - cs[before])
        q = int(np.argmax(gains))
        if gains[q] > 1e-12:
            order.pop(p)
            order.insert(q, v)
            improved = True
    return improved


def lop_heuristic(W: np.ndarray, *, start: int | None = None, max_passes: int = 50) -> list[int]:
    """Net-flow order (ties: index) refined by insertion moves; ``start`` stays first."""
    n = W.shape[0]
    flow = W.sum(axis=1) - W.sum(axis=0)
    order = sorted(range(n), key=lambda v: (-flow[v], v))
    if start is not None:
        order.remove(start)
        order.insert(0, start)
    for _ in range(max_passes):
        if not _insertion_pass(W, order, start is not None):
            break
    return order
