"""Predicted edges: graph edges of pairs that were not scored (``score(..., pairs_fraction=f)``).

Such an edge carries ``predicted=True`` (and ``predicted_sd``); its ``weight`` is a prediction of
the normalized score, good for ranking what to score next, never for a decision.
"""
from __future__ import annotations

import networkx as nx

__all__ = ["PREDICTED", "is_predicted", "predicted_edges", "measured_graph"]

#: ``status`` of a score-table row whose pair was predicted, not scored
PREDICTED = "predicted"


def is_predicted(attrs: dict) -> bool:
    """True when an edge's attributes mark it predicted (``True``, or ``"true"`` as some graphml readers give)."""
    value = attrs.get("predicted", False)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true") or value == 1


def predicted_edges(graph: nx.DiGraph) -> list[tuple]:
    """The (u, v) edges of ``graph`` marked predicted, sorted by name."""
    return sorted(((u, v) for u, v, d in graph.edges(data=True) if is_predicted(d)), key=lambda e: (str(e[0]), str(e[1])))


def measured_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """``graph`` itself when no edge is predicted, else a copy without the predicted edges (same
    nodes and graph attributes): what every decision reads."""
    drop = predicted_edges(graph)
    if not drop:
        return graph
    out = graph.copy()
    out.remove_edges_from(drop)
    return out
