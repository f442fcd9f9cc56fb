"""``sources_from`` applies to the models the curriculum starts a task from, as it does to the recommended
sources: one scope rule (``allowed_sources``), no model outside it ever named as a start."""
import networkx as nx
import pytest

from transfergraph.planner.decisions import build_plan
from transfergraph.planner.decisions.curriculum import CURRICULUM_OBJECTIVES
from transfergraph.planner.decisions.source_scope import restrict_starts


@pytest.fixture
def graph():
    """Three tasks; the big model 'big' transfers best to every task, 'small' a little, task->task in between."""
    g = nx.DiGraph()
    tasks = ["tops", "shoes", "misc"]
    g.add_nodes_from(tasks, kind="task")
    g.add_nodes_from(["big", "small"], kind="model")
    for i, u in enumerate(tasks):
        for j, v in enumerate(tasks):
            if u != v:
                g.add_edge(u, v, weight=0.1 + 0.05 * ((i + 2 * j) % 3))
        g.add_edge("big", u, weight=0.9 - 0.1 * i)
        g.add_edge("small", u, weight=0.05 + 0.01 * i)
    return g


def _starts(plan):
    return {p for p, _ in plan["objectives"]["curriculum"]["parents"].values()}


@pytest.mark.parametrize("objective", sorted(CURRICULUM_OBJECTIVES))
def test_a_curriculum_never_starts_from_a_model_outside_the_scope(graph, objective):
    full = build_plan(graph, curriculum_objective=objective).to_json()
    assert "big" in _starts(full)  # without a scope the best model is a start
    only_small = build_plan(graph, curriculum_objective=objective, sources_from=["small"]).to_json()
    assert "big" not in _starts(only_small)
    assert {s for top in only_small["sources"].values() for s, _ in top} == {"small"}
    tasks_only = build_plan(graph, curriculum_objective=objective, sources_from="tasks").to_json()
    assert not _starts(tasks_only) & {"big", "small"}
    assert None in _starts(tasks_only)  # the first task starts from scratch
    assert any("the models the curriculum starts a task from" in w for w in only_small["warnings"])


def test_tree_starts_within_the_scope_and_keeps_task_edges(graph):
    plan = build_plan(graph, curriculum_objective="tree", sources_from=["small"]).to_json()
    parents = plan["objectives"]["curriculum"]["parents"]
    first = plan["curriculum"][0]
    assert parents[first][0] == "small"
    assert any(p in {"tops", "shoes", "misc"} for p, _ in parents.values())  # task->task edges still used


def test_restrict_starts_drops_only_model_edges_outside_the_scope(graph):
    g = restrict_starts(graph, ["small"])
    assert not g.out_degree("big") and g.out_degree("small") == 3
    assert all(g.has_edge(u, v) for u, v in graph.edges if u in {"tops", "shoes", "misc"})
    assert restrict_starts(graph, "all") is graph
    assert set(restrict_starts(graph, "external").edges) == set(graph.edges)
