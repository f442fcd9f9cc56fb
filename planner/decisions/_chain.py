r"""Curriculum objective "chain" on arrays: a single model fine-tuned task after task.

.. math:: J_{\text{chain}}(\pi) = w_{ext}(\pi_1) + \sum_{k \ge 2} w(\pi_{k-1} \to \pi_k)

(missing edge: 0). With a virtual root ``r`` (``r -> t`` weighs :math:`w_{ext}(t)`, ``t -> r`` weighs 0)
this is a maximum-weight Hamiltonian cycle, i.e. an asymmetric TSP (NP-hard).

- Exact: Held–Karp dynamic programme, O(2^n n^2) time and memory, used for n <= HELD_KARP_MAX.
- Heuristic: the assignment relaxation (``scipy.optimize.linear_sum_assignment``) gives an upper
  bound and a cycle cover; cycles are patched pairwise by the cheapest 2-exchange (Karp 1979), then
  single tasks are relocated while that improves (or-opt).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["chain_value", "held_karp", "assignment_patch", "HELD_KARP_MAX"]

#: largest task count solved exactly by Held–Karp (2^16 * 16 states)
HELD_KARP_MAX = 16


def chain_value(W: np.ndarray, w_ext: np.ndarray, order) -> float:
    """J_chain of ``order`` (indices) for task weights ``W`` (n, n) and ``w_ext`` (n,)."""
    order = np.asarray(order, dtype=int)
    if len(order) == 0:
        return 0.0
    return float(w_ext[order[0]] + W[order[:-1], order[1:]].sum())


def held_karp(W: np.ndarray, w_ext: np.ndarray, start: int | None = None) -> list[int]:
    """Exact best order for J_chain; ``start`` fixes the first task. Ties: smaller indices first."""
    n = len(w_ext)
    full = (1 << n) - 1
    dp = np.full((1 << n, n), -np.inf)
    back = np.full((1 << n, n), -1, dtype=np.int16)
    firsts = range(n) if start is None else [start]
    for j in firsts:
        dp[1 << j, j] = w_ext[j]
    masks = np.arange(1 << n)
    popcount = np.array([bin(m).count("1") for m in range(1 << n)])
    for size in range(2, n + 1):
        layer = masks[popcount == size]
        for j in range(n):
            sel = layer[(layer >> j) & 1 == 1]
            prev = sel ^ (1 << j)
            cand = dp[prev] + W[:, j][None, :]
            arg = np.argmax(cand, axis=1)
            dp[sel, j] = cand[np.arange(len(sel)), arg]
            back[sel, j] = arg
    last = int(np.argmax(dp[full]))
    order = [last]
    mask = full
    while len(order) < n:
        prev = int(back[mask, order[-1]])
        mask ^= 1 << order[-1]
        order.append(prev)
    return order[::-1]


def _cycles(succ: np.ndarray) -> list[list[int]]:
    seen = np.zeros(len(succ), dtype=bool)
    out = []
    for s in range(len(succ)):
        if seen[s]:
            continue
        cyc, v = [], s
        while not seen[v]:
            seen[v] = True
            cyc.append(v)
            v = int(succ[v])
        out.append(cyc)
    return out


def _patch(C: np.ndarray, succ: np.ndarray) -> np.ndarray:
    """Merge the cycles of ``succ`` into one: repeatedly join the smallest cycle to another by the
    best 2-exchange (a->a', b->b' become a->b', b->a')."""
    succ = succ.copy()
    while True:
        cycles = _cycles(succ)
        if len(cycles) == 1:
            return succ
        big = min(cycles, key=lambda c: (len(c), min(c)))
        inside = np.zeros(len(succ), dtype=bool)
        inside[big] = True
        a = np.asarray(big)
        b = np.flatnonzero(~inside)
        a2, b2 = succ[a], succ[b]
        delta = C[a[:, None], b2[None, :]] + C[b[None, :], a2[:, None]] - C[a, a2][:, None] - C[b, b2][None, :]
        i, k = np.unravel_index(int(np.argmax(delta)), delta.shape)
        succ[a[i]], succ[b[k]] = b2[k], a2[i]


def _relocate(C: np.ndarray, succ: np.ndarray, root: int, max_passes: int = 20) -> np.ndarray:
    """Or-opt: move single non-root nodes to their best position while the cycle weight rises."""
    N = len(succ)
    for _ in range(max_passes):
        improved = False
        for v in range(N):
            if v == root:
                continue
            pred = np.empty(N, dtype=int)
            pred[succ] = np.arange(N)
            p, s = pred[v], succ[v]
            removal = C[p, s] - C[p, v] - C[v, s]
            x = np.flatnonzero((np.arange(N) != v) & (np.arange(N) != p))
            y = succ[x]
            ins = C[x, v] + C[v, y] - C[x, y]
            best = int(np.argmax(ins))
            if removal + ins[best] > 1e-12:
                succ[p] = s
                xb, yb = x[best], succ[x[best]]
                succ[xb], succ[v] = v, yb
                improved = True
        if not improved:
            break
    return succ


def assignment_patch(W: np.ndarray, w_ext: np.ndarray, start: int | None = None) -> tuple[list[int], float]:
    """Heuristic order for J_chain and the assignment upper bound on its optimum."""
    n = len(w_ext)
    N = n + 1
    root = n
    scale = float(np.abs(W).sum() + np.abs(w_ext).sum() + 1.0)
    penalty = -10.0 * scale
    C = np.full((N, N), penalty)
    C[:n, :n] = W
    C[root, :n] = w_ext if start is None else penalty
    if start is not None:
        C[root, start] = w_ext[start]
    C[:n, root] = 0.0
    np.fill_diagonal(C, penalty)
    rows, cols = linear_sum_assignment(C, maximize=True)
    bound = float(C[rows, cols].sum())
    succ = np.empty(N, dtype=int)
    succ[rows] = cols
    succ = _relocate(C, _patch(C, succ), root)
    order = []
    v = int(succ[root])
    while v != root:
        order.append(v)
        v = int(succ[v])
    return order, bound
