"""group_tasks: exact MILP and subset DP against brute-force partitions, ILS bounds, centring, edge cases."""
import networkx as nx
import pytest

from decisions_helpers import brute_grouping, random_graph, tasks_of
from transfergraph.planner.decisions import affinity_matrix, group_tasks, solve_grouping
from transfergraph.planner.common.exceptions import InfeasiblePlanError, InputError

#: documented worst gap of the ILS on small random graphs (DECISIONS.md §4 measured <= 1.1% mean)
ILS_MAX_GAP = 0.05
CASES = [(seed, centered) for seed in range(16) for centered in (True, False)]


def _settings(seed, n):
    return [(1 + seed % 3, None), (max(1, -(-n // 2)), 2), (max(1, n // 2), 3)]


@pytest.mark.parametrize("seed,centered", CASES)
def test_exact_equals_brute_force(seed, centered):
    n = 1 + seed % 8
    g = random_graph(n, seed, negative=seed % 5 == 0, coarse=seed % 3 == 1)
    for k, cap in _settings(seed, n):
        best = brute_grouping(g, k, cap, centered)
        for method in ("milp", "dp"):
            d = solve_grouping(g, n_groups=k, max_group_size=cap, centered=centered, method=method)
            assert d.optimal and d.gap == 0.0
            assert d.value == pytest.approx(best, abs=1e-9)
            groups = d.solution
            assert sorted(t for grp in groups for t in grp) == tasks_of(g)
            assert len(groups) <= k and (cap is None or max(map(len, groups)) <= cap)


@pytest.mark.parametrize("seed,centered", CASES)
def test_ils_never_beats_exact_and_stays_within_gap(seed, centered):
    n = 3 + seed % 6
    g = random_graph(n, 500 + seed, coarse=seed % 3 == 1)
    for k, cap in _settings(seed, n):
        best = brute_grouping(g, k, cap, centered)
        d = solve_grouping(g, n_groups=k, max_group_size=cap, centered=centered, method="heuristic")
        assert d.value <= best + 1e-9
        assert d.bound is None or d.bound >= best - 1e-9
        if best > 1e-9:
            assert (best - d.value) / best <= ILS_MAX_GAP
        groups = d.solution
        assert len(groups) <= k and (cap is None or max(map(len, groups)) <= cap)


def test_ils_on_larger_graph_respects_constraints_and_seed():
    g = random_graph(40, 7)
    a = solve_grouping(g, n_groups=12, max_group_size=6, seed=3, ils_rounds=10)
    b = solve_grouping(g, n_groups=12, max_group_size=6, seed=3, ils_rounds=10)
    assert a.method == "ils" and not a.optimal and a.gap is not None
    assert a.solution == b.solution and a.value == b.value
    assert len(a.solution) <= 12 and max(map(len, a.solution)) <= 6
    assert sorted(t for grp in a.solution for t in grp) == tasks_of(g)
    assert a.value <= a.bound


def test_affinity_median_centering():
    g = nx.DiGraph()
    g.add_nodes_from(["a", "b", "c", "d"], kind="task")
    g.add_edge("a", "d", weight=0.9)
    g.add_edge("b", "d", weight=0.5)  # c->d missing: counts as 0; median of (0.9, 0.5, 0) = 0.5
    A = affinity_matrix(g, ["a", "b", "c", "d"])
    assert A[:, 3].tolist() == pytest.approx([0.4, 0.0, -0.5, 0.0])
    assert affinity_matrix(g, ["a", "b", "c", "d"], centered=False)[0, 3] == 0.9


def test_centering_is_recorded_and_lets_weak_tasks_stay_alone():
    g = nx.DiGraph()
    g.add_nodes_from(["a", "b", "c"], kind="task")
    for u, v in [("a", "b"), ("b", "a")]:
        g.add_edge(u, v, weight=0.9)
    for u, v in [("a", "c"), ("c", "a"), ("b", "c"), ("c", "b")]:
        g.add_edge(u, v, weight=0.1)
    d = solve_grouping(g, n_groups=3)
    assert d.solution == [["a", "b"], ["c"]]
    assert d.details["centered"] is True and "median" in d.details["centering"]
    assert solve_grouping(g, n_groups=3, centered=False).details["centered"] is False


def test_single_task_and_isolated_tasks():
    g = nx.DiGraph()
    g.add_node("solo", kind="task")
    assert group_tasks(g, n_groups=1) == [["solo"]]
    g = random_graph(5, 2)
    g.add_node("island", kind="task")
    d = solve_grouping(g, n_groups=6, centered=True)
    assert d.optimal
    assert sorted(t for grp in d.solution for t in grp) == tasks_of(g)


def test_errors():
    g = random_graph(5, 0)
    with pytest.raises(InputError, match=r"n_groups of group_tasks\(\)"):
        group_tasks(g, n_groups=0)
    with pytest.raises(InputError, match=r"max_group_size of group_tasks\(\)"):
        group_tasks(g, n_groups=2, max_group_size=0)
    with pytest.raises(InfeasiblePlanError, match="n_groups=2 .* max_group_size=2"):
        group_tasks(g, n_groups=2, max_group_size=2)
    with pytest.raises(InputError, match="method='dp' .* at most 14 tasks"):
        group_tasks(random_graph(15, 0), n_groups=3, method="dp")


def test_ties_deterministic_and_sorted():
    g = nx.DiGraph()
    names = ["d", "c", "b", "a"]
    g.add_nodes_from(names, kind="task")
    for u in names:
        for v in names:
            if u != v:
                g.add_edge(u, v, weight=0.5)
    runs = [group_tasks(g, n_groups=2, max_group_size=2, centered=False) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert all(grp == sorted(grp) for grp in runs[0])
    assert runs[0] == sorted(runs[0], key=lambda grp: grp[0])


def test_group_tasks_names_an_unknown_option_and_plan_options_are_keyword_only():
    import networkx as nx

    from transfergraph.planner.decisions import PlanOptions, group_tasks
    from transfergraph.planner.common.exceptions import InputError

    g = nx.DiGraph()
    g.add_nodes_from(["a", "b"], kind="task")
    g.add_edge("a", "b", weight=0.5)
    with pytest.raises(InputError, match=r"group_tasks\(\) got unknown options \['bogus'\]"):
        group_tasks(g, n_groups=1, bogus=1)
    with pytest.raises(TypeError):
        PlanOptions("leep", 3)
