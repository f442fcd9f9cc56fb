"""The transfer-graph figure: the edges the plan recommends, drawn source column -> target column.

A circular drawing of every edge becomes a pile of labels beyond a few dozen nodes. This figure
draws only what ``plan.json["sources"]`` recommends (each target's ``top_k`` best in-edges), as a
two-column diagram: recommended sources on the left (external models first), targets on the right,
both in the plan's group order so related tasks sit together. Colour is the edge weight (colour
bar), width the source's rank for its target (legend). One row per node keeps labels apart; the
figure grows with the number of nodes.

Beyond :data:`MATRIX_FROM` targets the lines would cross into a solid band, so the same
recommendations are drawn as a dot matrix instead: one column per target (the plan's group order),
one row per recommended source (those serving the most targets first), a dot per recommended edge
with its size the rank and its colour the weight; tick labels are thinned as in the heatmap
(:func:`~transfergraph.planner.report.scores_figure.thinned_ticks`), and ``topk.csv`` lists them all.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import networkx as nx

from transfergraph.planner.report._mpl import new_figure, save_png

__all__ = ["plot_graph", "RANK_WIDTHS"]

#: line width of a target's best, second, third ... recommended source (later ranks use the last)
RANK_WIDTHS = (3.0, 1.8, 1.0, 0.6)
ROW = 0.2  # inches per row
#: from this many targets on, the recommendations are drawn as a dot matrix (see the module docstring)
MATRIX_FROM = 40
#: dot area (points^2) of the best, second, third ... source in the dot matrix
RANK_SIZES = (36.0, 16.0, 7.0, 3.0)


def _task_order(graph: nx.DiGraph, plan: dict[str, Any]) -> list[str]:
    order = [t for g in plan.get("groups", []) for t in g]
    rest = sorted(str(n) for n, k in graph.nodes(data="kind") if k == "task" and str(n) not in set(order))
    return order + rest


def _columns(graph: nx.DiGraph, plan: dict[str, Any]) -> tuple[list[str], list[str], list[tuple[str, str, float, int]]]:
    tasks = _task_order(graph, plan)
    edges = [(str(s), t, w, r) for t in tasks for r, (s, w) in enumerate(plan["sources"].get(t, [])) if w is not None]
    used = {s for s, _, _, _ in edges}
    kind = {str(n): k for n, k in graph.nodes(data="kind")}
    left = sorted(s for s in used if kind.get(s) == "model") + [t for t in tasks if t in used]
    return left, tasks, edges


def plot_graph(graph: nx.DiGraph, plan: dict[str, Any], path: str | os.PathLike) -> Path | None:
    """Draw the recommended edges of ``plan`` to ``path``; None (nothing written) when there are none."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    left, right, edges = _columns(graph, plan)
    if not edges:
        return None
    if len(right) >= MATRIX_FROM:
        return _plot_matrix(graph, plan, path, right, edges)
    rows = max(len(left), len(right))
    y_left = {n: rows - 1 - i * (rows - 1) / max(1, len(left) - 1) for i, n in enumerate(left)}
    y_right = {n: rows - 1 - i * (rows - 1) / max(1, len(right) - 1) for i, n in enumerate(right)}
    longest = max(len(n) for n in left + right)
    fig = new_figure(4.2 + 0.12 * longest, max(3.4, ROW * rows + 1.9))
    ax = fig.add_subplot(1, 1, 1)
    cmap, norm = colormaps["viridis"], Normalize(0.0, max(1.0, max(w for _, _, w, _ in edges)))
    for s, t, w, r in sorted(edges, key=lambda e: -e[3]):  # best ranks drawn last, on top
        ax.plot([0, 1], [y_left[s], y_right[t]], color=cmap(norm(w)), lw=RANK_WIDTHS[min(r, len(RANK_WIDTHS) - 1)],
                alpha=0.85, solid_capstyle="round")
    kind = {str(n): k for n, k in graph.nodes(data="kind")}
    size = 7 if rows <= 40 else 5.5
    for n, y in y_left.items():
        model = kind.get(n) == "model"
        ax.plot(0, y, "s" if model else "o", color="#dd8452" if model else "#4c72b0", ms=5)
        ax.text(-0.03, y, n, ha="right", va="center", fontsize=size)
    for n, y in y_right.items():
        ax.plot(1, y, "o", color="#4c72b0", ms=5)
        ax.text(1.03, y, n, ha="left", va="center", fontsize=size)
    top_k = plan.get("settings", {}).get("top_k", max(r for *_, r in edges) + 1)
    ranks = min(top_k, len(RANK_WIDTHS))
    handles = [Line2D([], [], color="0.3", lw=RANK_WIDTHS[r], label=("best" if r == 0 else f"rank {r + 1}")
                      + (" and lower" if r == len(RANK_WIDTHS) - 1 < top_k - 1 else "")) for r in range(ranks)]
    handles += [Line2D([], [], ls="", marker="s", color="#dd8452", label="external model"),
                Line2D([], [], ls="", marker="o", color="#4c72b0", label="task")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=7, frameon=False,
               title="line width = rank of the source for its target", title_fontsize=7)
    fig.colorbar(cm_mappable(cmap, norm), ax=ax, fraction=0.05, pad=0.02, aspect=25,
                 shrink=min(1.0, 4.0 / max(4.0, ROW * rows)), label=f"edge weight (normalized {plan.get('metric', '')})")
    pad = 0.025 * longest
    ax.set_xlim(-0.05 - pad, 1.05 + pad)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_axis_off()
    ax.set_title(f"Recommended sources: top-{top_k} per target (plan.json `sources`)\n"
                 "left: source node, right: target task", fontsize=9)
    return save_png(fig, path)


def _plot_matrix(graph: nx.DiGraph, plan: dict[str, Any], path: str | os.PathLike, targets: list[str],
                 edges: list[tuple[str, str, float, int]]) -> Path:
    """The dot-matrix drawing of the recommended edges (many targets)."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    from transfergraph.planner.report.scores_figure import MAX_SIDE, thinned_ticks

    served: dict[str, int] = {}
    for s, _, _, _ in edges:
        served[s] = served.get(s, 0) + 1
    sources = sorted(served, key=lambda s: (-served[s], s))
    row, col = {s: i for i, s in enumerate(sources)}, {t: j for j, t in enumerate(targets)}
    cell = min(0.2, MAX_SIDE / max(len(sources), len(targets)))
    (xpos, xlab), (ypos, ylab) = thinned_ticks(targets), thinned_ticks(sources)
    longest = max(len(x) for x in xlab + ylab)
    fig = new_figure(cell * len(targets) + 0.5 + 0.065 * longest + 1.4,
                     cell * len(sources) + 0.5 + 0.065 * longest + 1.6)
    ax = fig.add_subplot(1, 1, 1)
    cmap, norm = colormaps["viridis"], Normalize(0.0, max(1.0, max(w for _, _, w, _ in edges)))
    ordered = sorted(edges, key=lambda e: -e[3])  # best ranks drawn last, on top
    sc = ax.scatter([col[t] for _, t, _, _ in ordered], [row[s] for s, _, _, _ in ordered],
                    s=[RANK_SIZES[min(r, len(RANK_SIZES) - 1)] for *_, r in ordered],
                    c=[w for _, _, w, _ in ordered], cmap=cmap, norm=norm, edgecolors="none")
    ax.set_xlim(-0.5, len(targets) - 0.5)
    ax.set_ylim(len(sources) - 0.5, -0.5)
    ax.set_xticks(xpos, xlab, rotation=90, fontsize=5)
    ax.set_yticks(ypos, ylab, fontsize=5)
    ax.grid(True, color="0.92", lw=0.4)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"target task ({len(targets)}, plan group order" + ("; labels thinned)" if len(xpos) < len(targets)
                                                                      else ")"))
    ax.set_ylabel(f"recommended source ({len(sources)}, most targets served first"
                  + ("; labels thinned)" if len(ypos) < len(sources) else ")"))
    top_k = plan.get("settings", {}).get("top_k", max(r for *_, r in edges) + 1)
    handles = [Line2D([], [], ls="", marker="o", color="0.3", ms=RANK_SIZES[min(r, len(RANK_SIZES) - 1)] ** 0.5,
                      label="best" if r == 0 else f"rank {r + 1}") for r in range(min(top_k, len(RANK_SIZES)))]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7, frameon=False,
               title="dot size = rank of the source for its target", title_fontsize=7)
    fig.colorbar(sc, ax=ax, fraction=0.04, pad=0.02, label=f"edge weight (normalized {plan.get('metric', '')})")
    ax.set_title(f"Recommended sources: top-{top_k} per target (plan.json `sources`; every one in topk.csv)",
                 fontsize=9)
    return save_png(fig, path)


def cm_mappable(cmap, norm):  # noqa: ANN001, ANN201
    """A colour-bar source for ``cmap`` and ``norm`` without an image."""
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=cmap)
