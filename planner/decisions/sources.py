"""Decision (a): which source models to fine-tune."""
from __future__ import annotations

import math
import time
from typing import Any, Hashable

import networkx as nx
import numpy as np

from transfergraph.planner.common.arguments import check_choice, check_scalar
from transfergraph.planner.decisions._facility import (
    facility_milp, facility_value, fix_sources, greedy_swap, lagrangian, prune_unused, submodular_bound,
)
from transfergraph.planner.decisions._graph import check_graph, check_task, edge_weight, source_nodes, task_nodes, weight_matrix
from transfergraph.planner.decisions._exact import Exact, settle
from transfergraph.planner.decisions._result import Decision, Status

__all__ = ["select_sources", "select_source_set", "solve_source_set", "default_budget", "SOURCE_SET_OBJECTIVE"]

SOURCE_SET_OBJECTIVE = (
    "max over source sets B with |B| <= budget of sum_t max(0, max_{s in B} w(s->t)) "
    "(a target with no positive edge from B adds 0)"
)
#: auto mode runs the exact MILP when the number of positive edges is at most this (~n=500 tasks)
MILP_MAX_EDGES = 300_000


def _check_int(value: Any, *, argument: str, caller: str, minimum: int = 1) -> int:
    return check_scalar(value, argument, int, caller=caller, min_val=minimum)


def _check_time_limit(value: Any, *, caller: str) -> float:
    return check_scalar(value, "time_limit", float, caller=caller, min_val=0.0, include_boundaries="neither")


def select_sources(graph: nx.DiGraph, target: Hashable, *, k: int = 1) -> list[tuple[str, float]]:
    """The ``k`` in-edges of ``target`` with the highest weight, best first.

    Parameters
    ----------
    graph : nx.DiGraph
        Transferability graph from :func:`transfergraph.planner.build_graph`.
    target : str
        A task node.
    k : int
        How many sources to return (fewer when ``target`` has fewer in-edges).

    Returns
    -------
    list of (source, weight)
        Sorted by (-weight, source name): ties resolve to the smaller name.

    Raises
    ------
    GraphError
        ``target`` is not a task node of ``graph``. InputError: ``k`` < 1.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_nodes_from(["a", "b", "t"], kind="task")
    >>> g.add_edge("a", "t", weight=0.2); g.add_edge("b", "t", weight=0.7)
    >>> select_sources(g, "t", k=2)
    [('b', 0.7), ('a', 0.2)]
    """
    check_graph(graph, caller="select_sources")
    k = _check_int(k, argument="k", caller="select_sources")
    check_task(graph, target, argument="target", caller="select_sources")
    edges = [(u, edge_weight(graph, u, target)) for u in graph.predecessors(target) if u != target]
    edges.sort(key=lambda e: (-e[1], str(e[0])))
    return [(u, float(w)) for u, w in edges[:k]]


def default_budget(n_sources: int) -> int:
    """Default budget: ceil(sqrt(number of candidate sources)), at least 1."""
    return max(1, math.ceil(math.sqrt(n_sources)))


def _assignment(W: np.ndarray, E: np.ndarray, chosen: list[int], sources, targets) -> dict:
    """Every target with an edge from the chosen set -> its best chosen source (ties by name)."""
    out = {}
    if not chosen:
        return out
    Wm = np.where(E[chosen], W[chosen], -np.inf)
    best = np.argmax(Wm, axis=0)
    for j, t in enumerate(targets):
        if np.isfinite(Wm[best[j], j]):
            out[t] = sources[chosen[best[j]]]
    return out


def solve_source_set(
    graph: nx.DiGraph, *, budget: int, method: str = "auto", time_limit: float = 60.0
) -> Decision:
    """Choose at most ``budget`` sources maximizing :data:`SOURCE_SET_OBJECTIVE`.

    Parameters
    ----------
    budget : int
        Maximum number of sources; larger than the number of candidates is fine.
    method : {"auto", "milp", "heuristic"}
        ``"milp"``: greedy + 1-swap incumbent, Lagrangian bound and variable fixing (sources that
        cannot beat the incumbent are fixed), then the exact MILP on the rest under ``time_limit`` (the
        better solution is returned; ``optimal`` only when HiGHS proves it). ``"heuristic"``: greedy + 1-swap with the
        smaller of the submodular and Lagrangian upper bounds. ``"auto"``: MILP when the positive edges number at most 300,000.

    Returns
    -------
    Decision
        ``solution`` = {"chosen": [sources...], "assignment": {target: source}}.
    """
    caller = "select_source_set"
    check_graph(graph, caller=caller)
    budget = _check_int(budget, argument="budget", caller=caller)
    check_choice(method, "method", ("auto", "milp", "heuristic"), caller=caller)
    time_limit = _check_time_limit(time_limit, caller=caller)
    t0 = time.perf_counter()
    targets = task_nodes(graph)
    sources = source_nodes(graph, targets)
    W, E = weight_matrix(graph, sources, targets)
    P = np.maximum(W, 0.0)
    read_seconds = time.perf_counter() - t0
    chosen = greedy_swap(P, budget)
    value = facility_value(P, chosen)
    lag_bound, u = lagrangian(P, chosen, budget)
    bound = min(submodular_bound(P, chosen, budget), lag_bound)
    used_milp = method == "milp" or (method == "auto" and int((P > 0).sum()) <= MILP_MAX_EDGES)
    details: dict[str, Any] = {"budget": budget, "n_sources": len(sources), "heuristic_value": value,
                               "graph_read_seconds": read_seconds}

    def exact() -> Exact:
        fixed_out, fixed_in, fixed_bound = fix_sources(P, u, budget, value)
        details["fixed_sources"] = int(fixed_out.sum() + fixed_in.sum())
        sol, out = facility_milp(P, budget, time_limit=time_limit, fixed_out=fixed_out, fixed_in=fixed_in)
        # a solution breaking a fixing is worth < fixed_bound < incumbent
        milp_bound = None if out.bound is None else max(out.bound, fixed_bound, value)
        return Exact(sol, out.optimal, milp_bound, out.message)

    done = settle(chosen, value, bound, method="greedy+swap", value_of=lambda c: facility_value(P, c),
                  exact=exact if used_milp else None)
    chosen, value, details = done.solution, done.value, {**details, **done.details}
    chosen = prune_unused(P, chosen)
    solution = {
        "chosen": [sources[i] for i in chosen],
        "assignment": _assignment(W, E, chosen, sources, targets),
    }
    return Decision(
        name="source_set", solution=solution, value=value, objective=SOURCE_SET_OBJECTIVE,
        optimal=done.status is Status.OPTIMAL, bound=done.bound, gap=done.gap, status=done.status,
        method=done.method, seconds=time.perf_counter() - t0, details=details,
    )


def select_source_set(graph: nx.DiGraph, *, budget: int, **options: Any) -> dict[Hashable, Hashable]:
    """Map every target with an edge from the chosen set B (|B| <= budget) to its best source in B.

    B maximizes sum over targets t of max(0, max_{s in B} w(s->t)); see :func:`solve_source_set`
    (``options``: ``method``, ``time_limit``) for the solver and its optimality record.

    Raises
    ------
    InputError
        ``budget`` is not an integer >= 1. GraphError: empty graph or no task node.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_nodes_from(["x", "y"], kind="task"); g.add_node("m", kind="model")
    >>> g.add_edge("m", "x", weight=0.5); g.add_edge("m", "y", weight=0.4); g.add_edge("x", "y", weight=0.8)
    >>> select_source_set(g, budget=1)
    {'x': 'm', 'y': 'm'}
    """
    return solve_source_set(graph, budget=budget, **options).solution["assignment"]
