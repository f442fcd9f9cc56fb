r"""Exact task grouping by dynamic programming over subsets (small n, any cap).

With :math:`f_j(S)` the best value of partitioning the task set S into at most j groups,

.. math:: f_j(S) = \max\Bigl(f_{j-1}(S),\; \max_{G \subseteq S,\ \min S \in G,\ |G| \le cap}
          V(G) + f_{j-1}(S \setminus G)\Bigr), \qquad f_j(\emptyset) = 0,

and the optimum is :math:`f_k(\text{all})`. Requiring the lowest task of S in G enumerates every
partition once; the (S, G) pairs number about :math:`3^n / 2` (2.4 million at n = 14), evaluated
in numpy per layer j, so the cost is :math:`O(3^n k)` time and :math:`O(3^n)` memory. Used for
n <= DP_MAX; no solver tolerance is involved.
"""
from __future__ import annotations

import numpy as np

from transfergraph.planner.decisions._grouping_exact import group_values

__all__ = ["grouping_dp", "DP_MAX"]

#: largest task count solved by the subset DP (3^14 = 4.8 million (G, R) codes enumerated)
DP_MAX = 14


def _codes(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(G, R) bit masks of every assignment of m elements to {out, G, R} (3^m each)."""
    codes = np.arange(3 ** m, dtype=np.int64)
    G = np.zeros_like(codes)
    R = np.zeros_like(codes)
    for i in range(m):
        digit = codes % 3
        codes //= 3
        G |= (digit == 1).astype(np.int64) << i
        R |= (digit == 2).astype(np.int64) << i
    return G, R


def _pairs(n: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """All (G, R) with G non-empty, |G| <= cap, G & R = 0 and lowbit(G) < lowbit(R) or R = 0."""
    h = n // 2
    g_lo, r_lo = _codes(h)
    g_hi, r_hi = _codes(n - h)
    G = ((g_hi[:, None] << h) | g_lo[None, :]).ravel()
    R = ((r_hi[:, None] << h) | r_lo[None, :]).ravel()
    popcount = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        popcount += (np.arange(1 << n) >> i) & 1
    keep = (G > 0) & (popcount[G] <= cap) & ((R == 0) | ((G & -G) < (R & -R)))
    return G[keep], R[keep]


def grouping_dp(A: np.ndarray, *, n_groups: int, cap: int) -> list[list[int]]:
    """Optimal partition (index lists) of the n = A.shape[0] <= DP_MAX tasks."""
    n = A.shape[0]
    if n == 0:
        return []
    full = (1 << n) - 1
    masks = np.arange(1 << n)
    members = ((masks[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
    V = group_values(A, members)
    G, R = _pairs(n, cap)
    S = G | R
    gain = V[G]
    k = min(n_groups, n)
    layers = [np.full(1 << n, -np.inf)]
    layers[0][0] = 0.0
    for _ in range(k):
        prev = layers[-1]
        f = prev.copy()
        np.maximum.at(f, S, gain + prev[R])
        layers.append(f)
    # backtrack: at each step take the first G (in enumeration order) attaining the layer's value
    groups: list[list[int]] = []
    rest, j = full, k
    while rest:
        f, prev = layers[j], layers[j - 1]
        if prev[rest] >= f[rest]:  # fewer groups suffice
            j -= 1
            continue
        low = rest & -rest
        sub = rest ^ low
        best_g, best_v = -1, -np.inf
        g = sub
        while True:  # every submask of rest containing its lowest bit
            cand = g | low
            if bin(cand).count("1") <= cap:
                v = V[cand] + prev[rest ^ cand]
                if v > best_v:
                    best_g, best_v = cand, v
            if g == 0:
                break
            g = (g - 1) & sub
        groups.append([i for i in range(n) if best_g >> i & 1])
        rest ^= best_g
        j -= 1
    return groups
