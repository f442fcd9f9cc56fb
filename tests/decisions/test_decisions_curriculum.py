"""order_curriculum: dense Edmonds against networkx and brute force, chain/cumulative exact and heuristic."""
import networkx as nx
import numpy as np
import pytest

from decisions_helpers import brute_order, order_value, random_graph, tasks_of
from transfergraph.planner.decisions import order_curriculum, solve_curriculum
from transfergraph.planner.decisions._arborescence import max_spanning_arborescence
from transfergraph.planner.decisions._chain import assignment_patch, chain_value, held_karp
from transfergraph.planner.decisions._linear_ordering import lop_bound, lop_heuristic, lop_milp, lop_value
from transfergraph.planner.decisions.curriculum import _arrays
from transfergraph.planner.common.exceptions import GraphError, InputError

#: documented worst gaps of the heuristics on small random instances (benchmarks/RESULTS.md, section 3)
CHAIN_MAX_GAP = 0.10
LOP_MAX_GAP = 0.05
OBJECTIVES = ("tree", "chain", "cumulative")


def _nx_arborescence_weight(W):
    m = W.shape[0]
    G = nx.DiGraph()
    for u in range(m):
        for v in range(1, m):
            if u != v and np.isfinite(W[u, v]):
                G.add_edge(u, v, weight=W[u, v])
    T = nx.maximum_spanning_arborescence(G)
    return sum(d["weight"] for _, _, d in T.edges(data=True))


@pytest.mark.parametrize("seed", range(60))
def test_dense_edmonds_equals_networkx(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 40 if seed % 10 == 0 else 12))
    W = rng.random((m, m))
    if seed % 3 == 0:
        W = np.round(W * 4) / 4  # many ties
    W[rng.random((m, m)) < 0.3] = -np.inf
    W[0, 1:] = rng.random(m - 1) * 0.5
    par = max_spanning_arborescence(W)
    assert par[0] == -1
    for v in range(1, m):  # every node reaches the root without a cycle
        seen, x = set(), v
        while x != 0:
            assert x not in seen
            seen.add(x)
            x = par[x]
    value = sum(W[par[v], v] for v in range(1, m))
    assert value == pytest.approx(_nx_arborescence_weight(W), abs=1e-9)


@pytest.mark.parametrize("seed", range(21))
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_exact_equals_brute_force(seed, objective):
    n = 1 + seed % 7
    g = random_graph(n, seed, n_models=seed % 3, negative=seed % 4 == 0, coarse=seed % 2 == 1)
    tasks = tasks_of(g)
    for start in (None, tasks[seed % n]):
        d = solve_curriculum(g, objective=objective, start=start)
        best = brute_order(g, objective, start)
        assert d.optimal and d.gap == 0.0
        assert d.value == pytest.approx(best, abs=1e-9)
        assert order_value(g, d.solution, objective) == pytest.approx(best, abs=1e-9)
        assert sorted(d.solution) == tasks
        if start is not None:
            assert d.solution[0] == start


def test_tree_linearization_is_topological_and_best_first():
    g = random_graph(25, 4, n_models=2)
    d = solve_curriculum(g)
    pos = {t: i for i, t in enumerate(d.solution)}
    for t, (parent, w) in d.details["parents"].items():
        if parent is not None and g.nodes[parent]["kind"] == "task":
            assert pos[parent] < pos[t]
            assert w == g.edges[parent, t]["weight"]
    assert order_value(g, d.solution, "tree") == pytest.approx(d.value, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_tree_matches_networkx_on_graph_size_30(seed):
    g = random_graph(30, 40 + seed, n_models=2)
    tasks, W, E, w_ext, _ = _arrays(g)
    M = np.full((31, 31), -np.inf)
    M[0, 1:] = w_ext
    M[1:, 1:] = np.where(E, W, -np.inf)
    d = solve_curriculum(g)
    assert d.value == pytest.approx(_nx_arborescence_weight(M), abs=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_chain_heuristic_below_exact_and_bound(seed):
    n = 6 + seed % 7
    g = random_graph(n, 300 + seed, n_models=2)
    _, W, _, w_ext, _ = _arrays(g)
    for start in (None, seed % n):
        exact = chain_value(W, w_ext, held_karp(W, w_ext, start))
        order, bound = assignment_patch(W, w_ext, start)
        value = chain_value(W, w_ext, order)
        assert sorted(order) == list(range(n))
        assert start is None or order[0] == start
        assert value <= exact + 1e-9 <= bound + 2e-9
        assert (exact - value) / exact <= CHAIN_MAX_GAP


@pytest.mark.parametrize("seed", range(12))
def test_cumulative_heuristic_below_exact_and_bound(seed):
    n = 5 + seed % 10
    g = random_graph(n, 700 + seed)
    _, W, _, _, _ = _arrays(g)
    for start in (None, seed % n):
        exact_order, out = lop_milp(W, start=start, time_limit=30)
        assert out.optimal
        exact = lop_value(W, exact_order)
        value = lop_value(W, lop_heuristic(W, start=start))
        assert value <= exact + 1e-9 <= lop_bound(W, start) + 2e-9
        assert (exact - value) / exact <= LOP_MAX_GAP


def test_large_chain_uses_heuristic_with_bound():
    g = random_graph(30, 9, n_models=2)
    d = solve_curriculum(g, objective="chain")
    assert d.method.startswith("assignment") and d.bound >= d.value
    assert order_value(g, d.solution, "chain") == pytest.approx(d.value, abs=1e-9)


def test_no_models_missing_edges_and_single_task():
    g = random_graph(5, 3, n_models=0, p_missing=0.6)
    g.add_node("island", kind="task")
    for objective in OBJECTIVES:
        d = solve_curriculum(g, objective=objective)
        assert sorted(d.solution) == tasks_of(g)
        assert d.value == pytest.approx(brute_order(g, objective), abs=1e-9)
    one = nx.DiGraph()
    one.add_node("solo", kind="task")
    one.add_edge("m", "solo", weight=0.4)
    one.nodes["m"]["kind"] = "model"
    for objective in OBJECTIVES:
        assert order_curriculum(one, objective=objective) == ["solo"]
    assert solve_curriculum(one).value == pytest.approx(0.4)


def test_ties_are_deterministic():
    g = nx.DiGraph()
    g.add_nodes_from(["b", "a", "c"], kind="task")
    for u in "abc":
        for v in "abc":
            if u != v:
                g.add_edge(u, v, weight=0.5)
    for objective in OBJECTIVES:
        first = order_curriculum(g, objective=objective)
        assert all(order_curriculum(g, objective=objective) == first for _ in range(3))
    assert order_curriculum(g) == ["a", "b", "c"]


def test_errors():
    g = random_graph(4, 0)
    with pytest.raises(GraphError, match="start='zz'"):
        order_curriculum(g, start="zz")
    with pytest.raises(GraphError, match="start='m0'"):
        order_curriculum(g, start="m0")
    with pytest.raises(InputError, match="objective passed to order_curriculum"):
        order_curriculum(g, objective="forgetting")
    with pytest.raises(GraphError, match="empty"):
        order_curriculum(nx.DiGraph())
    bad = nx.DiGraph()
    bad.add_node("x")
    with pytest.raises(GraphError, match="kind=None"):
        order_curriculum(bad)
