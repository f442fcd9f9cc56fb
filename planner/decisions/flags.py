"""Plan warnings for decisions taken on flagged scores (scores outside their metric's regime of
validity: the edge attribute ``flag`` set by :func:`transfergraph.planner.build_graph` from the score table's
``flag`` column)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import networkx as nx

__all__ = ["flagged_edges", "flag_warnings"]


def flagged_edges(graph: nx.DiGraph) -> list[tuple[str, str, str]]:
    """``(source node, target, flag)`` of every edge whose weight comes from a flagged score, sorted."""
    return sorted(
        (str(u), str(v), str(f)) for u, v, f in graph.edges(data="flag") if isinstance(f, str) and f
    )


def flag_warnings(graph: nx.DiGraph, sources: Mapping[str, Sequence[Any]], metric: str) -> list[str]:
    """Warnings naming every decision that ranked sources by flagged ``metric`` scores.

    ``sources`` is the plan's ``{target: [[source, weight], ...]}``. One warning per target whose
    listed sources include a flagged edge (naming the sources and the reasons), and one for the
    whole-graph decisions (source set, grouping, curriculum), which read every edge. Each warning
    contains the word "flagged". No flagged edge: no warning.
    """
    edges = flagged_edges(graph)
    if not edges:
        return []
    reason = {(u, v): f for u, v, f in edges}
    out = []
    for target, listed in sources.items():
        hits = [(str(s), reason[(str(s), str(target))]) for s, _ in listed if (str(s), str(target)) in reason]
        if hits:
            shown = "; ".join(f"{s}: {f}" for s, f in hits)
            out.append(
                f"sources for target {target!r} are ranked by flagged {metric} scores (outside the metric's "
                f"regime of validity, the ranking may reflect sample size rather than transferability): {shown}."
            )
    targets = sorted({v for _, v, _ in edges})
    shown = ", ".join(repr(t) for t in targets[:10]) + (" ..." if len(targets) > 10 else "")
    out.append(
        f"the source set, grouping and curriculum use {len(edges)} flagged {metric} score(s) of "
        f"{graph.number_of_edges()} edges (targets {shown}); see the score table's flag column."
    )
    return out
