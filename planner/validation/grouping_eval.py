"""Judge grouping decisions against the all-subsets table (rows of ``grouping_validation.csv``).

The realized value of a partition P on split X is V_X(P) = (1/n) sum_t acc_X(t | the group of t in P),
read from :func:`~transfergraph.planner.validation.multitask.subset_table` (equal per-task budget: every partition
costs the same training). Arms, for a group budget k (partitions with at most k groups):

- each planner arm: a partition and its affinity matrix A (objective = ``partition_value(A, P)``);
- ``all_in_one``, ``all_separate`` (k < n: off-budget, n networks), ``random`` (exact mean over
  partitions with exactly k groups), ``best_of_3`` / ``best_of_10`` (exact expectation of the val-best
  of m random k-partitions, reported on test), ``hoa`` (Standley et al. 2020's higher-order
  approximation from the singles and pairs of the *other* seeds: pair gains
  w(u->t) = acc_val(t | {t, u}) - acc_val(t | {t}), grouped with ``centered=False``),
  ``hoa_budget`` (budgeted calibration: only the ceil(P/2) of the P unordered pairs that the planner's
  symmetric affinity ranks highest are measured, the others count as gain 0),
  ``hoa_budget_random_pairs`` (its control: the same number of pairs chosen at random, mean over
  every choice or 64 seeded draws), ``oracle``
  (val-chosen, reported on test) and ``oracle_test`` (test-chosen upper bound).

Per arm: realized test value, percentile among all <= k partitions, normalized regret against the
val-chosen oracle and the exact random mean, and the gain over random.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from transfergraph.planner.decisions._grouping_exact import partition_value
from transfergraph.planner.decisions.grouping import affinity_matrix, solve_grouping
from transfergraph.planner.validation.decision_stats import best_of_m, normalized_regret, percentile, set_partitions, spearman
from transfergraph.planner.validation.multitask import subset_name

__all__ = ["partition_table", "hoa_graph", "hoa_grouping", "budget_pairs", "grouping_rows", "GROUPING_COLUMNS"]

GROUPING_COLUMNS = ["decision", "arm", "seed", "truth", "groups", "objective", "realized", "realized_val",
                    "percentile", "regret", "regret_vs_test_oracle", "gain_over_random", "n_alternatives"]


def _lookup(table: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
    g = table.groupby(["subset", "task"])[["val_acc", "test_acc"]].mean()
    return {k: (float(v.val_acc), float(v.test_acc)) for k, v in g.iterrows()}


def partition_table(table: pd.DataFrame, tasks: Sequence[str], k: int):
    """(partitions with <= k groups, val values, test values) from a subset table (its seeds averaged)."""
    look = _lookup(table)
    parts = list(set_partitions(sorted(tasks), k))
    val = np.empty(len(parts))
    test = np.empty(len(parts))
    for i, p in enumerate(parts):
        vs = [look[(subset_name(g), t)] for g in p for t in g]
        val[i] = np.mean([v for v, _ in vs])
        test[i] = np.mean([t for _, t in vs])
    return parts, val, test


def hoa_graph(table: pd.DataFrame, tasks: Sequence[str]) -> nx.DiGraph:
    """Pair-gain graph (mean over the table's seeds): w(u->t) = acc_val(t | {t, u}) - acc_val(t | {t})."""
    look = _lookup(table)
    g = nx.DiGraph()
    g.add_nodes_from(tasks, kind="task")
    for t in tasks:
        base = look[(t, t)][0]
        for u in tasks:
            if u != t:
                g.add_edge(u, t, weight=look[(subset_name([t, u]), t)][0] - base)
    return g


def hoa_grouping(table: pd.DataFrame, k: int) -> list[list[str]]:
    """Grouping into at most ``k`` groups from measured pair gains (HOA, Standley et al. 2020).

    Pair gains w(u->t) = acc_val(t | {t, u}) - acc_val(t | {t}) from the singles and pairs of ``table``
    (its seeds averaged; :func:`hoa_graph`), grouped by the exact grouping solver with ``centered=False``.
    Needs only the n singletons and n(n-1)/2 pairs of the table, not every subset.
    """
    tasks = sorted(table["task"].unique())
    return _hoa_arm(hoa_graph(table, tasks), tasks, k)[0]


def budget_pairs(A: np.ndarray, m: int) -> list[tuple[int, int]]:
    """The ``m`` unordered pairs (i < j) with the largest A[i, j] + A[j, i] (ties: lower indices first)."""
    n = len(A)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    return sorted(pairs, key=lambda p: (-(A[p[0], p[1]] + A[p[1], p[0]]), p))[:m]


def _random_pair_sets(n: int, m: int, seed: int, limit: int = 64) -> list[list[tuple[int, int]]]:
    """Every m-subset of the unordered pairs of n tasks when there are at most ``limit``, else ``limit``
    subsets drawn with a generator seeded by ``seed`` (the mean over them estimates a random choice)."""
    from itertools import combinations
    from math import comb

    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if comb(len(pairs), m) <= limit:
        return [list(c) for c in combinations(pairs, m)]
    rng = np.random.default_rng(seed)
    return [[pairs[i] for i in sorted(rng.choice(len(pairs), m, replace=False))] for _ in range(limit)]


def _hoa_arm(hg: nx.DiGraph, tasks, k, keep=None):
    """(groups, A) of HOA on pair-gain graph ``hg``; ``keep``: the measured (i, j) pairs (others: gain 0)."""
    A = affinity_matrix(hg, tasks, centered=False)
    if keep is not None:
        mask = np.zeros_like(A, dtype=bool)
        for i, j in keep:
            mask[i, j] = mask[j, i] = True
        A = np.where(mask, A, 0.0)
        hg = hg.copy()
        for a, u in enumerate(tasks):
            for b, t in enumerate(tasks):
                if a != b:
                    hg.edges[u, t]["weight"] = float(A[a, b])
    return solve_grouping(hg, n_groups=k, centered=False).solution, A


def _hoa_arms(table: pd.DataFrame, seed: int, tasks, k: int, planners) -> tuple[list, list]:
    """([(arm, groups, A)] of ``hoa`` and ``hoa_budget`` from the seeds other than ``seed``, groups of the
    random-pairs control): the budget is ceil(P/2) of the P pairs, ranked by the seed's symmetric planner."""
    hg = hoa_graph(table[table.seed != seed], tasks)
    m = (len(tasks) * (len(tasks) - 1) // 2 + 1) // 2  # ceil(P / 2) of the P unordered pairs
    arms = [("hoa", *_hoa_arm(hg, tasks, k))]
    ranked = planners.get("planner_symmetric", planners.get("planner", {})).get(seed)
    if ranked is None:
        return arms, []
    arms.append(("hoa_budget", *_hoa_arm(hg, tasks, k, budget_pairs(ranked[1], m))))
    return arms, [_hoa_arm(hg, tasks, k, keep)[0] for keep in _random_pair_sets(len(tasks), m, seed)]


def _canon(groups) -> tuple:
    return tuple(sorted(tuple(sorted(map(str, g))) for g in groups))


def grouping_rows(table: pd.DataFrame, *, k: int, planners: Mapping[str, Mapping[int, tuple[list, np.ndarray]]],
                  decision: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of every arm for every seed (truth = that seed's table, and the seed-mean table).

    Parameters
    ----------
    table : subset table with a ``seed`` column (several seeds)
    planners : {arm: {seed: (groups, A)}}: each planner arm's partition per seed and its affinity
        matrix over the sorted task names (for the objective value of every partition)

    Returns
    -------
    (rows, spearman) : rows with :data:`GROUPING_COLUMNS`; per (arm, seed, truth) the Spearman
    correlation between the arm's objective and realized test value over all <= k partitions.
    """
    tasks = sorted(table["task"].unique())
    seeds = sorted(int(s) for s in table["seed"].unique())
    decision = decision or f"grouping_k{k}"
    rows, corr = [], []
    truths = [(s, "seed", table[table.seed == s]) for s in seeds] + [(s, "mean", table) for s in seeds]
    cache: dict = {}
    tid = {t: i for i, t in enumerate(tasks)}
    for seed, truth, tab in truths:
        key = seed if truth == "seed" else "mean"
        if key not in cache:
            cache[key] = partition_table(tab, tasks, k)
        parts, val, test = cache[key]
        index = {_canon(p): i for i, p in enumerate(parts)}
        exact_k = np.array([len(p) == min(k, len(tasks)) for p in parts])
        rand = float(test[exact_k].mean())
        oracle = float(test[int(np.argmax(val))])
        oracle_t = float(test.max())

        def add(arm, groups, obj, value, value_val):
            rows.append({"decision": decision, "arm": arm, "seed": seed, "truth": truth,
                         "groups": " | ".join("+".join(sorted(map(str, g))) for g in groups) if groups else "",
                         "objective": obj, "realized": value, "realized_val": value_val,
                         "percentile": percentile(test, value) if groups else float("nan"),
                         "regret": normalized_regret(oracle, value, rand),
                         "regret_vs_test_oracle": normalized_regret(oracle_t, value, rand),
                         "gain_over_random": value - rand, "n_alternatives": len(parts)})

        def scored(arm, groups, A):  # an arm with an objective: its value and Spearman over all partitions
            i = index[_canon(groups)]
            objs = np.array([partition_value(A, [[tid[t] for t in g] for g in p]) for p in parts])
            add(arm, groups, float(objs[i]), float(test[i]), float(val[i]))
            corr.append({"decision": decision, "arm": arm, "seed": seed, "truth": truth, "spearman": spearman(objs, test)})

        for arm, per_seed in planners.items():
            scored(arm, *per_seed[seed])
        for arm, groups in (("all_in_one", [tasks]), ("all_separate", [[t] for t in tasks])):
            i = index.get(_canon(groups))
            if i is not None:
                add(arm, groups, float("nan"), float(test[i]), float(val[i]))
            else:  # all_separate with k < n: off-budget, valued from the singletons
                look = _lookup(tab)
                add(arm, groups, float("nan"), float(np.mean([look[(t, t)][1] for t in tasks])),
                    float(np.mean([look[(t, t)][0] for t in tasks])))
                rows[-1]["percentile"] = float("nan")
        add("random", None, float("nan"), rand, float(val[exact_k].mean()))
        for m in (3, 10):
            add(f"best_of_{m}", None, float("nan"), best_of_m(val[exact_k], test[exact_k], m), float("nan"))
        if truth == "seed" and len(seeds) > 1:
            arms, control = _hoa_arms(table, seed, tasks, k, planners)
            for arm, groups, A in arms:
                scored(arm, groups, A)
            if control:  # the same number of measured pairs, chosen at random
                chosen = [index[_canon(g)] for g in control]
                add("hoa_budget_random_pairs", None, float("nan"), float(test[chosen].mean()), float(val[chosen].mean()))
        i = int(np.argmax(val))
        add("oracle", parts[i], float("nan"), float(test[i]), float(val[i]))
        i = int(np.argmax(test))
        add("oracle_test", parts[i], float("nan"), float(test[i]), float(val[i]))
    return pd.DataFrame(rows, columns=GROUPING_COLUMNS), pd.DataFrame(corr)
