r"""Heuristic task grouping: two starts, move local search, iterated local search.

Objective as in :mod:`._grouping_exact`: :math:`\sum_G T_G / (|G|-1)` with :math:`T_G` the affinity
inside G. With ``S = A + Aᵀ`` and :math:`P_{ig} = \sum_{u \in g} S_{ui}` (what task i exchanges with
group g), moving i from g to h changes :math:`T_g` by :math:`-P_{ig}` and :math:`T_h` by
:math:`+P_{ih}`, so every move is scored in O(K) and applied in O(n).

1. Starts: greedy agglomerative merging by exact objective change (continues while it gains or while
   there are more than k groups; capped merges skipped; O(n²) per merge through a maintained gain
   matrix), and average linkage on (A + Aᵀ)/2 cut at k clusters (cap repaired by moves).
2. Local search: sweep tasks in index order applying each task's best improving move; when no move
   improves, sweep pairwise swaps (O(n) per task, needed when caps are tight); repeat.
3. ILS: perturb 10% of the tasks of the best solution (random move, or a swap into a full group),
   local search, keep if better. Seeded by ``numpy.random.default_rng(seed)``.
"""
from __future__ import annotations

import time

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

__all__ = ["ils_grouping", "greedy_merge", "average_linkage"]

EPS = 1e-12


def _V(T, s):
    return np.where(s >= 2, T / np.maximum(s - 1, 1), 0.0)


class _State:
    def __init__(self, S: np.ndarray, labels: np.ndarray, K: int):
        self.S = S
        self.labels = labels.astype(int).copy()
        self.K = K
        onehot = np.zeros((len(labels), K))
        onehot[np.arange(len(labels)), self.labels] = 1.0
        self.P = S @ onehot
        self.sizes = onehot.sum(axis=0)
        self.T = (onehot * self.P).sum(axis=0) / 2.0
        self.Vg = _V(self.T, self.sizes)

    def copy(self) -> "_State":
        new = object.__new__(_State)
        new.S, new.K = self.S, self.K
        new.labels, new.P, new.sizes, new.T, new.Vg = (
            self.labels.copy(), self.P.copy(), self.sizes.copy(), self.T.copy(), self.Vg.copy())
        return new

    @property
    def value(self) -> float:
        return float(self.Vg.sum())

    def move_deltas(self, i: int) -> np.ndarray:
        g = self.labels[i]
        loss = _V(self.T[g] - self.P[i, g], self.sizes[g] - 1) - self.Vg[g]
        gain = _V(self.T + self.P[i], self.sizes + 1) - self.Vg
        d = loss + gain
        d[g] = -np.inf
        return d

    def move(self, i: int, h: int) -> None:
        g = self.labels[i]
        self.T[g] -= self.P[i, g]
        self.T[h] += self.P[i, h]
        self.sizes[g] -= 1
        self.sizes[h] += 1
        self.P[:, g] -= self.S[:, i]
        self.P[:, h] += self.S[:, i]
        self.labels[i] = h
        self.Vg[[g, h]] = _V(self.T[[g, h]], self.sizes[[g, h]])

    def swap_deltas(self, i: int) -> np.ndarray:
        """Objective change of exchanging task i with every task j (-inf within i's group)."""
        g = self.labels[i]
        lab = self.labels
        rows = np.arange(len(lab))
        Tg = self.T[g] - self.P[i, g] + self.P[:, g] - self.S[i]
        Th = self.T[lab] - self.P[rows, lab] + self.P[i, lab] - self.S[i]
        d = _V(Tg, self.sizes[g]) - self.Vg[g] + _V(Th, self.sizes[lab]) - self.Vg[lab]
        d[lab == g] = -np.inf
        return d

    def _move_sweep(self, cap: int) -> bool:
        improved = False
        for i in range(len(self.labels)):
            d = self.move_deltas(i)
            d[self.sizes >= cap] = -np.inf
            h = int(np.argmax(d))
            if d[h] > EPS * max(1.0, abs(self.value)):
                self.move(i, h)
                improved = True
        return improved

    def _swap_sweep(self) -> bool:
        improved = False
        for i in range(len(self.labels)):
            d = self.swap_deltas(i)
            j = int(np.argmax(d))
            if d[j] > EPS * max(1.0, abs(self.value)):
                g, h = int(self.labels[i]), int(self.labels[j])
                self.move(i, h)
                self.move(j, g)
                improved = True
        return improved

    def local_search(self, cap: int, max_sweeps: int = 200) -> None:
        """Move sweeps until none improves, then a swap sweep; stop when neither improves."""
        for _ in range(max_sweeps):
            while self._move_sweep(cap):
                pass
            if not self._swap_sweep():
                return

    def repair(self, cap: int, k: int) -> None:
        """Make every group size <= cap and the group count <= k with least-loss moves."""
        while True:
            over = np.flatnonzero(self.sizes > cap)
            if len(over):
                g, forbid = int(over[0]), None
            elif int((self.sizes > 0).sum()) > k:
                nonempty = np.flatnonzero(self.sizes > 0)
                g = int(nonempty[np.argmin(self.sizes[nonempty])])
                forbid = self.sizes == 0
            else:
                return
            best = (-np.inf, -1, -1)
            for i in np.flatnonzero(self.labels == g):
                d = self.move_deltas(int(i))
                d[self.sizes >= cap] = -np.inf
                if forbid is not None:
                    d[forbid] = -np.inf
                h = int(np.argmax(d))
                if d[h] > best[0]:
                    best = (d[h], int(i), h)
            self.move(best[1], best[2])

    def perturb(self, rng: np.random.Generator, cap: int, frac: float = 0.1) -> None:
        n = len(self.labels)
        for i in rng.choice(n, size=max(1, int(round(frac * n))), replace=False):
            others = np.flatnonzero(np.arange(self.K) != self.labels[i])
            if len(others) == 0:
                return
            h = int(rng.choice(others))
            if self.sizes[h] < cap:
                self.move(int(i), h)
            elif self.sizes[h] > 0:
                g = self.labels[i]
                j = int(rng.choice(np.flatnonzero(self.labels == h)))
                self.move(int(i), h)
                self.move(j, int(g))


def _compact(labels: np.ndarray) -> np.ndarray:
    _, inv = np.unique(labels, return_inverse=True)
    return inv


def greedy_merge(A: np.ndarray, k: int, cap: int) -> np.ndarray:
    """Agglomerative merging by exact objective change; returns labels (may exceed k groups if the
    cap blocks merges; :meth:`_State.repair` fixes that)."""
    n = A.shape[0]
    B = A + A.T
    T = np.zeros(n)
    size = np.ones(n)
    Vg = np.zeros(n)
    active = np.ones(n, dtype=bool)
    label = np.arange(n)

    def gains(g: int) -> np.ndarray:
        sn = size[g] + size
        row = _V(T[g] + T + B[g], sn) - Vg[g] - Vg
        row[(~active) | (sn > cap)] = -np.inf
        row[g] = -np.inf
        return row

    G = _V(T[:, None] + T[None, :] + B, size[:, None] + size[None, :]) - Vg[:, None] - Vg[None, :]
    G[size[:, None] + size[None, :] > cap] = -np.inf
    np.fill_diagonal(G, -np.inf)
    m = n
    while m > 1:
        flat = int(np.argmax(G))
        g, h = divmod(flat, n)
        best = G[g, h]
        if not np.isfinite(best) or (best <= EPS and m <= k):
            break
        g, h = min(g, h), max(g, h)
        T[g] += T[h] + B[g, h]
        size[g] += size[h]
        Vg[g] = _V(T[g], size[g])
        B[g, :] += B[h, :]
        B[:, g] += B[:, h]
        active[h] = False
        label[label == h] = g
        G[h, :] = -np.inf
        G[:, h] = -np.inf
        row = gains(g)
        G[g, :] = row
        G[:, g] = row
        m -= 1
    return _compact(label)


def average_linkage(A: np.ndarray, k: int) -> np.ndarray:
    """Average-linkage clusters of the symmetrized affinity, cut at (at most) k clusters."""
    n = A.shape[0]
    if n < 2:
        return np.zeros(n, dtype=int)
    Ssym = (A + A.T) / 2.0
    D = Ssym.max() - Ssym
    np.fill_diagonal(D, 0.0)
    Z = linkage(squareform(D, checks=False), method="average")
    return _compact(fcluster(Z, t=k, criterion="maxclust"))


def _prepare(A: np.ndarray, labels: np.ndarray, k: int, cap: int) -> _State:
    K = max(k, int(labels.max()) + 1)
    st = _State(A + A.T, labels, K)
    st.repair(cap, k)
    if K > k:
        keep = np.flatnonzero(st.sizes > 0)
        remap = -np.ones(K, dtype=int)
        remap[keep] = np.arange(len(keep))
        st = _State(A + A.T, remap[st.labels], k)
    st.local_search(cap)
    return st


def ils_grouping(
    A: np.ndarray, *, n_groups: int, cap: int, seed: int = 0, rounds: int = 30, time_limit: float = 60.0
) -> tuple[np.ndarray, dict]:
    """Best labels found (n,) and facts {"start", "start_values", "rounds"}."""
    t0 = time.perf_counter()
    n = A.shape[0]
    k = min(n_groups, n)
    starts = {"greedy_merge": greedy_merge(A, k, cap), "average_linkage": average_linkage(A, k)}
    states = {name: _prepare(A, lab, k, cap) for name, lab in starts.items()}
    name = max(states, key=lambda s: (states[s].value, s == "greedy_merge"))
    best = states[name]
    rng = np.random.default_rng(seed)
    done = 0
    for _ in range(rounds if n > 2 else 0):
        if time.perf_counter() - t0 > time_limit:
            break
        cand = best.copy()
        cand.perturb(rng, cap)
        cand.local_search(cap)
        done += 1
        if cand.value > best.value + EPS * max(1.0, abs(best.value)):
            best = cand
    facts = {"start": name, "start_values": {s: states[s].value for s in states}, "ils_rounds": done}
    return best.labels.copy(), facts
