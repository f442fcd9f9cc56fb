"""Write the report of an output folder: figures, ``run.json``, then ``report.md`` from the artifacts.

``transfergraph run`` and ``plan`` call :func:`write_report` after writing ``scores.csv``,
``graph.graphml`` and ``plan.json``; ``transfergraph validate`` writes ``validation.md`` and calls
:func:`transfergraph.planner.report.render_report` again.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from transfergraph.planner.common.io import atomic_write_json
from transfergraph.planner.report.artifacts import RUN_INFO
from transfergraph.planner.report.decision_figures import plot_curriculum, plot_groups
from transfergraph.planner.report.document import render_report
from transfergraph.planner.report.graph_figure import plot_graph
from transfergraph.planner.report.scores_figure import plot_heatmap
from transfergraph.planner.report.topk_table import write_topk

__all__ = ["write_figures", "write_report"]

FILES = {"heatmap": "heatmap.png", "graph": "graph.png", "groups": "groups.png", "curriculum": "curriculum.png"}


def write_figures(out: Path, *, graph: nx.DiGraph, plan: dict[str, Any],
                  scores: pd.DataFrame | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Draw every figure that has content; returns ``(figures, skipped)``: file names, and for each
    figure not drawn the sentence the report shows instead (a stale PNG of that name is removed)."""
    metric = plan.get("metric", "leep")
    drawn = {
        "heatmap": plot_heatmap(scores, metric, out / FILES["heatmap"]) if scores is not None else None,
        "graph": plot_graph(graph, plan, out / FILES["graph"]),
        "groups": plot_groups(graph, plan, out / FILES["groups"]),
        "curriculum": plot_curriculum(graph, plan, out / FILES["curriculum"]),
    }
    why = {
        "heatmap": (f"No pair was scored successfully with {metric}, so there is no score heatmap."
                    if scores is not None else "Re-planned from graph.graphml: there is no score table to draw."),
        "graph": "No target has a scored source, so there is no recommended edge to draw.",
        "groups": "No task-to-task edge exists (every source is an external model), so the groups figure is "
                  "omitted: the groups are listed above.",
        "curriculum": "The curriculum is empty.",
    }
    figures = {k: FILES[k] for k, p in drawn.items() if p is not None}
    skipped = {k: why[k] for k, p in drawn.items() if p is None}
    for key in skipped:
        (out / FILES[key]).unlink(missing_ok=True)
    return figures, skipped


def write_report(out: Path, *, graph: nx.DiGraph, plan: dict[str, Any], summary: dict[str, Any], seconds: float,
                 scores: pd.DataFrame | None = None) -> Path:
    """Figures, ``topk.csv``, ``run.json`` (summary, seconds, figures, skipped) and ``report.md``; returns
    the report's path."""
    figures, skipped = write_figures(out, graph=graph, plan=plan, scores=scores)
    write_topk(out, plan, graph)  # every target's recommended sources, whatever the report shows
    atomic_write_json(out / RUN_INFO, {"summary": summary, "seconds": float(seconds), "figures": figures,
                                       "skipped": skipped})
    return render_report(out)
