"""Co-training affinity graphs derived from a transfer graph (options of the grouping decision).

A transfer edge w(u->t) measures *sequential* transfer (u's model predicting t's labels). Training
u and t together needs the transfer to go both ways, so the variants here rewrite the task->task
weights before :func:`~transfergraph.planner.decisions.grouping.group_tasks` sees them:

- ``"transfer"``: the graph unchanged (w(u->t));
- ``"mutual"``: w'(u->t) = w'(t->u) = min(w(u->t), w(t->u)) (missing edge: 0): a pair is only as
  related as its weaker direction;
- ``"symmetric"``: w'(u->t) = w'(t->u) = (w(u->t) + w(t->u)) / 2.

Model nodes and their edges are kept as they are.
"""
from __future__ import annotations

import networkx as nx

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.decisions._graph import check_graph, task_nodes

__all__ = ["AFFINITIES", "DEFAULT_GROUPING_AFFINITY", "affinity_graph"]

AFFINITIES = ("transfer", "mutual", "symmetric")

#: the plan's grouping affinity unless the user picks one (benchmarks/RESULTS.md section 7f judges the choice)
DEFAULT_GROUPING_AFFINITY = "transfer"


def affinity_graph(graph: nx.DiGraph, kind: str = "transfer") -> nx.DiGraph:
    """A copy of ``graph`` whose task->task ``weight`` follows ``kind`` (see the module docstring).

    Raises InputError: unknown ``kind``; GraphError: not a transfer graph.
    """
    if kind not in AFFINITIES:
        raise InputError(f"affinity of affinity_graph() (group_tasks, solve_grouping) must be one of {list(AFFINITIES)}; got {kind!r}.")
    check_graph(graph, caller="affinity_graph")
    out = graph.copy()
    if kind == "transfer":
        return out
    tasks = task_nodes(graph)

    def w(u, t):
        return float(graph.edges[u, t].get("weight", 0.0)) if graph.has_edge(u, t) else 0.0

    for i, u in enumerate(tasks):
        for t in tasks[i + 1:]:
            if not (graph.has_edge(u, t) or graph.has_edge(t, u)):
                continue
            a, b = w(u, t), w(t, u)
            value = min(a, b) if kind == "mutual" else (a + b) / 2
            for x, y in ((u, t), (t, u)):
                if not out.has_edge(x, y):
                    out.add_edge(x, y)
                out.edges[x, y]["weight"] = value
    return out
