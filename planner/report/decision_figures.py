"""PNG figures of a plan: the chosen groups and the curriculum tree.

No pyplot: each function builds its own ``Figure`` (:mod:`transfergraph.planner.report._mpl`), so it never touches
the caller's backend.
"""
from __future__ import annotations

import os
import textwrap
from typing import Any

import networkx as nx
import numpy as np
from matplotlib.patches import Rectangle

from transfergraph.planner.decisions._graph import weight_matrix
from transfergraph.planner.report._mpl import new_figure, save_png

__all__ = ["plot_groups", "plot_curriculum"]

LABEL_LIMIT = 60
ROOT = "external models / scratch"


def _save(fig, path: str | os.PathLike) -> str:  # noqa: ANN001
    return str(save_png(fig, path))


def _status_text(obj: dict[str, Any]) -> str:
    status = obj.get("status") or ("optimal" if obj.get("optimal") else "heuristic")
    if status == "optimal":
        return "proven optimal"
    gap = "unknown" if obj.get("gap") is None else f"<= {100 * obj['gap']:.1f}%"
    return f"{'time limit' if status == 'time_limit' else 'heuristic'}, gap {gap}"


def _gain_view(graph: nx.DiGraph) -> nx.DiGraph:
    """The graph's nodes and one edge per finite ``cotrain_gain`` (written by ``transfergraph group``), as ``weight``."""
    view = nx.DiGraph()
    view.add_nodes_from(graph.nodes)
    for u, v, d in graph.edges(data=True):
        g = d.get("cotrain_gain")
        if g is not None and np.isfinite(float(g)):
            view.add_edge(u, v, weight=float(g))
    return view


def plot_groups(graph: nx.DiGraph, plan: dict[str, Any], path: str | os.PathLike) -> str | None:
    """Heatmap of task->task weights, tasks ordered by group, each group outlined. Returns ``path``,
    or None (nothing written) when no task->task edge exists: the figure would be blank.

    Groups measured by ``transfergraph group`` (``objectives.groups.affinity == "cotrain_gain"``) are drawn on
    the edges' measured co-training gains (``cotrain_gain``, nats, diverging colours around 0) instead of the
    transfer-score weights, so the figure shows what the groups were chosen on."""
    obj = plan["objectives"]["groups"]
    measured = obj.get("affinity") == "cotrain_gain"
    if measured:
        graph = _gain_view(graph)
    by_name = {str(n): n for n in graph.nodes}
    order = [t for g in plan["groups"] for t in g]
    nodes = [by_name[t] for t in order]
    W, E = weight_matrix(graph, nodes, nodes)
    M = np.where(E, W, np.nan)
    if not np.isfinite(M).any():
        return None
    n = len(order)
    size = min(12.0, 3.0 + 0.25 * n)
    fig = new_figure(size + 1.5, size)
    ax = fig.add_subplot(1, 1, 1)
    if measured:
        lim = float(np.nanmax(np.abs(M))) or 1.0
        im = ax.imshow(M, cmap="RdBu", vmin=-lim, vmax=lim, interpolation="nearest")
        fig.colorbar(im, ax=ax, label="co-training gain, nats (> 0: source helps target)")
    else:
        im = ax.imshow(M, cmap="viridis", interpolation="nearest")
        fig.colorbar(im, ax=ax, label=f"weight (normalized {plan.get('metric', '')}); blank = no edge")
    pos = 0
    for g in plan["groups"]:
        ax.add_patch(Rectangle((pos - 0.5, pos - 0.5), len(g), len(g), fill=False, edgecolor="red" if not measured
                               else "black", lw=2))
        pos += len(g)
    if n <= LABEL_LIMIT:
        ax.set_xticks(range(n), order, rotation=90, fontsize=7)
        ax.set_yticks(range(n), order, fontsize=7)
    ax.set_xlabel("target task")
    ax.set_ylabel("source task")
    status = _status_text(obj)
    if measured:
        shaky = "; provisional: gains not resolved beyond noise" if (plan.get("evidence") or {}).get(
            "groups", {}).get("provisional") else ""
        ax.set_title(f"{len(plan['groups'])} groups from measured co-training gains (black boxes)\n"
                     f"value {obj.get('value', 0):.3f} ({status}){shaky}; blank = not measured", fontsize=9)
    else:
        ax.set_title(f"{len(plan['groups'])} task groups (red boxes), value {obj.get('value', 0):.3f} ({status})")
    return _save(fig, path)


def _tree_rows(parents: dict[str, list], order: list[str]) -> list[tuple[str, int, str]]:
    """Rows of an indented tree view: ``(node, depth, parent)`` in depth-first order, children in
    training order, starting from the root (external models / scratch)."""
    children: dict[str, list[str]] = {}
    for t in order:
        p = parents.get(t, [None])[0]
        children.setdefault(p if p in parents else ROOT, []).append(t)
    rows: list[tuple[str, int, str]] = []
    stack = [(ROOT, 0, "")]
    while stack:  # iterative: a 1,000-task chain is 1,000 levels deep
        node, depth, parent = stack.pop()
        rows.append((node, depth, parent))
        stack += [(c, depth + 1, node) for c in reversed(children.get(node, []))]
    return rows


def _curriculum_label(node: str, rank: int, parent: Any, weight: Any, parents: dict) -> str:
    w = "" if weight is None else f"{weight:.2f}"
    if parent is not None and parent not in parents:  # starts from an external model
        return f"{rank}. {node}  (from {parent}{', ' + w if w else ''})"
    return f"{rank}. {node}" + (f"  ({w})" if w else "")


def plot_curriculum(graph: nx.DiGraph, plan: dict[str, Any], path: str | os.PathLike) -> str:
    """The curriculum as an indented tree (one row per task, like a file tree): each task under the
    model it starts from, numbered by its place in the training order, with the weight of the edge
    it starts from in brackets. Returns ``path``."""
    obj = plan["objectives"]["curriculum"]
    order = plan["curriculum"]
    parents = obj.get("parents", {})
    rank = {t: i + 1 for i, t in enumerate(order)}
    labels = {t: _curriculum_label(t, rank[t], *(parents.get(t) or [None, None]), parents) for t in order}
    labels[ROOT] = ROOT
    rows = _tree_rows(parents, order)
    depth = max(d for _, d, _ in rows)
    indent = 0.22 if depth <= 30 else 6.0 / depth  # inches per tree level
    size = 7 if len(rows) <= 40 else 6
    width = 1.0 + indent * depth + 0.068 * max(len(labels[n]) + 2 * d for n, d, _ in rows) * size / 7
    fig_w = min(30.0, max(5.4, width))
    fig = new_figure(fig_w, 1.1 + 0.2 * len(rows))
    ax = fig.add_subplot(1, 1, 1)
    y_of = {n: -i for i, (n, _, _) in enumerate(rows)}
    x_of = {n: d * indent for n, d, _ in rows}
    for node, d, parent in rows[1:]:
        xp = x_of[parent] + indent * 0.35
        ax.plot([xp, xp, x_of[node] - 0.02], [y_of[parent] - 0.3, y_of[node], y_of[node]], color="0.6", lw=0.8)
    for node, d, _ in rows:
        ax.text(x_of[node], y_of[node], labels[node], ha="left", va="center", fontsize=size,
                bbox={"boxstyle": "round,pad=0.2", "fc": "lightyellow" if node == ROOT else "white", "ec": "0.5"})
    ax.set_xlim(-0.05, width - 1.0)
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.set_axis_off()
    status = _status_text(obj)
    kind = plan.get("settings", {}).get("curriculum_objective", "tree")
    use = ": which model to start each task from" if kind == "tree" else ": one model, task after task"
    title = (f"Curriculum ({kind}{use}), value {obj.get('value', 0):.3f} ({status}); "
             "numbers = training order, (w) = weight of the edge it starts from")
    per_line = max(30, int(fig_w * 72 / (9 * 0.62)))  # characters of 9-pt text that fit the figure's width
    ax.set_title(textwrap.fill(title, per_line), fontsize=9)
    return _save(fig, path)
