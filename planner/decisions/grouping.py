"""Decision (b): which tasks to train together.

Affinity a(u->t) = w(u->t) - m(t), m(t) the median of w(u'->t) over the other task nodes u'
(missing edge: w = 0); ``centered=False`` uses a = w. Partition the task nodes into at most
``n_groups`` groups (each of at most ``max_group_size``) maximizing sum_G V(G),
V(G) = (1/(|G|-1)) sum_{u != t in G} a(u->t), V = 0 for a singleton: each task scores the mean
affinity it receives from its group-mates (the HOA/TAG group score). Centring lets a task prefer
to stay alone. Exact: dynamic programming over subsets for n <= 14 (any cap; O(3^n k)), else the
set-partitioning MILP while the enumerated groups number at most 20,000 (n <= 20 with cap 4,
n <= 40 with cap 3); iterated local search beyond.
"""
from __future__ import annotations

import time
from typing import Any, Hashable

import networkx as nx
import numpy as np

from transfergraph.planner.common.exceptions import InfeasiblePlanError, InputError
from transfergraph.planner.decisions._graph import check_graph, task_nodes, weight_matrix
from transfergraph.planner.decisions.affinity import affinity_graph
from transfergraph.planner.decisions._grouping_dp import DP_MAX, grouping_dp
from transfergraph.planner.decisions._grouping_exact import MAX_COLUMNS, column_count, grouping_milp, partition_value
from transfergraph.planner.decisions._grouping_ils import ils_grouping
from transfergraph.planner.common.arguments import check_bool, check_choice, check_scalar
from transfergraph.planner.decisions._exact import Exact, settle
from transfergraph.planner.decisions._result import Decision, Status
from transfergraph.planner.decisions.sources import _check_int, _check_time_limit

__all__ = ["group_tasks", "solve_grouping", "affinity_matrix", "default_n_groups", "GROUPING_OBJECTIVE"]

GROUPING_OBJECTIVE = (
    "max sum over groups G of (1/(|G|-1)) * sum_{u != t in G} a(u->t) (0 for a singleton), "
    "partition into at most n_groups groups"
)


def default_n_groups(n_tasks: int) -> int:
    """Default group count: ceil(n_tasks / 3), at least 1."""
    return max(1, -(-n_tasks // 3))


def affinity_matrix(graph: nx.DiGraph, tasks, *, centered: bool = True) -> np.ndarray:
    """A (n, n) with A[u, t] = a(u->t), zero diagonal; missing edge: w = 0.

    Centred: m(t) = median over u != t of w(u->t) (including the zeros of missing edges).
    """
    W, _ = weight_matrix(graph, tasks, tasks)
    n = len(tasks)
    if centered and n >= 2:
        Wn = W.copy()
        np.fill_diagonal(Wn, np.nan)
        W = W - np.nanmedian(Wn, axis=0)[None, :]
    np.fill_diagonal(W, 0.0)
    return W


def _groups_from_labels(labels: np.ndarray) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(labels.tolist()):
        groups.setdefault(g, []).append(i)
    return list(groups.values())


def _named(groups: list[list[int]], tasks: list) -> list[list[Hashable]]:
    named = [sorted((tasks[i] for i in g), key=str) for g in groups if g]
    return sorted(named, key=lambda g: str(g[0]))


def _milp_exact(A: np.ndarray, *, n_groups: int, cap: int, time_limit: float) -> Exact:
    groups, out = grouping_milp(A, n_groups=n_groups, cap=cap, time_limit=time_limit)
    return Exact(groups, out.optimal, out.bound, out.message)


def solve_grouping(
    graph: nx.DiGraph,
    *,
    n_groups: int,
    max_group_size: int | None = None,
    centered: bool = True,
    affinity: str = "transfer",
    method: str = "auto",
    time_limit: float = 60.0,
    seed: int = 0,
    ils_rounds: int = 30,
) -> Decision:
    """Partition the task nodes maximizing :data:`GROUPING_OBJECTIVE`.

    Parameters
    ----------
    affinity : {"transfer", "mutual", "symmetric"}
        How task->task weights become co-training affinity before centring
        (:func:`transfergraph.planner.decisions.affinity.affinity_graph`; "transfer" = the edge weights as they are).
    method : {"auto", "dp", "milp", "heuristic"}
        ``"auto"``: subset DP when n <= 14; else the exact MILP when the column count (groups of size
        <= cap) is <= 20,000; else ILS only. The ILS always runs first and is the fallback when the
        MILP stops at its time limit (the ILS and MILP time limits are ``time_limit`` each).

    Returns
    -------
    Decision
        ``solution`` = groups (each sorted by name; groups sorted by their first name).
    """
    caller = "group_tasks"
    check_graph(graph, caller=caller)
    n_groups = _check_int(n_groups, argument="n_groups", caller=caller)
    tasks = task_nodes(graph)
    n = len(tasks)
    if max_group_size is not None:
        max_group_size = _check_int(max_group_size, argument="max_group_size", caller=caller)
    cap = n if max_group_size is None else min(max_group_size, n)
    if n_groups * cap < n:
        raise InfeasiblePlanError(
            f"group_tasks cannot place {n} tasks into n_groups={n_groups} groups of at most "
            f"max_group_size={max_group_size}; raise n_groups to >= {-(-n // cap)} or max_group_size "
            f"to >= {-(-n // n_groups)}."
        )
    check_choice(method, "method", ("auto", "dp", "milp", "heuristic"), caller=caller)
    centered = check_bool(centered, "centered", caller=caller)
    time_limit = _check_time_limit(time_limit, caller=caller)
    seed = check_scalar(seed, "seed", int, caller=caller, min_val=0)
    ils_rounds = _check_int(ils_rounds, argument="ils_rounds", caller=caller)
    if method == "dp" and n > DP_MAX:
        raise InputError(f"method='dp' passed to {caller} handles at most {DP_MAX} tasks; the graph has {n}.")
    t0 = time.perf_counter()
    if affinity != "transfer":
        graph = affinity_graph(graph, affinity)
    A = affinity_matrix(graph, tasks, centered=centered)
    read_seconds = time.perf_counter() - t0
    columns = column_count(n, cap)
    use_dp = method == "dp" or (method == "auto" and n <= DP_MAX)
    use_milp = method == "milp" or (method == "auto" and not use_dp and columns <= MAX_COLUMNS)
    # with an exact solver coming, the ILS is only an incumbent and a fallback: a few rounds suffice
    rounds = min(ils_rounds, 5) if (use_milp or use_dp) else ils_rounds
    labels, facts = ils_grouping(A, n_groups=n_groups, cap=cap, seed=seed, rounds=rounds,
                                 time_limit=time_limit)
    groups = _groups_from_labels(labels)
    value = partition_value(A, groups)
    bound = float(np.maximum(A.max(axis=0, initial=0.0), 0.0).sum()) if n >= 2 else 0.0
    details: dict[str, Any] = {
        "n_groups": n_groups, "max_group_size": max_group_size, "centered": bool(centered), "affinity": affinity,
        "centering": "a(u->t) = w(u->t) - median_{u' != t} w(u'->t)" if centered else "a(u->t) = w(u->t)",
        "columns": columns, "heuristic_value": value, **facts, "graph_read_seconds": read_seconds,
    }
    exact = None
    if use_dp:
        exact = lambda: Exact(grouping_dp(A, n_groups=n_groups, cap=cap), True, None)  # noqa: E731
    elif use_milp:
        exact = lambda: _milp_exact(A, n_groups=n_groups, cap=cap, time_limit=time_limit)  # noqa: E731
    done = settle(groups, value, bound, method="ils", value_of=lambda g: partition_value(A, g),
                  exact=exact, exact_name="dp" if use_dp else "milp")
    groups, value = done.solution, done.value
    details.update(done.details)
    named = _named(groups, tasks)
    index = {t: i for i, t in enumerate(tasks)}
    details["group_values"] = [partition_value(A, [[index[t] for t in g]]) for g in named]
    return Decision(
        name="groups", solution=named, value=value, objective=GROUPING_OBJECTIVE,
        optimal=done.status is Status.OPTIMAL, bound=done.bound, gap=done.gap, status=done.status,
        method=done.method, seconds=time.perf_counter() - t0, details=details,
    )


def group_tasks(
    graph: nx.DiGraph,
    *,
    n_groups: int,
    max_group_size: int | None = None,
    centered: bool = True,
    **options: Any,
) -> list[list[Hashable]]:
    """Partition all task nodes into at most ``n_groups`` groups (see :func:`solve_grouping`).

    Raises
    ------
    InputError
        ``n_groups`` or ``max_group_size`` not an integer >= 1.
    InfeasiblePlanError
        ``n_groups * max_group_size`` is smaller than the number of tasks.
    InputError
        An option that :func:`solve_grouping` does not take (named).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_nodes_from(["a", "b", "c", "d"], kind="task")
    >>> for u, v in [("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")]:
    ...     g.add_edge(u, v, weight=0.9)
    >>> group_tasks(g, n_groups=2)
    [['a', 'b'], ['c', 'd']]
    """
    unknown = sorted(set(options) - _SOLVER_OPTIONS)
    if unknown:
        raise InputError(f"group_tasks() got unknown options {unknown}; known: {sorted(_SOLVER_OPTIONS)} "
                         "(and n_groups, max_group_size, centered).")
    return solve_grouping(
        graph, n_groups=n_groups, max_group_size=max_group_size, centered=centered, **options
    ).solution


#: keyword options of :func:`solve_grouping` that :func:`group_tasks` passes through
_SOLVER_OPTIONS = frozenset({"affinity", "method", "time_limit", "seed", "ils_rounds"})
