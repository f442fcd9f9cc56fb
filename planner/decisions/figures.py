"""PNG figures of a plan: the chosen groups and the curriculum tree (matplotlib, Agg canvas).

No pyplot: each function builds its own ``Figure`` on an Agg canvas, so it never touches the global
backend of the caller.
"""
from __future__ import annotations

import os
from typing import Any

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ._graph import weight_matrix

__all__ = ["plot_groups", "plot_curriculum"]

LABEL_LIMIT = 60
ROOT = "external models / scratch"


def _save(fig: Figure, path: str | os.PathLike) -> str:
    FigureCanvasAgg(fig)
    fig.savefig(os.fspath(path), dpi=110, bbox_inches="tight")
    return os.fspath(path)


def plot_groups(graph: nx.DiGraph, plan: dict[str, Any], path: str | os.PathLike) -> str:
    """Heatmap of task->task weights, tasks ordered by group, each group outlined. Returns ``path``."""
    by_name = {str(n): n for n in graph.nodes}
    order = [t for g in plan["groups"] for t in g]
    nodes = [by_name[t] for t in order]
    W, E = weight_matrix(graph, nodes, nodes)
    M = np.where(E, W, np.nan)
    n = len(order)
    size = min(12.0, 3.0 + 0.25 * n)
    fig = Figure(figsize=(size + 1.5, size))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(M, cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax, label=f"weight (normalized {plan.get('metric', '')}); blank = no edge")
    pos = 0
    for g in plan["groups"]:
        ax.add_patch(Rectangle((pos - 0.5, pos - 0.5), len(g), len(g), fill=False, edgecolor="red", lw=2))
        pos += len(g)
    if n <= LABEL_LIMIT:
        ax.set_xticks(range(n), order, rotation=90, fontsize=7)
        ax.set_yticks(range(n), order, fontsize=7)
    ax.set_xlabel("target task")
    ax.set_ylabel("source task")
    obj = plan["objectives"]["groups"]
    status = "optimal" if obj.get("optimal") else f"heuristic, gap <= {100 * (obj.get('gap') or 0):.1f}%"
    ax.set_title(f"{len(plan['groups'])} task groups (red boxes), value {obj.get('value', 0):.3f} ({status})")
    return _save(fig, path)


def _tree_layout(parents: dict[str, list], order: list[str]) -> dict[str, tuple[float, float]]:
    children: dict[str, list[str]] = {}
    for t in order:
        p = parents.get(t, [None])[0]
        key = p if p in parents else ROOT
        children.setdefault(key, []).append(t)
    pos: dict[str, tuple[float, float]] = {}
    next_x = [0.0]

    def place(node: str, depth: int) -> float:
        kids = children.get(node, [])
        if not kids:
            x = next_x[0]
            next_x[0] += 1.0
        else:
            xs = [place(k, depth + 1) for k in kids]
            x = (xs[0] + xs[-1]) / 2.0
        pos[node] = (x, -float(depth))
        return x

    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(order) + 100))
    try:
        place(ROOT, 0)
    finally:
        sys.setrecursionlimit(limit)
    return pos


def plot_curriculum(graph: nx.DiGraph, plan: dict[str, Any], path: str | os.PathLike) -> str:
    """The curriculum as a tree: each task under the model it starts from, numbered by its place in
    the order; edges labelled with their weight. Returns ``path``."""
    obj = plan["objectives"]["curriculum"]
    order = plan["curriculum"]
    parents = obj.get("parents", {})
    pos = _tree_layout(parents, order)
    n = len(order)
    width = min(20.0, 4.0 + 0.6 * max(1, max(x for x, _ in pos.values()) + 1))
    height = min(14.0, 2.0 + 1.2 * (1 - min(y for _, y in pos.values())))
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot(1, 1, 1)
    rank = {t: i + 1 for i, t in enumerate(order)}
    small = n > LABEL_LIMIT
    for t in order:
        p, w = parents.get(t, [None, None])
        src = p if p in parents else ROOT
        (x0, y0), (x1, y1) = pos[src], pos[t]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": "0.5"})
        if not small and w is not None:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, f"{w:.2f}", fontsize=7, color="tab:blue")
        if src == ROOT and p is not None and not small:
            ax.text(x1, y1 + 0.25, f"from {p}", fontsize=6, ha="center", color="0.3")
    for node, (x, y) in pos.items():
        label = node if node == ROOT else f"{rank[node]}. {node}"
        ax.text(x, y, "" if small and node != ROOT else label, ha="center", va="center", fontsize=7 if not small else 5,
                bbox={"boxstyle": "round", "fc": "lightyellow" if node == ROOT else "white", "ec": "0.4"})
    if small:
        xs = [pos[t][0] for t in order]
        ys = [pos[t][1] for t in order]
        sc = ax.scatter(xs, ys, s=6, c=[rank[t] for t in order], cmap="viridis")
        fig.colorbar(sc, ax=ax, label="position in the training order", shrink=0.6)
    ax.set_axis_off()
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    status = "optimal" if obj.get("optimal") else f"heuristic, gap <= {100 * (obj.get('gap') or 0):.1f}%"
    kind = plan.get("settings", {}).get("curriculum_objective", "tree")
    ax.set_title(f"Curriculum ({kind}), value {obj.get('value', 0):.3f} ({status}); numbers = training order")
    return _save(fig, path)
