"""Decision (c): the order in which a continual learner meets the tasks.

Objectives (``objective=``), with w(u->t) the edge weight and w_ext(t) the best weight into t from
an external model node (0 if none):

- ``"tree"`` (default): sum_k max(w_ext(pi_k), max_{j<k} w(pi_j->pi_k)); each task starts from
  the best model already trained. Its maximum equals the maximum spanning arborescence from a virtual
  root whose edges r->t weigh w_ext(t) (in any order each task's best earlier model forms such a tree;
  conversely any topological order of a tree achieves its weight), so it is exact at every size.
  The tree is linearized best-first: among tasks whose parent is placed, the one with the highest
  tree-edge weight comes next (ties: name).
- ``"chain"``: w_ext(pi_1) + sum_k w(pi_{k-1}->pi_k), one model fine-tuned in sequence (missing
  edge: 0); Held–Karp exact for n <= 16, assignment relaxation + patching + relocation beyond.
- ``"cumulative"``: sum_{j<k} w(pi_j->pi_k) (missing edge: 0); exact MILP for n <= 40, net-flow
  order + insertion search beyond.

These three model forward transfer only. ``tree`` answers "which model to start each task from"
(each task fine-tuned from a copy of an earlier task's model), not "in which order should one model
learn the tasks". For that continual-learning use (one model trained task after task, one head per
task, where forgetting dominates final accuracy) three objectives model forgetting, from the
similarity rho of :mod:`transfergraph.planner.decisions.similarity` (normalized LEEP both ways) and
the directed weights; formulas, solvers and bounds in :mod:`transfergraph.planner.decisions._forgetting`:

- ``"periphery_core"``: most atypical task first, most central last (Li & Hiratani, ICML 2025);
  exact at every size (a sort).
- ``"max_dissimilar_path"``: consecutive tasks as dissimilar as possible (Li & Hiratani); Held–Karp
  exact for n <= 16, assignment bound + patching beyond.
- ``"final_serves_all"``: the last tasks are those whose models serve the earlier tasks best
  (recency weight 1/2); exact subset DP for n <= 10, greedy + insertion search with an assignment
  bound beyond.
- ``"dissimilar_chain"``: -sum_k w(pi_{k-1}->pi_k), the chain objective minimized: each task is followed
  by the one its model transfers to least (interleaving dissimilar tasks, the finding of Li & Hiratani
  on the directed weights rather than the symmetric rho); Held–Karp exact for n <= 16, assignment
  bound + patching beyond (:mod:`transfergraph.planner.decisions._chain` on -w).
"""
from __future__ import annotations

import heapq
import time
from typing import Any, Hashable, Sequence

import networkx as nx
import numpy as np

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.decisions._arborescence import max_spanning_arborescence
from transfergraph.planner.decisions._chain import HELD_KARP_MAX, assignment_patch, chain_value, held_karp
from transfergraph.planner.decisions._graph import check_graph, check_task, external_weights, task_nodes, weight_matrix
from transfergraph.planner.decisions._linear_ordering import LOP_EXACT_MAX, lop_bound, lop_heuristic, lop_milp, lop_value
from transfergraph.planner.decisions._exact import Exact, proven, settle
from transfergraph.planner.decisions._forgetting import (
    FORGETTING_EXACT_MAX, path_order, path_value, periphery_order, periphery_value, serves_bound, serves_dp,
    serves_heuristic, serves_value,
)
from transfergraph.planner.decisions.similarity import forgetting_similarity
from transfergraph.planner.decisions._result import Decision, Status, relative_gap

__all__ = ["order_curriculum", "solve_curriculum", "curriculum_value", "CURRICULUM_OBJECTIVES", "CURRICULUM_USES",
           "FORGETTING_OBJECTIVES", "DEFAULT_CURRICULUM_OBJECTIVE"]

CURRICULUM_OBJECTIVES = {
    "tree": "sum_k max(w_ext(pi_k), max_{j<k} w(pi_j->pi_k)): each task starts from the best model "
            "already available (maximum spanning arborescence from the external models)",
    "chain": "w_ext(pi_1) + sum_k w(pi_{k-1}->pi_k): one model fine-tuned task after task (missing edge: 0)",
    "cumulative": "sum_{j<k} w(pi_j->pi_k): every earlier task counts for every later one (missing edge: 0)",
    "periphery_core": "sum_k (k-1) c(pi_k), c(t) = sum_j rho(t, j) with rho the similarity from normalized LEEP "
                      "both ways: most atypical task first, most central last (Li & Hiratani 2025)",
    "max_dissimilar_path": "sum_k (1 - rho(pi_{k-1}, pi_k)): consecutive tasks as dissimilar as possible "
                           "(Li & Hiratani 2025)",
    "final_serves_all": "sum_k 0.5^(n-k) sum_{j<k} w(pi_k->pi_j): the last tasks are those whose models serve "
                        "the earlier tasks best (missing edge: 0)",
    "dissimilar_chain": "-sum_k w(pi_{k-1}->pi_k): one model trained task after task, each task followed by the "
                        "one it transfers to least (the chain objective minimized; missing edge: 0)",
}

#: objectives that model forgetting (one model trained task after task)
FORGETTING_OBJECTIVES = ("periphery_core", "max_dissimilar_path", "final_serves_all", "dissimilar_chain")

#: the plan's default objective, chosen on this project's round-2 judged benchmark tables (benchmarks/RESULTS.md,
#: "Curriculum default, round 3": the best worst case over the round-2 suites) and frozen before it was judged
#: on fresh suites; the functions below keep ``"tree"`` as their default
DEFAULT_CURRICULUM_OBJECTIVE = "dissimilar_chain"

#: what each objective's order is for, in the words of the report
CURRICULUM_USES = {
    "tree": "which model to start each task from: each task is fine-tuned from a copy of the best model "
            "already trained (forward transfer; not an order for one model learning every task)",
    "chain": "one model fine-tuned task after task, scored by forward transfer between neighbours only "
             "(forgetting not modelled)",
    "cumulative": "one model fine-tuned task after task, scored by forward transfer from every earlier task "
                  "(forgetting not modelled)",
    "periphery_core": "one model trained task after task (continual learning): the order that models forgetting "
                      "by putting the most atypical tasks first and the most central last",
    "max_dissimilar_path": "one model trained task after task (continual learning): the order that models "
                           "forgetting by keeping consecutive tasks dissimilar",
    "final_serves_all": "one model trained task after task (continual learning): the order that models "
                        "forgetting by ending with the tasks whose models serve all earlier tasks best",
    "dissimilar_chain": "one model trained task after task (continual learning): the order that models "
                        "forgetting by following each task with the one it transfers to least",
}


def _arrays(graph: nx.DiGraph):
    tasks = task_nodes(graph)
    W, E = weight_matrix(graph, tasks, tasks)
    w_ext, ext_model = external_weights(graph, tasks)
    return tasks, W, E, w_ext, ext_model


def _tree_value(W, E, w_ext, order: Sequence[int]) -> float:
    total = 0.0
    for k, t in enumerate(order):
        prev = [u for u in order[:k] if E[u, t]]
        total += max([w_ext[t]] + [W[u, t] for u in prev])
    return float(total)


def curriculum_value(graph: nx.DiGraph, order: Sequence[Hashable], *, objective: str = "tree") -> float:
    """Objective value of an order of all task nodes (for checks and comparisons)."""
    tasks, W, E, w_ext, _ = _arrays(graph)
    index = {t: i for i, t in enumerate(tasks)}
    if sorted(map(str, order)) != sorted(map(str, tasks)) or len(order) != len(tasks):
        raise InputError(f"order must list every task node exactly once; got {list(order)!r}.")
    idx = [index[t] for t in order]
    if objective == "tree":
        return _tree_value(W, E, w_ext, idx)
    if objective == "chain":
        return chain_value(W, w_ext, idx)
    if objective == "cumulative":
        return lop_value(W, idx)
    if objective == "periphery_core":
        return periphery_value(forgetting_similarity(W, E), idx)
    if objective == "max_dissimilar_path":
        return path_value(1.0 - forgetting_similarity(W, E), idx)
    if objective == "final_serves_all":
        return serves_value(W, idx)
    if objective == "dissimilar_chain":
        return chain_value(-np.where(E, W, 0.0), np.zeros(len(W)), idx)
    raise InputError(f"objective must be one of {sorted(CURRICULUM_OBJECTIVES)}; got {objective!r}.")


def _linearize(parent: np.ndarray, M: np.ndarray, names: list[str], start: int | None) -> list[int]:
    """Best-first topological order of the tree (node 0 = virtual root); returns task indices."""
    children: dict[int, list[int]] = {}
    for v in range(1, len(parent)):
        children.setdefault(int(parent[v]), []).append(v)
    heap: list = []

    def push(u: int) -> None:
        for v in children.get(u, []):
            first = 0 if (start is not None and v == start + 1) else 1
            heapq.heappush(heap, (first, -M[parent[v], v], names[v - 1], v))

    push(0)
    order = []
    while heap:
        v = heapq.heappop(heap)[3]
        order.append(v - 1)
        push(v)
    return order


def _solve_tree(tasks, W, E, w_ext, ext_model, start):
    n = len(tasks)
    M = np.full((n + 1, n + 1), -np.inf)
    M[0, 1:] = w_ext
    M[1:, 1:] = np.where(E, W, -np.inf)
    if start is not None:
        M[1:, start + 1] = -np.inf
    parent = max_spanning_arborescence(M, root=0)
    order = _linearize(parent, M, [str(t) for t in tasks], start)
    parents = {}
    for v in range(1, n + 1):
        p = int(parent[v])
        src = ext_model[v - 1] if p == 0 else tasks[p - 1]
        parents[tasks[v - 1]] = [src, float(M[p, v])]
    value = float(sum(M[parent[v], v] for v in range(1, n + 1)))
    return order, value, value, True, "edmonds (dense Chu-Liu/Edmonds) + best-first linearization", parents


def _predecessor_parents(tasks, order, W, E, w_ext, ext_model):
    parents = {}
    for k, t in enumerate(order):
        if k == 0:
            parents[tasks[t]] = [ext_model[t], float(w_ext[t])]
        else:
            u = order[k - 1]
            parents[tasks[t]] = [tasks[u], float(W[u, t])]
    return parents


def _solve_forgetting(objective, W, E, s, time_limit):
    """(order, value, bound, status, method, details) of a forgetting objective (see ``_forgetting``)."""
    if objective == "periphery_core":
        S = forgetting_similarity(W, E)
        order = periphery_order(S, s)
        value = periphery_value(S, order)
        return order, value, value, Status.OPTIMAL, "sort by centrality (rearrangement inequality)", {}
    if objective == "max_dissimilar_path":
        D = 1.0 - forgetting_similarity(W, E)
        order, bound, exact = path_order(D, s)
        value = path_value(D, order)
        if exact or proven(value, bound):
            return order, value, value, Status.OPTIMAL, "held-karp" if exact else "assignment+patch+relocate", {}
        return order, value, bound, Status.HEURISTIC, "assignment+patch+relocate", {}
    Wt = np.where(E, W, 0.0)
    if objective == "dissimilar_chain":
        zero = np.zeros(len(W))
        if len(W) <= HELD_KARP_MAX:
            order = held_karp(-Wt, zero, s)
            value = chain_value(-Wt, zero, order)
            return order, value, value, Status.OPTIMAL, "held-karp", {}
        order, bound = assignment_patch(-Wt, zero, s)
        value = chain_value(-Wt, zero, order)
        if proven(value, bound):
            return order, value, value, Status.OPTIMAL, "assignment+patch+relocate", {}
        return order, value, bound, Status.HEURISTIC, "assignment+patch+relocate", {}
    order = serves_heuristic(Wt, s, time_limit=time_limit)
    value = serves_value(Wt, order)
    bound = max(serves_bound(Wt, s), value)

    def exact() -> Exact:
        best = serves_dp(Wt, s)
        return Exact(best, True, serves_value(Wt, best))

    done = settle(order, value, bound, method="greedy+insertion", value_of=lambda o: serves_value(Wt, o),
                  exact=exact if len(W) <= FORGETTING_EXACT_MAX else None, exact_name="subset-dp")
    return done.solution, done.value, done.bound, done.status, done.method, {"heuristic_value": value}


def solve_curriculum(
    graph: nx.DiGraph, *, start: Hashable | None = None, objective: str = "tree", time_limit: float = 60.0
) -> Decision:
    """Order all task nodes maximizing :data:`CURRICULUM_OBJECTIVES` ``[objective]``.

    Returns
    -------
    Decision
        ``solution`` = the order (task names); ``details["parents"]`` = {task: [where it starts
        from (task, model or None), weight]}.
    """
    caller = "order_curriculum"
    check_graph(graph, caller=caller)
    if objective not in CURRICULUM_OBJECTIVES:
        raise InputError(
            f"objective passed to {caller} must be one of {sorted(CURRICULUM_OBJECTIVES)}; got {objective!r}."
        )
    if start is not None:
        check_task(graph, start, argument="start", caller=caller)
    time_limit = check_scalar(time_limit, "time_limit", float, caller=caller, min_val=0.0, include_boundaries="neither")
    t0 = time.perf_counter()
    tasks, W, E, w_ext, ext_model = _arrays(graph)
    n = len(tasks)
    s = None if start is None else tasks.index(start)
    details: dict[str, Any] = {"start": start, "n_tasks": n, "graph_read_seconds": time.perf_counter() - t0}
    if objective == "tree":
        order, value, bound, _, method, parents = _solve_tree(tasks, W, E, w_ext, ext_model, s)
        status = Status.OPTIMAL  # a maximum spanning arborescence is exact at every size
    elif objective == "chain":
        if n <= HELD_KARP_MAX:
            order = held_karp(W, w_ext, s)
            value = chain_value(W, w_ext, order)
            bound, status, method = value, Status.OPTIMAL, "held-karp"
        else:
            order, bound = assignment_patch(W, w_ext, s)
            value = chain_value(W, w_ext, order)
            status = Status.OPTIMAL if proven(value, bound) else Status.HEURISTIC
            method = "assignment+patch+relocate"
        parents = _predecessor_parents(tasks, order, W, E, w_ext, ext_model)
    elif objective in FORGETTING_OBJECTIVES:
        order, value, bound, status, method, extra = _solve_forgetting(objective, W, E, s, time_limit)
        details.update(extra)
        parents = _predecessor_parents(tasks, order, W, E, w_ext, ext_model)
    else:
        order = lop_heuristic(W, start=s)
        value = lop_value(W, order)
        bound = lop_bound(W, s)
        details["heuristic_value"] = value

        def exact() -> Exact:
            order_, out = lop_milp(W, start=s, time_limit=time_limit)
            return Exact(order_, out.optimal, out.bound, out.message)

        done = settle(order, value, bound, method="netflow+insertion", value_of=lambda o: lop_value(W, o),
                      exact=exact if n <= LOP_EXACT_MAX else None)
        order, value, bound, status, method = done.solution, done.value, done.bound, done.status, done.method
        details.update(done.details)
        parents = _predecessor_parents(tasks, order, W, E, w_ext, ext_model)
    details["parents"] = parents
    return Decision(
        name="curriculum", solution=[tasks[i] for i in order], value=value,
        objective=f"{objective}: {CURRICULUM_OBJECTIVES[objective]}", optimal=status is Status.OPTIMAL,
        bound=value if status is Status.OPTIMAL else bound,
        gap=0.0 if status is Status.OPTIMAL else relative_gap(value, bound), status=status,
        method=method, seconds=time.perf_counter() - t0, details=details,
    )


def order_curriculum(
    graph: nx.DiGraph, *, start: Hashable | None = None, objective: str = "tree", **options: Any
) -> list[Hashable]:
    """An order of all task nodes maximizing the curriculum objective (see module docstring).

    Parameters
    ----------
    graph : nx.DiGraph
    start : str, optional
        A task that must come first (exact under that constraint).
    objective : {"tree", "chain", "cumulative", "periphery_core", "max_dissimilar_path", "final_serves_all", "dissimilar_chain"}
        See :data:`CURRICULUM_OBJECTIVES` and :data:`CURRICULUM_USES` (``tree`` is for "which model to
        start each task from"; the last four model forgetting of one model trained task after task).
        The default here stays ``"tree"``; :func:`~transfergraph.planner.decisions.build_plan` and the CLI
        default to :data:`DEFAULT_CURRICULUM_OBJECTIVE` (``"dissimilar_chain"``): pass
        ``objective=DEFAULT_CURRICULUM_OBJECTIVE`` for the order a plan would give.

    Raises
    ------
    GraphError
        ``start`` is not a task node; empty graph. InputError: unknown ``objective``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_nodes_from(["a", "b", "c"], kind="task"); g.add_node("m", kind="model")
    >>> g.add_edge("m", "a", weight=0.6); g.add_edge("a", "b", weight=0.9); g.add_edge("b", "c", weight=0.8)
    >>> order_curriculum(g)
    ['a', 'b', 'c']
    """
    return solve_curriculum(graph, start=start, objective=objective, **options).solution
