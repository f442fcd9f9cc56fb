"""select_sources and select_source_set: exact against brute force, heuristic bounds, edge cases."""
import math

import networkx as nx
import pytest

from decisions_helpers import brute_source_set, random_graph, tasks_of
from transfergraph.planner.decisions import select_source_set, select_sources, solve_source_set
from transfergraph.planner.common.exceptions import GraphError, InputError

SEEDS = range(40)


def _value(g, assignment):
    return sum(max(0.0, g.edges[s, t]["weight"]) for t, s in assignment.items())


def test_select_sources_top_k_sorted_with_name_ties():
    g = nx.DiGraph()
    g.add_nodes_from(["t", "b", "a", "c"], kind="task")
    g.add_edge("b", "t", weight=0.5)
    g.add_edge("a", "t", weight=0.5)
    g.add_edge("c", "t", weight=0.9)
    assert select_sources(g, "t", k=3) == [("c", 0.9), ("a", 0.5), ("b", 0.5)]
    assert select_sources(g, "t") == [("c", 0.9)]
    assert select_sources(g, "t", k=10) == [("c", 0.9), ("a", 0.5), ("b", 0.5)]
    assert select_sources(g, "a", k=2) == []


def test_select_sources_errors_name_the_argument():
    g = random_graph(3, 0)
    with pytest.raises(GraphError, match="target='nope'"):
        select_sources(g, "nope")
    with pytest.raises(GraphError, match="model node"):
        select_sources(g, "m0")
    with pytest.raises(InputError, match=r"k of select_sources\(\)"):
        select_sources(g, "t0", k=0)
    with pytest.raises(GraphError, match="empty"):
        select_sources(nx.DiGraph(), "t0")
    with pytest.raises(InputError, match="networkx.DiGraph"):
        select_sources(nx.Graph(), "t0")


@pytest.mark.parametrize("seed", SEEDS)
def test_source_set_milp_equals_brute_force(seed):
    n = 2 + seed % 6
    g = random_graph(n, seed, n_models=1 + seed % 2, negative=seed % 3 == 0, coarse=seed % 4 == 1)
    budget = 1 + seed % 3
    d = solve_source_set(g, budget=budget, method="milp")
    best = brute_source_set(g, budget)
    assert d.optimal
    assert d.value == pytest.approx(best, abs=1e-9)
    assert d.bound == pytest.approx(best, abs=1e-9) and d.gap == 0.0
    assert len(d.solution["chosen"]) <= budget
    assert _value(g, d.solution["assignment"]) == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_source_set_heuristic_within_bound_and_guarantee(seed):
    g = random_graph(3 + seed % 6, 100 + seed, n_models=2)
    budget = 1 + seed % 3
    best = brute_source_set(g, budget)
    d = solve_source_set(g, budget=budget, method="heuristic")
    assert d.value <= best + 1e-9
    assert d.bound >= best - 1e-9  # the reported bound is a real upper bound
    assert d.value >= (1 - 1 / math.e) * best - 1e-9  # greedy's guarantee; swap only improves
    if d.optimal:
        assert d.value == pytest.approx(best, abs=1e-9)


def test_assignment_maps_each_served_target_to_its_best_chosen_source():
    g = random_graph(7, 5, n_models=2)
    d = solve_source_set(g, budget=2)
    chosen = d.solution["chosen"]
    for t in tasks_of(g):
        edges = [(s, g.edges[s, t]["weight"]) for s in chosen if g.has_edge(s, t)]
        if edges:
            best = max(w for _, w in edges)
            assert g.edges[d.solution["assignment"][t], t]["weight"] == best
        else:
            assert t not in d.solution["assignment"]


def test_budget_larger_than_sources_and_isolated_nodes():
    g = random_graph(4, 1)
    g.add_node("lonely", kind="task")
    g.add_node("unused_model", kind="model")
    d = solve_source_set(g, budget=50)
    assert d.optimal
    assert d.value == pytest.approx(brute_source_set(g, 50), abs=1e-12)
    assert "lonely" not in d.solution["assignment"]
    assert "unused_model" not in d.solution["chosen"]


def test_single_task_without_edges():
    g = nx.DiGraph()
    g.add_node("only", kind="task")
    assert select_source_set(g, budget=1) == {}
    d = solve_source_set(g, budget=1)
    assert d.value == 0.0 and d.optimal


def test_ties_are_broken_by_name():
    g = nx.DiGraph()
    g.add_nodes_from(["x", "y"], kind="task")
    g.add_nodes_from(["m_b", "m_a"], kind="model")
    for m in ("m_b", "m_a"):
        g.add_edge(m, "x", weight=0.5)
        g.add_edge(m, "y", weight=0.5)
    for method in ("milp", "heuristic"):
        assert select_source_set(g, budget=1, method=method) == {"x": "m_a", "y": "m_a"}


@pytest.mark.parametrize("budget", [0, -1, 1.5, True, "2", None])
def test_bad_budget(budget):
    with pytest.raises(InputError, match=r"budget of select_source_set\(\)"):
        select_source_set(random_graph(3, 0), budget=budget)


def test_non_finite_weight_is_a_graph_error():
    g = random_graph(3, 0)
    u, v = next(iter(g.edges()))
    g.edges[u, v]["weight"] = float("nan")
    with pytest.raises(GraphError, match=f"edge '{u}'->'{v}'"):
        select_source_set(g, budget=1)


def test_deterministic_and_node_order_invariant():
    g = random_graph(8, 3, n_models=2, coarse=True)
    h = nx.DiGraph()
    h.add_nodes_from(reversed(list(g.nodes(data=True))))
    h.add_edges_from(reversed(list(g.edges(data=True))))
    a = solve_source_set(g, budget=3)
    b = solve_source_set(h, budget=3)
    assert a.solution == b.solution and a.value == b.value


@pytest.mark.parametrize("seed", range(15))
def test_lagrangian_bound_and_fixing_are_valid(seed):
    import itertools

    import numpy as np

    from transfergraph.planner.decisions._facility import facility_value, fix_sources, greedy_swap, lagrangian

    rng = np.random.default_rng(seed)
    S, T, b = 9, 12, 1 + seed % 4
    P = rng.random((S, T)) * (rng.random((S, T)) < 0.7)
    values = {B: facility_value(P, B) for k in range(b + 1) for B in itertools.combinations(range(S), k)}
    best = max(values.values())
    chosen = greedy_swap(P, b)
    lower = facility_value(P, chosen) - 0.05  # a weaker incumbent makes fixing non-trivial to get right
    L, u = lagrangian(P, chosen, b, iters=80)
    assert L >= best - 1e-9
    fixed_out, fixed_in, worst = fix_sources(P, u, b, lower)
    for B, v in values.items():
        breaks = any(fixed_out[list(B)]) or not set(np.flatnonzero(fixed_in)) <= set(B)
        if breaks:
            assert v <= worst + 1e-9 and v < lower
