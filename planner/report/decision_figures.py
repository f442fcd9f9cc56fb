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

from ..decisions._graph import weight_matrix

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
    """Left-to-right layout: x = depth, one row per leaf (so labels never overlap), parents centred."""
    children: dict[str, list[str]] = {}
    for t in order:
        p = parents.get(t, [None])[0]
        key = p if p in parents else ROOT
        children.setdefault(key, []).append(t)
    pos: dict[str, tuple[float, float]] = {}
    next_row = [0.0]

    def place(node: str, depth: int) -> float:
        kids = children.get(node, [])
        if not kids:
            y = next_row[0]
            next_row[0] += 1.0
        else:
            ys = [place(k, depth + 1) for k in kids]
            y = (ys[0] + ys[-1]) / 2.0
        pos[node] = (float(depth), -y)
        return y

    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(order) + 100))
    try:
        place(ROOT, 0)
    finally:
        sys.setrecursionlimit(limit)
    return pos


def plot_curriculum(graph: nx.DiGraph, plan: dict[str, Any], path: str | os.PathLike) -> str:
    """The curriculum as a tree drawn left to right: each task under the model it starts from,
    numbered by its place in the order, edges labelled with their weight. Returns ``path``."""
    obj = plan["objectives"]["curriculum"]
    order = plan["curriculum"]
    parents = obj.get("parents", {})
    pos = _tree_layout(parents, order)
    n = len(order)
    small = n > LABEL_LIMIT
    depth = max(x for x, _ in pos.values())
    rows = 1 - min(y for _, y in pos.values())
    fig = Figure(figsize=(min(22.0, 3.0 + 3.2 * (depth + 1)), min(30.0, 1.5 + (0.08 if small else 0.35) * rows)))
    ax = fig.add_subplot(1, 1, 1)
    rank = {t: i + 1 for i, t in enumerate(order)}
    for t in order:
        p, w = parents.get(t, [None, None])
        src = p if p in parents else ROOT
        (x0, y0), (x1, y1) = pos[src], pos[t]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.55", "shrinkA": 4, "shrinkB": 4})
        if not small and w is not None:
            ax.text(x0 + 0.55 * (x1 - x0), y0 + 0.55 * (y1 - y0), f"{w:.2f}", fontsize=7, color="tab:blue",
                    ha="center", va="bottom")
    for node, (x, y) in pos.items():
        if node == ROOT:
            label = ROOT
        elif small:
            continue
        else:
            p = parents.get(node, [None])[0]
            label = f"{rank[node]}. {node}" + (f"  (from {p})" if p is not None and p not in parents else "")
        ax.text(x, y, label, ha="left", va="center", fontsize=7,
                bbox={"boxstyle": "round", "fc": "lightyellow" if node == ROOT else "white", "ec": "0.4"})
    if small:
        sc = ax.scatter([pos[t][0] for t in order], [pos[t][1] for t in order], s=6,
                        c=[rank[t] for t in order], cmap="viridis")
        fig.colorbar(sc, ax=ax, label="position in the training order", shrink=0.6)
    ax.set_axis_off()
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    ax.set_xlim(min(xs) - 0.2, max(xs) + 1.6)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    status = "optimal" if obj.get("optimal") else f"heuristic, gap <= {100 * (obj.get('gap') or 0):.1f}%"
    kind = plan.get("settings", {}).get("curriculum_objective", "tree")
    ax.set_title(f"Curriculum ({kind}), value {obj.get('value', 0):.3f} ({status}); numbers = training order")
    return _save(fig, path)
