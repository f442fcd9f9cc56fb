"""Reading a transferability graph into dense arrays (the pure-array core works on these).

Node order is always sorted by ``str(name)``, so argmax ties resolve to the smallest name.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Hashable, Sequence

import networkx as nx
import numpy as np

from transfergraph.planner.common.exceptions import GraphError, InputError

__all__ = [
    "check_graph",
    "task_nodes",
    "model_nodes",
    "source_nodes",
    "edge_weight",
    "weight_matrix",
    "external_weights",
    "check_task",
]

KINDS = ("task", "model")


def _sorted(nodes) -> list:
    return sorted(nodes, key=str)


def check_graph(graph: Any, *, caller: str) -> None:
    """Raise unless ``graph`` is a non-empty ``nx.DiGraph`` whose nodes all have kind task/model."""
    if not isinstance(graph, nx.DiGraph):
        raise InputError(
            f"graph passed to {caller} must be a networkx.DiGraph (from transfergraph.planner.build_graph); "
            f"got {type(graph).__name__}."
        )
    if graph.number_of_nodes() == 0:
        raise GraphError(f"graph passed to {caller} is empty; expected at least one task node.")
    for node, kind in graph.nodes(data="kind"):
        if kind not in KINDS:
            raise GraphError(
                f"node {node!r} of the graph passed to {caller} has kind={kind!r}; expected "
                f"'task' or 'model' (build the graph with transfergraph.planner.build_graph)."
            )
    if not any(kind == "task" for _, kind in graph.nodes(data="kind")):
        raise GraphError(f"graph passed to {caller} has no task node (kind='task'); nothing to plan.")


def task_nodes(graph: nx.DiGraph) -> list[Hashable]:
    """Task nodes sorted by name."""
    return _sorted(n for n, k in graph.nodes(data="kind") if k == "task")


def model_nodes(graph: nx.DiGraph) -> list[Hashable]:
    """External model nodes sorted by name."""
    return _sorted(n for n, k in graph.nodes(data="kind") if k == "model")


def _is_number(w: Any) -> bool:
    """A real number that is not a bool (strings like "0.5" and True/False are not weights)."""
    return isinstance(w, numbers.Real) and not isinstance(w, (bool, np.bool_))


def edge_weight(graph: nx.DiGraph, u: Hashable, v: Hashable) -> float:
    """The finite ``weight`` of edge u->v; a missing, non-numeric (a string, a bool) or non-finite
    weight is a GraphError naming the edge and what it holds."""
    w = graph.edges[u, v].get("weight")
    if not _is_number(w):
        raise GraphError(
            f"edge {u!r}->{v!r} has weight={w!r} ({type(w).__name__}); expected a finite number "
            f"(int or float; strings and bools are not converted)."
        )
    w = float(w)
    if not math.isfinite(w):
        raise GraphError(f"edge {u!r}->{v!r} has weight={w}; expected a finite number.")
    return w


def source_nodes(graph: nx.DiGraph, targets: Sequence[Hashable]) -> list[Hashable]:
    """Nodes (tasks or models) with at least one edge into ``targets`` (self-edges ignored)."""
    tset = set(targets)
    return _sorted(u for u, nbrs in graph.adj.items() if any(v in tset and v != u for v in nbrs))


def weight_matrix(
    graph: nx.DiGraph, sources: Sequence[Hashable], targets: Sequence[Hashable]
) -> tuple[np.ndarray, np.ndarray]:
    """Dense weights ``W`` (S, T) and edge mask ``E`` (S, T); ``W`` is 0 where ``E`` is False.

    Self-edges are never included (``E[i, j]`` is False when ``sources[i] == targets[j]``).
    """
    s_idx = {s: i for i, s in enumerate(sources)}
    t_idx = {t: j for j, t in enumerate(targets)}
    rows, cols, vals = [], [], []
    for u, i in s_idx.items():
        nbrs = graph.adj[u]
        js = [t_idx.get(v, -1) for v in nbrs]
        ws = [d.get("weight") for d in nbrs.values()]
        if u in t_idx:  # drop the self-edge if present
            js = [-1 if v == u else j for v, j in zip(nbrs, js)]
        rows.extend([i] * len(js))
        cols.extend(js)
        vals.extend(ws)
    keep = np.asarray(cols, dtype=np.int64) >= 0
    rows = np.asarray(rows, dtype=np.int64)[keep].tolist()
    cols = np.asarray(cols, dtype=np.int64)[keep].tolist()
    vals = [v for v, k in zip(vals, keep.tolist()) if k]
    W = np.zeros((len(sources), len(targets)))
    E = np.zeros((len(sources), len(targets)), dtype=bool)
    if vals:
        arr = np.asarray([float(v) if _is_number(v) else math.nan for v in vals], dtype=float)
        bad = np.flatnonzero(~np.isfinite(arr))
        if len(bad):
            k = int(bad[0])
            edge_weight(graph, sources[rows[k]], targets[cols[k]])  # raises with the edge named
        W[rows, cols] = arr
        E[rows, cols] = True
    return W, E


def external_weights(graph: nx.DiGraph, tasks: Sequence[Hashable]) -> tuple[np.ndarray, list]:
    """``w_ext(t)`` = best weight into t from a model node (0 if none), and that model (or None)."""
    models = model_nodes(graph)
    w_ext = np.zeros(len(tasks))
    best: list = [None] * len(tasks)
    if models:
        W, E = weight_matrix(graph, models, tasks)
        Wm = np.where(E, W, -np.inf)
        arg = np.argmax(Wm, axis=0)
        for j in range(len(tasks)):
            if E[:, j].any():
                w_ext[j] = Wm[arg[j], j]
                best[j] = models[arg[j]]
    return w_ext, best


def check_task(graph: nx.DiGraph, node: Any, *, argument: str, caller: str) -> None:
    """Raise GraphError unless ``node`` is a task node of ``graph``."""
    if node not in graph or graph.nodes[node].get("kind") != "task":
        tasks = task_nodes(graph)
        shown = ", ".join(map(repr, tasks[:10])) + (" ..." if len(tasks) > 10 else "")
        what = "a model node" if node in graph else "not in the graph"
        raise GraphError(
            f"{argument}={node!r} passed to {caller} is {what}; expected one of the task nodes: {shown}."
        )
