"""Which nodes a plan may *recommend* as sources (option ``sources_from``).

A user with their own models may want recommendations among those only, while the per-task models
still give the task->task edges that groups and curricula need. ``sources_from`` restricts every
choice of a model to start from: the two source decisions (the ranked sources per target and the
source set, :func:`restrict_sources`) and the external model a curriculum starts a task from
(:func:`restrict_starts`). Which nodes are allowed is one rule, :func:`allowed_sources`:

- ``"all"`` (default): every node with an edge into a task;
- ``"external"``: model nodes only (``kind="model"``: the zoo, a user's checkpoints);
- ``"tasks"``: task nodes only (the models trained on the tasks themselves);
- a list of node names: exactly those nodes.

The source decisions see every node and every edge out of an allowed source. The groups see the full
graph, the curriculum every task->task edge (a task's model is trained within the curriculum, not
recommended from outside) but only the model->task edges out of allowed models, so a model outside
the scope is never named as a start.
"""
from __future__ import annotations

from typing import Any, Sequence

import networkx as nx

from transfergraph.planner.common.exceptions import InputError

__all__ = ["SOURCE_SCOPES", "check_sources_from", "allowed_sources", "restrict_sources", "restrict_starts",
           "describe"]

#: the keywords of ``sources_from`` (besides a list of node names)
SOURCE_SCOPES = ("all", "external", "tasks")


def check_sources_from(value: Any, *, caller: str = "PlanOptions()") -> str | tuple[str, ...]:
    """A keyword of :data:`SOURCE_SCOPES`, or a non-empty tuple of distinct node names (strings).

    A string that is not a keyword is read as comma-separated node names (the command line's form).

    Raises
    ------
    InputError
        Anything else; the message names ``sources_from`` and what was given.
    """
    if isinstance(value, str):
        if value in SOURCE_SCOPES:
            return value
        value = [v.strip() for v in value.split(",")]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v for v in value):
        if len(set(value)) != len(value):
            raise InputError(f"sources_from of {caller} lists a node twice; got {list(value)!r}.")
        return tuple(value)
    raise InputError(f"sources_from of {caller} must be one of {list(SOURCE_SCOPES)} or a list of source node names "
                     f"(comma-separated on the command line); got {value!r}.")


def allowed_sources(graph: nx.DiGraph, sources_from: str | Sequence[str]) -> set | None:
    """The allowed source nodes, or None for ``"all"``.

    Raises
    ------
    InputError
        A listed name is not a node of the graph (the message lists the graph's source nodes), or the
        scope leaves no source at all.
    """
    if sources_from == "all":
        return None
    if sources_from == "external":
        allowed = {n for n, k in graph.nodes(data="kind") if k == "model"}
    elif sources_from == "tasks":
        allowed = {n for n, k in graph.nodes(data="kind") if k == "task"}
    else:
        by_name = {str(n): n for n in graph.nodes}
        missing = [s for s in sources_from if s not in by_name]
        if missing:
            known = sorted({str(u) for u, _ in graph.edges})
            shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
            raise InputError(f"sources_from (--sources-from, plan.sources_from) names {missing}, which are not nodes of "
                             f"the graph; expected one of the words {list(SOURCE_SCOPES)} or source node names: {shown}.")
        allowed = {by_name[s] for s in sources_from}
    if not any(u in allowed for u, _ in graph.edges):
        raise InputError(f"sources_from={sources_from!r} (--sources-from, plan.sources_from) leaves no node with an edge "
                         "into a task: nothing could be recommended. Score those sources first, or widen it.")
    return allowed


def restrict_sources(graph: nx.DiGraph, sources_from: str | Sequence[str]) -> nx.DiGraph:
    """The graph the source decisions see: edges out of sources outside the scope removed (nodes kept).
    Returns ``graph`` itself for ``"all"``."""
    allowed = allowed_sources(graph, sources_from)
    if allowed is None:
        return graph
    out = graph.copy()
    out.remove_edges_from([(u, v) for u, v in graph.edges if u not in allowed])
    return out


def restrict_starts(graph: nx.DiGraph, sources_from: str | Sequence[str]) -> nx.DiGraph:
    """The graph the curriculum sees: edges out of model nodes (``kind="model"``) outside the scope removed,
    every task->task edge kept (nodes kept). Returns ``graph`` itself for ``"all"``.

    With ``"tasks"`` no model edge is left: the first task (and any task no earlier task transfers to)
    starts from scratch.

    Raises
    ------
    InputError
        As :func:`allowed_sources`.
    """
    allowed = allowed_sources(graph, sources_from)
    if allowed is None:
        return graph
    out = graph.copy()
    out.remove_edges_from([(u, v) for u, v in graph.edges
                           if u not in allowed and graph.nodes[u].get("kind") == "model"])
    return out


def describe(sources_from: str | Sequence[str]) -> str:
    """The scope in words, for the plan's warnings and report."""
    if sources_from == "external":
        return "external models only"
    if sources_from == "tasks":
        return "the tasks' own models only"
    return "the sources " + ", ".join(map(repr, sources_from))
