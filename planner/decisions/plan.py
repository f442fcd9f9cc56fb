"""Plan assembly: every decision on one graph, as the JSON-ready ``plan.json`` dict.

Defaults when an option is None (recorded in ``plan["settings"]``):

- ``budget`` = ceil(sqrt(number of candidate sources)), at least 1;
- ``n_groups`` = ceil(number of tasks / 3), raised to ceil(n / max_group_size) when a cap needs it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import Any, Hashable

import networkx as nx

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.decisions._graph import check_graph, source_nodes, task_nodes
from transfergraph.planner.decisions._result import Decision, Status, json_float
from transfergraph.planner.decisions.curriculum import solve_curriculum
from transfergraph.planner.decisions.grouping import default_n_groups, solve_grouping
from transfergraph.planner.decisions.flags import flag_warnings
from transfergraph.planner.decisions.options import PlanOptions
from transfergraph.planner.decisions.plan_types import PLAN_KEYS, Plan
from transfergraph.planner.decisions.trust import graph_trust
from transfergraph.planner.graph.predicted import measured_graph, predicted_edges
from transfergraph.planner.decisions.sources import default_budget, select_sources, solve_source_set
from transfergraph.planner.decisions.source_scope import describe, restrict_sources, restrict_starts

__all__ = ["build_plan", "make_plan", "PLAN_KEYS"]


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
                f"no head-transfer signal for target {str(t)!r}: its best source {top[0][0]!r} has normalized "
                f"weight {top[0][1]:.3g} <= 0 ({meaning}). The {metric} score speaks of a new classifier head "
                f"trained on the source's frozen features, not of full fine-tuning, which can still transfer well "
                f"from it; to choose, fine-tune from this source and from scratch (`transfergraph validate` with "
                f"fine_tune), or add sources closer to the target."
            )
    return out


def _warning_for_decision(d: Decision) -> str | None:
    if d.status is Status.OPTIMAL:
        return None
    gap = "unknown" if d.gap is None else f"{100 * d.gap:.2f}%"
    bound = "unknown" if d.bound is None else f"{d.bound:.4g}"
    how = "time limit reached" if d.status is Status.TIME_LIMIT else "heuristic"
    return (
        f"{d.name}: not proven optimal ({how}; method '{d.method}', value {d.value:.4g}, "
        f"upper bound {bound}, gap at most {gap})."
    )


def _budget(options: PlanOptions, n_candidates: int, warnings: list[str]) -> int:
    if options.budget is None:
        return default_budget(n_candidates)
    if options.budget > n_candidates > 0:
        warnings.append(f"budget={options.budget} exceeds the {n_candidates} candidate sources; every useful "
                        "source fits.")
    return options.budget


def _n_groups(options: PlanOptions, n_tasks: int) -> int:
    if options.n_groups is not None:
        return options.n_groups
    n_groups = default_n_groups(n_tasks)
    if options.max_group_size is not None:
        n_groups = max(n_groups, math.ceil(n_tasks / options.max_group_size))
    return n_groups


def _unmeasured_steps(order: list, predicted: set, objective: str) -> list[str]:
    """A warning when consecutive tasks of a one-model curriculum are a pair that was predicted, not scored:
    the order read it as a missing edge (weight 0), which an objective seeking dissimilar neighbours prefers."""
    if objective == "tree" or not predicted:
        return []
    steps = [(a, b) for a, b in zip(order, order[1:]) if (a, b) in predicted]
    if not steps:
        return []
    shown = ", ".join(f"{a} -> {b}" for a, b in steps[:5]) + (", ..." if len(steps) > 5 else "")
    prefers = (f"; `{objective}` seeks the least-transferring neighbours, so it prefers exactly such pairs"
               if objective in ("dissimilar_chain", "max_dissimilar_path") else "")
    return [f"curriculum: {len(steps)} of its {len(order) - 1} steps are pairs that are predicted, not scored "
            f"({shown}), read as missing edges (weight 0){prefers}: score the task->task pairs (a run without "
            "pairs_fraction) before training by this order."]


def build_plan(graph: nx.DiGraph, options: PlanOptions | None = None, **overrides: Any) -> Plan:
    """Run every decision and return the typed :class:`Plan` (``plan.json`` is its ``to_json()``).

    Parameters
    ----------
    graph : nx.DiGraph
        From :func:`transfergraph.planner.build_graph` (or read back from ``graph.graphml``). Edges
        marked ``predicted=True`` (pairs that were predicted, not scored) are dropped first: no
        decision ever uses or recommends them (a warning counts them).
    options : PlanOptions, optional
        Default: ``PlanOptions()``.
    **overrides
        Fields of :class:`PlanOptions` replacing those of ``options`` (None keeps the value).

    Raises
    ------
    transfergraph.planner.common.exceptions.InputError
        A bad option (named); see :class:`PlanOptions`; a ``metric`` other than the graph's
        ``graph.graph["metric"]`` (without an explicit metric, the graph's is used).
    transfergraph.planner.common.exceptions.GraphError, transfergraph.planner.common.exceptions.InfeasiblePlanError
        From the decision functions.
    """
    explicit = options is not None or overrides.get("metric") is not None
    options = (options or PlanOptions()).replace(**overrides)
    check_graph(graph, caller="build_plan")
    weighted_by = graph.graph.get("metric")
    if weighted_by and weighted_by != options.metric:
        if explicit:
            raise InputError(f"metric of build_plan() must be the metric the graph is weighted by, {weighted_by!r} "
                             f"(graph.graph['metric']); got {options.metric!r}. Build the graph with "
                             f"build_graph(scores, metric={options.metric!r}) to plan by it.")
        options = options.replace(metric=weighted_by)  # default metric: take the graph's
    o = options
    predicted = set(predicted_edges(graph))
    n_predicted = len(predicted)
    graph = measured_graph(graph)  # predicted (unscored) edges never enter a decision
    tasks = task_nodes(graph)
    full_graph, graph = graph, restrict_sources(graph, o.sources_from)  # the source decisions' view
    n_candidates = len(source_nodes(graph, tasks))
    warnings: list[str] = []
    if o.sources_from != "all":
        warnings.append(f"recommended sources restricted to {describe(o.sources_from)} (sources_from), and so are "
                        "the models the curriculum starts a task from; groups and curriculum still use every "
                        "task->task edge.")
    if n_predicted:
        n_between = sum(1 for u, v in predicted if u in tasks and v in tasks)
        warnings.append(f"{n_predicted} edges of the graph are predicted, not scored (pairs_fraction run); "
                        "they are left out of every decision: sources, source set, groups and curriculum "
                        "use measured scores only"
                        + (f" ({n_between} of them between tasks: groups and curriculum read those pairs as "
                           "missing, weight 0)" if n_between else "") + ".")
    sources = {str(t): [[str(s), json_float(w)] for s, w in select_sources(graph, t, k=o.top_k)] for t in tasks}
    warnings += _warnings_for_sources(sources, tasks, o.metric)
    warnings += flag_warnings(graph, sources, o.metric)
    evidence, trust_warnings = graph_trust(full_graph, sources, o.metric,  # evidence levels, weak-signal warnings
                                           curriculum_objective=o.curriculum_objective)
    warnings += trust_warnings
    budget = _budget(o, n_candidates, warnings)
    n_groups = _n_groups(o, len(tasks))
    src_set = solve_source_set(graph, budget=budget, time_limit=o.time_limit)
    graph = full_graph  # groups and curriculum: every task->task edge
    grouping = solve_grouping(graph, n_groups=n_groups, max_group_size=o.max_group_size, centered=o.centered,
                              affinity=o.grouping_affinity,
                              time_limit=o.time_limit, seed=o.seed)
    curriculum = solve_curriculum(restrict_starts(graph, o.sources_from),  # external starts within the scope
                                  start=o.start, objective=o.curriculum_objective, time_limit=o.time_limit)
    warnings += [w for w in map(_warning_for_decision, (src_set, grouping, curriculum)) if w]
    warnings += _unmeasured_steps(curriculum.solution, predicted, o.curriculum_objective)
    parents = {str(t): [_s(p), json_float(w)] for t, (p, w) in curriculum.details["parents"].items()}
    curriculum = replace(curriculum, details={**curriculum.details, "parents": parents, "start": _s(o.start)})
    named_edges = [(s, t) for t, top in sources.items() for s, _ in top]
    named_edges += [(str(s), str(t)) for t, s in src_set.solution["assignment"].items()]
    named_edges += [(p, t) for t, (p, _) in parents.items() if p is not None]
    settings = {**o.to_json(), "budget": int(budget), "budget_default": o.budget is None,
                "n_groups": int(n_groups), "n_groups_default": o.n_groups is None, "start": _s(o.start),
                "n_tasks": len(tasks), "n_candidate_sources": n_candidates}
    del settings["metric"]
    return Plan(
        metric=o.metric, sources=sources, source_models=_source_models(graph, named_edges),
        source_set={"chosen": [str(s) for s in src_set.solution["chosen"]],
                    "assignment": {str(t): str(s) for t, s in src_set.solution["assignment"].items()},
                    "budget": int(budget)},
        groups=[[str(t) for t in g] for g in grouping.solution],
        curriculum=[str(t) for t in curriculum.solution],
        decisions={d.name: d for d in (src_set, grouping, curriculum)},
        warnings=warnings, settings=settings, evidence=evidence,
    )


def make_plan(graph: nx.DiGraph, *, options: PlanOptions | None = None, **overrides: Any) -> dict[str, Any]:
    """Deprecated: use ``build_plan(graph, options, **overrides).to_json()`` (this is exactly that).

    Kept so that code written against earlier versions runs; warns with a ``DeprecationWarning``.
    """
    warnings.warn("make_plan() is deprecated: use build_plan(graph, ...), which returns a typed Plan; "
                  "build_plan(graph, ...).to_json() is the plan.json dict make_plan returned.",
                  DeprecationWarning, stacklevel=2)
    return build_plan(graph, options, **overrides).to_json()
