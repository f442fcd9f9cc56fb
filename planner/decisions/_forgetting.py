r"""Curriculum objectives that model forgetting, on arrays (one model trained task after task).

With ``rho`` the task similarity of :mod:`transfergraph.planner.decisions.similarity`, ``d = 1 - rho``,
``W`` the directed task->task weights (missing edge: 0) and an order ``pi`` (positions k = 1..n):

- ``periphery_core`` (Li & Hiratani 2025, "periphery-to-core"): the most atypical task first, the most
  central last. Centrality c(t) = sum_{j != t} rho(t, j);
  :math:`J(\pi) = \sum_k (k - 1)\, c(\pi_k)`. By the rearrangement inequality sorting by ascending
  centrality maximizes it (ties: task name), so it is exact at every size, with or without a fixed
  first task.
- ``max_dissimilar_path`` (Li & Hiratani's "dissimilar neighbours"): :math:`J(\pi) = \sum_{k \ge 2}
  d(\pi_{k-1}, \pi_k)`, a maximum Hamiltonian path on d. Held–Karp exact for n <= 16; beyond, the
  assignment relaxation (upper bound) + patching + relocation of :mod:`._chain`. The path value does not
  depend on its direction; without a fixed first task the direction whose first step is the more
  dissimilar one is taken (Li & Hiratani's rule; a tie: the smaller task name first).
- ``final_serves_all`` (this project's): the tasks trained last are those whose models serve the
  earlier tasks best, recency-weighted: :math:`J(\pi) = \sum_k \lambda^{n-k} \sum_{j<k} w(\pi_k \to
  \pi_j)` with :math:`\lambda = 1/2` (fixed before any measurement). Under a naive learner with one
  head per task the earlier heads read the final representation, which the last tasks shape most.
  Exact dynamic programme over subsets for n <= :data:`FORGETTING_EXACT_MAX` (the term of position k
  depends only on the task there and the *set* before it); beyond, backward greedy + insertion search,
  with an assignment upper bound: a task t at position k contributes at most
  :math:`\lambda^{n-k}` times the sum of the k - 1 largest weights out of t, and the maximum
  assignment of tasks to positions under those caps bounds the optimum.
"""
from __future__ import annotations

import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from transfergraph.planner.decisions._chain import HELD_KARP_MAX, assignment_patch, chain_value, held_karp

__all__ = ["FORGETTING_EXACT_MAX", "RECENCY", "periphery_value", "periphery_order", "path_value", "path_order",
           "serves_value", "serves_dp", "serves_heuristic", "serves_bound"]

#: largest task count for which ``final_serves_all`` runs the exact subset DP
FORGETTING_EXACT_MAX = 10
#: recency weight lambda of ``final_serves_all``
RECENCY = 0.5
#: the insertion search of ``final_serves_all`` moves tasks into or out of the last TAIL places only
TAIL = 24


def _centrality(S: np.ndarray) -> np.ndarray:
    return S.sum(axis=1) - np.diag(S)


def periphery_value(S: np.ndarray, order) -> float:
    """J_periphery_core of ``order`` (indices) for the similarity ``S`` (n, n)."""
    c = _centrality(S)
    return float(sum(k * c[t] for k, t in enumerate(order)))


def periphery_order(S: np.ndarray, start: int | None = None) -> list[int]:
    """Exact order for J_periphery_core: ascending centrality, ties by index; ``start`` first."""
    c = _centrality(S)
    rest = sorted((i for i in range(len(c)) if i != start), key=lambda i: (c[i], i))
    return ([start] if start is not None else []) + rest


def path_value(D: np.ndarray, order) -> float:
    """J_max_dissimilar_path of ``order`` for the dissimilarity ``D`` (n, n)."""
    return chain_value(D, np.zeros(len(D)), order)


def path_order(D: np.ndarray, start: int | None = None) -> tuple[list[int], float, bool]:
    """(order, upper bound, exact) for J_max_dissimilar_path (module docstring)."""
    n = len(D)
    zero = np.zeros(n)
    if n <= HELD_KARP_MAX:
        order = held_karp(D, zero, start)
        bound, exact = path_value(D, order), True
    else:
        order, bound = assignment_patch(D, zero, start)
        exact = False
    if start is None and n >= 2:
        first, last = D[order[0], order[1]], D[order[-1], order[-2]]
        if last > first or (last == first and order[-1] < order[0]):  # a tie: the smaller index first
            order = order[::-1]
    return list(map(int, order)), float(bound), exact


def serves_value(W: np.ndarray, order, recency: float = RECENCY) -> float:
    """J_final_serves_all of ``order`` for directed weights ``W`` (n, n), 0 where no edge."""
    n = len(order)
    order = np.asarray(order, dtype=int)
    if n < 2:
        return 0.0
    before = np.tril(W[np.ix_(order, order)], -1).sum(axis=1)  # row k: sum_{j<k} w(pi_k -> pi_j)
    return float(before @ recency ** np.arange(n - 1, -1, -1.0))


def serves_dp(W: np.ndarray, start: int | None = None, recency: float = RECENCY) -> list[int]:
    """Exact order for J_final_serves_all by dynamic programming over subsets, O(2^n n^2).

    f(S) = best value of the tasks of S on positions 1..|S|; f(S) = max_{t in S} f(S - t) +
    lambda^{n - |S|} sum_{j in S - t} w(t -> j). Ties: the smaller index is placed last.
    """
    n = len(W)
    full = (1 << n) - 1
    f = np.full(1 << n, -np.inf)
    back = np.full(1 << n, -1, dtype=np.int64)
    for t in (range(n) if start is None else [start]):
        f[1 << t] = 0.0
        back[1 << t] = t
    masks = np.arange(1 << n)
    bits = (masks[:, None] >> np.arange(n)[None, :]) & 1  # (2^n, n)
    popcount = bits.sum(axis=1)
    out_sum = bits @ W.T  # out_sum[mask, t] = sum_{j in mask} W[t, j]
    for size in range(2, n + 1):
        layer = masks[popcount == size]
        best = np.full(len(layer), -np.inf)
        arg = np.full(len(layer), -1, dtype=np.int64)
        weight = recency ** (n - size)
        for t in range(n):
            has = (layer >> t) & 1 == 1
            prev = layer ^ (1 << t)
            cand = np.where(has, f[prev] + weight * out_sum[prev, t], -np.inf)
            tol = np.where(np.isfinite(best), 1e-12 * np.maximum(1.0, np.abs(best)), 0.0)
            better = np.isfinite(cand) & (cand > best + tol)
            best = np.where(better, cand, best)
            arg = np.where(better, t, arg)
        f[layer] = best
        back[layer] = arg
    order, mask = [], full
    while mask:
        t = int(back[mask])
        order.append(t)
        mask ^= 1 << t
    return order[::-1]


def serves_heuristic(W: np.ndarray, start: int | None = None, recency: float = RECENCY,
                     time_limit: float = 60.0) -> list[int]:
    """Backward greedy (the last place goes to the task serving the remaining ones best, then the
    one before it, ...) followed by first-improvement insertion moves (one task to another place, into
    or out of the last :data:`TAIL` places) while the value rises and ``time_limit`` seconds are not
    spent."""
    t0 = time.perf_counter()
    n = len(W)
    left = np.ones(n, dtype=bool)
    if start is not None:
        left[start] = False
    row = W.sum(axis=1) - np.diag(W)  # row[t] = sum over the pool (all tasks, start included) of w(t -> j)
    tail: list[int] = []
    while left.any():
        # the chosen task takes the last free place; its term's weight is the same for every candidate
        t = int(np.flatnonzero(left)[np.argmax(row[left])])  # ties: smallest index
        tail.append(t)
        left[t] = False
        row -= W[:, t]
    order = ([start] if start is not None else []) + tail[::-1]
    value = serves_value(W, order, recency)
    fixed = 1 if start is not None else 0
    tail_from = max(fixed, n - TAIL)
    improved = True
    while improved and time.perf_counter() - t0 < time_limit:
        improved = False
        for i in range(fixed, n):
            # moves that touch the last TAIL places (earlier places weigh < lambda^TAIL of the last one)
            targets = range(fixed, n) if i >= tail_from else range(tail_from, n)
            for p in targets:
                if p == i:
                    continue
                rest = order[:i] + order[i + 1:]
                cand = rest[:p] + [order[i]] + rest[p:]
                v = serves_value(W, cand, recency)
                if v > value + 1e-12 * max(1.0, abs(value)):
                    order, value, improved = cand, v, True
                if time.perf_counter() - t0 >= time_limit:
                    return order
    return order


def serves_bound(W: np.ndarray, start: int | None = None, recency: float = RECENCY) -> float:
    """Assignment upper bound on max J_final_serves_all (module docstring)."""
    n = len(W)
    off = W.copy().astype(float)
    np.fill_diagonal(off, -np.inf)
    top = -np.sort(-off, axis=1)[:, : n - 1]  # each row's n - 1 off-diagonal weights, descending
    prefix = np.concatenate([np.zeros((n, 1)), np.cumsum(top, axis=1)], axis=1)  # prefix[t, k - 1]
    C = prefix[:, :n] * recency ** np.arange(n - 1, -1, -1.0)[None, :]  # C[t, k]: t at 0-based position k
    if start is not None:
        big = 10.0 * (np.abs(C).sum() + 1.0)
        C[start, 1:] -= big
        C[np.arange(n) != start, 0] -= big
    rows, cols = linear_sum_assignment(C, maximize=True)
    return float(C[rows, cols].sum())
