r"""Dense Chu–Liu/Edmonds maximum spanning arborescence on a weight matrix (in place, iterative).

Every non-root node takes its best in-edge. While these edges contain a cycle ``C``, ``C`` is
contracted into one node that reuses the matrix slot of its first member: an edge entering ``C`` at
``v`` is re-weighted to :math:`W_{uv} - W_{p(v)v}` (``p(v)`` the in-cycle parent), parallel edges
keep their maximum, and only the new node needs a new best in-edge (every other node's best value is
unchanged). Expansion walks the contractions backwards: each cycle keeps all its edges except the one
into the member where the chosen entering edge lands (Chu & Liu 1965; Edmonds 1967; Tarjan 1977).
Each contraction costs O(|C| m), so a dense graph takes O(m²) array work plus one O(m) cycle scan per
round (timings by size: ``benchmarks/decisions.py`` and ``benchmarks/RESULTS.md``).
"""
from __future__ import annotations

import numpy as np

from transfergraph.planner.common.exceptions import InfeasiblePlanError

__all__ = ["max_spanning_arborescence"]


def _find_cycles(par: list[int], active: np.ndarray) -> list[np.ndarray]:
    """Cycles of the parent function ``par`` over active slots (root: -1), as sorted arrays."""
    m = len(par)
    state = [0] * m  # 0 new, 1 on the current walk, 2 finished
    cycles = []
    for s in np.flatnonzero(active).tolist():
        if state[s]:
            continue
        path = []
        v = s
        while v != -1 and state[v] == 0:
            state[v] = 1
            path.append(v)
            v = par[v]
        if v != -1 and state[v] == 1:
            cycles.append(np.sort(np.asarray(path[path.index(v):])))
        for u in path:
            state[u] = 2
    return cycles


class _Contractor:
    """Mutable state of one run: weights W, original endpoints (ou, ov) of every current edge."""

    def __init__(self, W: np.ndarray, root: int):
        m = W.shape[0]
        self.m = m
        self.root = root
        self.W = np.array(W, dtype=float, copy=True)
        np.fill_diagonal(self.W, -np.inf)
        self.W[:, root] = -np.inf
        self.ou = np.repeat(np.arange(m)[:, None], m, axis=1)
        self.ov = np.repeat(np.arange(m)[None, :], m, axis=0)
        self.active = np.ones(m, dtype=bool)
        self.slot_id = np.arange(m)
        self.owner: list[int] = [-1] * m  # node id -> supernode id that swallowed it
        self.members: list[list[int] | None] = [None] * m
        self.enter: list[tuple[int, int] | None] = [None] * m  # in-edge held when contracted

    def best_parent(self, s: int) -> int:
        col = self.W[:, s]
        p = int(np.argmax(col))
        if not np.isfinite(col[p]):
            raise InfeasiblePlanError("no spanning arborescence: some task cannot be reached from the root.")
        return p

    def contract(self, cyc: np.ndarray, par: list[int]) -> int:
        """Contract cycle ``cyc`` (slots); returns the slot of the new node."""
        W, ou, ov, m = self.W, self.ou, self.ov, self.m
        rows = np.arange(m)
        pc = np.asarray([par[v] for v in cyc])
        new_id = len(self.members)
        self.members.append(self.slot_id[cyc].tolist())
        self.enter.append(None)
        self.owner.append(-1)
        for v, p in zip(cyc.tolist(), pc.tolist()):
            nid = int(self.slot_id[v])
            self.enter[nid] = (int(ou[p, v]), int(ov[p, v]))
            self.owner[nid] = new_id
        adj = W[:, cyc] - W[pc, cyc][None, :]
        j = np.argmax(adj, axis=1)
        col, col_u, col_v = adj[rows, j], ou[rows, cyc[j]], ov[rows, cyc[j]]
        i = np.argmax(W[cyc, :], axis=0)
        row, row_u, row_v = W[cyc[i], rows], ou[cyc[i], rows], ov[cyc[i], rows]
        rep = int(cyc[0])
        W[:, rep], ou[:, rep], ov[:, rep] = col, col_u, col_v
        W[rep, :], ou[rep, :], ov[rep, :] = row, row_u, row_v
        W[cyc, :] = -np.inf
        W[:, cyc] = -np.inf
        W[rep, :] = row
        W[rep, cyc] = -np.inf
        W[:, rep] = col
        W[cyc, rep] = -np.inf
        W[:, self.root] = -np.inf
        self.active[cyc[1:]] = False
        self.slot_id[rep] = new_id
        return rep

    def expand(self, par: list[int]) -> np.ndarray:
        final: dict[int, tuple[int, int]] = {}
        for s in np.flatnonzero(self.active).tolist():
            if s != self.root:
                p = par[s]
                final[int(self.slot_id[s])] = (int(self.ou[p, s]), int(self.ov[p, s]))
        for c in range(len(self.members) - 1, self.m - 1, -1):
            u_o, v_o = final[c]
            x = v_o
            while self.owner[x] != c:
                x = self.owner[x]
            for w in self.members[c]:
                final[w] = (u_o, v_o) if w == x else self.enter[w]
        parent = np.full(self.m, -1)
        for v in range(self.m):
            if v != self.root:
                parent[v] = final[v][0]
        return parent


def max_spanning_arborescence(W: np.ndarray, root: int = 0) -> np.ndarray:
    """Parent array of a maximum-weight spanning arborescence rooted at ``root``.

    Parameters
    ----------
    W : (m, m) float array
        ``W[u, v]`` is the weight of edge u->v; ``-inf`` marks a missing edge. The diagonal and the
        column of ``root`` are ignored.
    root : int

    Returns
    -------
    (m,) int array
        ``parent[v]`` for every node, ``-1`` for the root. Deterministic (argmax ties: smaller index).

    Raises
    ------
    InfeasiblePlanError
        Some node is unreachable from ``root``.
    """
    st = _Contractor(W, root)
    m = st.m
    par = [-1 if s == root else st.best_parent(s) for s in range(m)]
    while True:
        cycles = _find_cycles(par, st.active)
        if not cycles:
            break
        for cyc in cycles:
            rep = st.contract(cyc, par)
            gone = set(cyc.tolist())
            par = [rep if p in gone else p for p in par]
            par[rep] = st.best_parent(rep)
    return st.expand(par)
