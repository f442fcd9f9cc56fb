"""report.md and its figures: score heatmap and transfer-graph drawing (matplotlib, Agg backend)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ..io import atomic_write_text, atomic_write_with
from .flagged import flagged_section
from .tta_terms import tta_section

__all__ = ["plot_heatmap", "plot_graph", "write_report", "markdown_table"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    _plt().close(fig)


def markdown_table(df: pd.DataFrame, *, floatfmt: str = ".3f") -> str:
    """Render a small DataFrame as a GitHub markdown table (no optional dependency)."""
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else format(v, floatfmt)
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def plot_heatmap(scores: pd.DataFrame, metric: str, path: Path) -> Path:
    """Heatmap of the normalized ``metric`` score, sources (rows) x targets (columns); failed pairs blank."""
    plt = _plt()
    df = scores[scores["metric"] == metric]
    mat = df.pivot_table(index="source", columns="target", values="normalized", aggfunc="first", dropna=False)
    mat = mat.reindex(index=sorted(df["source"].unique()), columns=sorted(df["target"].unique()))
    h, w = mat.shape
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * w + 3), max(3.5, 0.32 * h + 2)))
    im = ax.imshow(np.ma.masked_invalid(mat.to_numpy(dtype=float)), aspect="auto", cmap="viridis")
    ax.set_xticks(range(w), mat.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(h), mat.index, fontsize=7)
    ax.set_xlabel("target task")
    ax.set_ylabel("source model")
    ax.set_title(f"normalized {metric} (higher = more transferable)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    _save(fig, path)
    return path


def plot_graph(graph: nx.DiGraph, path: Path, *, top_k: int = 2) -> Path:
    """Draw the graph, keeping each target's ``top_k`` strongest in-edges (all nodes shown)."""
    plt = _plt()
    keep = nx.DiGraph()
    keep.add_nodes_from(graph.nodes(data=True))
    for t in graph.nodes:
        ins = sorted(graph.in_edges(t, data="weight"), key=lambda e: (-e[2], e[0]))[:top_k]
        keep.add_weighted_edges_from(ins)
    fig, ax = plt.subplots(figsize=(8, 6.5))
    pos = nx.circular_layout(sorted(keep.nodes)) if len(keep) else {}
    colors = ["#4c72b0" if keep.nodes[n].get("kind") == "task" else "#dd8452" for n in keep.nodes]
    nx.draw_networkx_nodes(keep, pos, node_color=colors, node_size=420, ax=ax)
    nx.draw_networkx_labels(keep, pos, font_size=7, ax=ax)
    weights = [max(0.2, 4 * float(d.get("weight", 0))) for _, _, d in keep.edges(data=True)]
    nx.draw_networkx_edges(keep, pos, width=weights, arrowsize=10, alpha=0.6, ax=ax,
                           connectionstyle="arc3,rad=0.08", node_size=420)
    ax.set_title(f"transfer graph: top-{top_k} sources per target (blue: tasks, orange: external models)")
    ax.axis("off")
    _save(fig, path)
    return path


def _summary_lines(scores: pd.DataFrame | None, graph: nx.DiGraph, metric: str, config_summary: dict,
                   seconds: float) -> list[str]:
    if scores is None:
        kinds = [k for _, k in graph.nodes(data="kind")]
        return [f"Re-planned from a transfer graph: {kinds.count('task')} tasks, {kinds.count('model')} external "
                f"models, {graph.number_of_edges()} edges; graph weight: normalized {metric}."]
    ok = scores[scores["status"] == "ok"]
    return [
        f"{scores[['source', 'target']].drop_duplicates().shape[0]} (source, target) pairs x "
        f"{scores['metric'].nunique()} metrics = {len(scores)} scores in {seconds:.1f} s "
        f"({len(ok)} ok, {len(scores) - len(ok)} failed); executor: {config_summary.get('executor', '?')}.",
        f"Tasks: {config_summary.get('n_tasks')}; sources: {config_summary.get('n_sources')}; "
        f"metrics: {', '.join(sorted(scores['metric'].unique()))}; graph weight: normalized {metric}.",
    ]


def _failed_lines(scores: pd.DataFrame | None) -> list[str]:
    failed = scores[scores["status"] != "ok"] if scores is not None else scores
    if failed is None or not len(failed):
        return []
    lines = ["## Failed pairs", "",
             "These pairs could not be scored; every other pair completed. Fix the cause and re-run "
             "with the same `--cache`: only these pairs are recomputed.", ""]
    shown = failed[["source", "target", "metric", "error"]].head(30).copy()
    shown["error"] = shown["error"].astype(str).str.slice(0, 160)
    lines += [markdown_table(shown), ""]
    if len(failed) > 30:
        lines += [f"... and {len(failed) - 30} more (see scores.csv).", ""]
    return lines


def write_report(out: Path, *, scores: pd.DataFrame | None, graph: nx.DiGraph, plan: dict, config_summary: dict,
                 decisions_markdown: str, figures: dict[str, str], seconds: float) -> Path:
    """Write ``out/report.md`` linking the figures (relative paths); ``scores`` None = re-planned from a graph."""
    metric = plan.get("metric", "leep")
    lines = [
        f"# transfergraph report: {config_summary.get('name', '')}",
        "",
        *_summary_lines(scores, graph, metric, config_summary, seconds),
        "",
        "## How to read the scores",
        "",
        "LEEP (Nguyen et al., ICML 2020) is the average log-likelihood of the target labels under the "
        "source model's outputs re-mapped to the target classes by their empirical co-occurrence; higher "
        "means the source should transfer better. Raw LEEP lies in [-H(Y), 0], H(Y) the entropy of the "
        "target's labels, so it is comparable between sources for the *same* target only. The `normalized` "
        "column, (LEEP + H(Y)) / H(Y), is in [0, 1] and comparable across targets: **0 = no better than "
        "guessing the label prior (negative-transfer risk), 1 = perfect**. Other metrics document their "
        "normalization in `planner.metrics`.",
        "",
    ]
    if "heatmap" in figures:
        lines += [f"![normalized {metric} heatmap]({figures['heatmap']})", ""]
    lines += [f"![transfer graph]({figures['graph']})", ""]
    lines += _failed_lines(scores)
    lines += flagged_section(scores)
    lines += [decisions_markdown.strip(), ""]
    lines += tta_section(scores, plan)
    for key in ("groups", "curriculum"):
        if key in figures:
            lines += [f"![{key}]({figures[key]})", ""]
    lines += ["## Files", "",
              "- `scores.csv`: one row per (source, target, metric) with raw and normalized scores.",
              "- `graph.graphml`: the transfer graph (`networkx.read_graphml`).",
              "- `plan.json`: every decision with its objective value and optimality.", ""]
    return atomic_write_text(out / "report.md", "\n".join(lines))
