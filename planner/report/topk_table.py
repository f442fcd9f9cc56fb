"""``topk.csv``: the plan's recommended sources of every target as one flat table.

At a hundred targets the report's lists and the recommended-sources figure can show only part of
the plan; this table holds all of it, one row per (target, rank), for a spreadsheet or ``pandas``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from transfergraph.planner.common.io import atomic_write_with

__all__ = ["topk_table", "write_topk", "TOPK_COLUMNS", "TOPK_FILE"]

TOPK_FILE = "topk.csv"
#: columns of ``topk.csv``
TOPK_COLUMNS = ["target", "rank", "source", "model", "weight", "score", "gap_to_next", "kept_for_target",
                "n_measured_sources", "flag"]


def topk_table(plan: dict[str, Any], graph: nx.DiGraph) -> pd.DataFrame:
    """One row per target and rank of ``plan["sources"]`` (targets sorted by name, rank 1 = best).

    Columns (:data:`TOPK_COLUMNS`): ``source`` the graph node; ``model`` the checkpoint behind it
    (``plan["source_models"]``, else the node); ``weight`` the normalized score of the plan's metric;
    ``score`` its raw value (edge attribute named after the metric, when present); ``gap_to_next`` the
    weight minus the next rank's (empty for the last); ``kept_for_target`` True when the source set
    assigns this source to the target; ``n_measured_sources`` the target's measured in-edges
    (predicted edges excluded); ``flag`` the edge's regime-of-validity note, if any. A target with no
    source has one row with an empty source.
    """
    metric = str(plan.get("metric", ""))
    models = plan.get("source_models", {})
    assignment = plan.get("source_set", {}).get("assignment", {})
    rows = []
    for target in sorted(plan.get("sources", {}), key=str):
        top = plan["sources"][target]
        measured = sum(1 for u in graph.predecessors(target) if u != target
                       and not graph.edges[u, target].get("predicted", False)) if target in graph else 0
        if not top:
            rows.append({"target": target, "rank": None, "source": "", "model": "", "weight": None, "score": None,
                         "gap_to_next": None, "kept_for_target": False, "n_measured_sources": measured, "flag": ""})
            continue
        for r, (source, weight) in enumerate(top):
            edge = graph.edges[source, target] if graph.has_edge(source, target) else {}
            nxt = top[r + 1][1] if r + 1 < len(top) else None
            rows.append({
                "target": target, "rank": r + 1, "source": source,
                "model": models.get(target, {}).get(source, source), "weight": weight,
                "score": edge.get(metric), "gap_to_next": None if weight is None or nxt is None else weight - nxt,
                "kept_for_target": assignment.get(target) == source, "n_measured_sources": measured,
                "flag": edge.get("flag", ""),
            })
    df = pd.DataFrame(rows, columns=TOPK_COLUMNS)
    return df.astype({"rank": "Int64", "weight": "float64", "score": "float64", "gap_to_next": "float64"})


def write_topk(out: Path, plan: dict[str, Any], graph: nx.DiGraph) -> Path:
    """Write :func:`topk_table` to ``out/topk.csv`` (atomically) and return its path."""
    table = topk_table(plan, graph)
    path = Path(out) / TOPK_FILE
    atomic_write_with(path, lambda tmp: table.to_csv(tmp, index=False))
    return path
