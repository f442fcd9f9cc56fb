"""Plan assembly: every SPEC §3 decision on one graph, as the JSON-ready ``plan.json`` dict (SPEC §4).

Defaults when an option is None (recorded in ``plan["settings"]``):

- ``budget`` = ceil(sqrt(number of candidate sources)), at least 1;
- ``n_groups`` = ceil(number of tasks / 3), raised to ceil(n / max_group_size) when a cap needs it.
"""
from __future__ import annotations

import math
from typing import Any, Hashable

import networkx as nx

from ._graph import check_graph, source_nodes, task_nodes
from ._result import Decision, json_float
from .curriculum import solve_curriculum
from .grouping import default_n_groups, solve_grouping
from .sources import _check_int, default_budget, select_sources, solve_source_set

__all__ = ["make_plan", "PLAN_KEYS"]

#: keys every plan.json has (SPEC §4 plus "settings")
PLAN_KEYS = ("metric", "sources", "source_models", "source_set", "groups", "curriculum", "objectives", "warnings",
             "settings")


def _source_models(graph: nx.DiGraph, edges: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """``{target: {source node: model}}`` for each named edge whose model differs from its node's name.

    A task node stands for every model attached to that task (its own network, a CNAPs model adapted
    to it); the edge attribute ``source`` says which of them earned the edge's weight, i.e. which
    checkpoint to fine-tune.
    """
    out: dict[str, dict[str, str]] = {}
    for node, target in edges:
        if graph.has_edge(node, target):
            model = graph.edges[node, target].get("source")
            if model is not None and str(model) != str(node):
                out.setdefault(str(target), {})[str(node)] = str(model)
    return {t: dict(sorted(m.items())) for t, m in sorted(out.items())}


def _s(x: Hashable) -> str | None:
    return None if x is None else str(x)


def _warnings_for_sources(sources: dict[str, list], tasks: list, metric: str) -> list[str]:
    out = []
    meaning = ("no better than predicting the label prior" if str(metric).lower() in ("leep", "nce")
               else f"at or below the reference level of the normalized {metric} score")
    for t in tasks:
        top = sources[str(t)]
        if not top:
            out.append(
                f"target {str(t)!r} has no scored source (no incoming edge): it is trained from scratch "
                f"and counts 0 in source_set; score more sources for it or check failed pairs in scores.csv."
            )
        elif top[0][1] is not None and top[0][1] <= 0:
            out.append(
                f"negative-transfer risk for target {str(t)!r}: its best source {top[0][0]!r} has normalized "
                f"weight {top[0][1]:.3g} <= 0 ({meaning}); train it from "
                f"scratch or add sources closer to it."
            )
    return out


def _warning_for_decision(d: Decision) -> str | None:
    if d.optimal:
        return None
    gap = "unknown" if d.gap is None else f"{100 * d.gap:.2f}%"
    bound = "unknown" if d.bound is None else f"{d.bound:.4g}"
    how = "time limit reached" if "milp" in d.method or "milp_status" in d.details else "heuristic"
    return (
        f"{d.name}: not proven optimal ({how}; method '{d.method}', value {d.value:.4g}, "
        f"upper bound {bound}, gap at most {gap})."
    )


def make_plan(
    graph: nx.DiGraph,
    *,
    metric: str = "leep",
    top_k: int = 3,
    budget: int | None = None,
    n_groups: int | None = None,
    max_group_size: int | None = None,
    start: Hashable | None = None,
    centered: bool = True,
    curriculum_objective: str = "tree",
    time_limit: float = 60.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Run every decision and return the ``plan.json`` dict.

    Parameters
    ----------
    graph : nx.DiGraph
        From :func:`planner.build_graph`.
    metric : str
        Name of the metric behind the ``weight`` attribute (recorded only).
    top_k : int
        Sources listed per target in ``plan["sources"]``.
    budget, n_groups, max_group_size, start, centered, curriculum_objective
        Options of ``select_source_set``, ``group_tasks`` and ``order_curriculum``; None = module default.
    time_limit : float
        Seconds each MILP may run. seed : int, seed of the grouping ILS.

    Returns
    -------
    dict
        Keys :data:`PLAN_KEYS`; ``source_models`` names, for every edge the plan recommends whose
        source node is a task, the model that earned it (``{target: {node: model}}``); names are strings, numbers plain floats, unknowns None (no NaN).
    """
    check_graph(graph, caller="make_plan")
    top_k = _check_int(top_k, argument="top_k", caller="make_plan")
    tasks = task_nodes(graph)
    n_candidates = len(source_nodes(graph, tasks))
    warnings: list[str] = []

    sources = {
        str(t): [[str(s), json_float(w)] for s, w in select_sources(graph, t, k=top_k)] for t in tasks
    }
    warnings += _warnings_for_sources(sources, tasks, metric)

    budget_default = budget is None
    if budget_default:
        budget = default_budget(n_candidates)
    elif isinstance(budget, int) and not isinstance(budget, bool) and budget > n_candidates > 0:
        warnings.append(
            f"budget={budget} exceeds the {n_candidates} candidate sources; every useful source fits."
        )
    src_set = solve_source_set(graph, budget=budget, time_limit=time_limit)

    groups_default = n_groups is None
    if groups_default:
        n_groups = default_n_groups(len(tasks))
        if max_group_size is not None:
            n_groups = max(n_groups, math.ceil(len(tasks) / max(1, int(max_group_size))))
    grouping = solve_grouping(
        graph, n_groups=n_groups, max_group_size=max_group_size, centered=centered,
        time_limit=time_limit, seed=seed,
    )
    curriculum = solve_curriculum(graph, start=start, objective=curriculum_objective, time_limit=time_limit)

    decisions = (src_set, grouping, curriculum)
    warnings += [w for w in map(_warning_for_decision, decisions) if w]
    objectives = {d.name: d.to_json() for d in decisions}
    objectives["curriculum"]["parents"] = {
        str(t): [_s(p), json_float(w)] for t, (p, w) in curriculum.details["parents"].items()
    }
    objectives["curriculum"]["start"] = _s(start)
    named_edges = [(s, t) for t, top in sources.items() for s, _ in top]
    named_edges += [(str(s), str(t)) for t, s in src_set.solution["assignment"].items()]
    named_edges += [(str(p), str(t)) for t, (p, _) in curriculum.details["parents"].items() if p is not None]
    return {
        "metric": metric,
        "sources": sources,
        "source_models": _source_models(graph, named_edges),
        "source_set": {
            "chosen": [str(s) for s in src_set.solution["chosen"]],
            "assignment": {str(t): str(s) for t, s in src_set.solution["assignment"].items()},
            "budget": int(budget),
        },
        "groups": [[str(t) for t in g] for g in grouping.solution],
        "curriculum": [str(t) for t in curriculum.solution],
        "objectives": objectives,
        "warnings": warnings,
        "settings": {
            "top_k": top_k, "budget": int(budget), "budget_default": budget_default,
            "n_groups": int(n_groups), "n_groups_default": groups_default,
            "max_group_size": max_group_size, "centered": bool(centered), "start": _s(start),
            "curriculum_objective": curriculum_objective, "time_limit": float(time_limit), "seed": int(seed),
            "n_tasks": len(tasks), "n_candidate_sources": n_candidates,
        },
    }
