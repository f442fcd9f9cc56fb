r"""Exact task grouping: set partitioning over every group of size <= cap.

Affinity ``A`` (n, n), ``A[u, t]`` = a(u->t), zero diagonal. For a group G

.. math:: V(G) = \frac{1}{|G|-1} \sum_{u \ne t \in G} A_{ut} \quad (|G| \ge 2), \qquad V(\{t\}) = 0,

and the MILP is :math:`\max \sum_G V(G) y_G` s.t. :math:`\sum_{G \ni t} y_G = 1` for every task and
:math:`\sum_G y_G \le k`, binary :math:`y`. The columns number :math:`\sum_{s \le cap} \binom{n}{s}`;
the solver is used while that is at most MAX_COLUMNS (n <= 14 uncapped, n <= 20 with cap 4,
n <= 40 with cap 3).
"""
from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
from scipy import sparse

from transfergraph.planner.decisions._milp import MilpOutcome, maximize_milp

__all__ = ["group_values", "partition_value", "column_count", "grouping_milp", "MAX_COLUMNS"]

#: largest number of enumerated groups handed to the exact MILP
MAX_COLUMNS = 20_000


def column_count(n: int, cap: int) -> int:
    """Number of groups of size 1..cap out of n tasks."""
    return sum(comb(n, s) for s in range(1, min(cap, n) + 1))


def group_values(A: np.ndarray, members: np.ndarray) -> np.ndarray:
    """V(G) for each row of the boolean membership matrix ``members`` (C, n): (C,)."""
    Mf = members.astype(float)
    total = ((Mf @ A) * Mf).sum(axis=1)
    size = Mf.sum(axis=1)
    return np.where(size >= 2, total / np.maximum(size - 1, 1), 0.0)


def partition_value(A: np.ndarray, groups) -> float:
    """Sum of V(G) over ``groups`` (iterables of task indices)."""
    total = 0.0
    for g in groups:
        g = list(g)
        if len(g) >= 2:
            total += A[np.ix_(g, g)].sum() / (len(g) - 1)
    return float(total)


def grouping_milp(
    A: np.ndarray, *, n_groups: int, cap: int, time_limit: float
) -> tuple[list[list[int]] | None, MilpOutcome]:
    """Solve the set-partitioning MILP; returns (groups as index lists, or None; solver outcome)."""
    n = A.shape[0]
    cols = [c for s in range(1, min(cap, n) + 1) for c in combinations(range(n), s)]
    C = len(cols)
    ri = np.concatenate([np.asarray(c) for c in cols])
    ci = np.repeat(np.arange(C), [len(c) for c in cols])
    members = sparse.csr_matrix((np.ones(len(ri)), (ci, ri)), shape=(C, n))
    values = group_values(A, members.toarray().astype(bool))
    Acon = sparse.vstack([members.T.tocsr(), sparse.csr_matrix(np.ones((1, C)))]).tocsr()
    lb = np.concatenate([np.ones(n), [0.0]])
    ub = np.concatenate([np.ones(n), [float(n_groups)]])
    out = maximize_milp(values, Acon, lb, ub, np.ones(C), time_limit=time_limit)
    if out.x is None:
        return None, out
    chosen = np.flatnonzero(out.x > 0.5)
    return [list(cols[i]) for i in chosen], out
