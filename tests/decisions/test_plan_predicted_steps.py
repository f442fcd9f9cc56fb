"""A pairs_fraction graph: the plan says when its one-model curriculum steps through pairs that were only
predicted (read as missing, weight 0: what `dissimilar_chain` prefers), and how many predicted edges join tasks."""
from __future__ import annotations

import networkx as nx

from transfergraph.planner.decisions import build_plan


def _graph(predicted_pairs):
    g = nx.DiGraph()
    tasks = ["a", "b", "c", "d"]
    g.add_nodes_from(tasks, kind="task")
    g.add_node("m", kind="model")
    for k, t in enumerate(tasks):
        g.add_edge("m", t, weight=0.5 + 0.1 * k)
    for i, u in enumerate(tasks):
        for j, v in enumerate(tasks):
            if u != v:
                attrs = {"predicted": True, "predicted_sd": 0.1} if (u, v) in predicted_pairs else {}
                g.add_edge(u, v, weight=0.3 + 0.05 * ((i + 2 * j) % 4), **attrs)
    return g


def test_a_curriculum_through_predicted_pairs_is_named_in_the_warnings():
    predicted = {("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("b", "a"), ("c", "b"), ("d", "c")}
    plan = build_plan(_graph(predicted)).to_json()  # default objective: dissimilar_chain
    steps = [(u, v) for u, v in zip(plan["curriculum"], plan["curriculum"][1:]) if (u, v) in predicted]
    assert steps  # missing edges weigh 0: the least-transferring choice, so the order walks through them
    got = [w for w in plan["warnings"] if w.startswith("curriculum:")]
    assert len(got) == 1 and f"{len(steps)} of its 3 steps are pairs that are predicted" in got[0]
    assert "`dissimilar_chain` seeks the least-transferring neighbours" in got[0]
    assert all(f"{u} -> {v}" in got[0] for u, v in steps)
    count = [w for w in plan["warnings"] if "edges of the graph are predicted" in w]
    assert len(count) == 1 and "(7 of them between tasks" in count[0]


def test_no_step_warning_for_tree_or_a_fully_scored_graph():
    predicted = {("a", "b"), ("b", "c"), ("c", "d")}
    assert not [w for w in build_plan(_graph(predicted), curriculum_objective="tree").to_json()["warnings"]
                if w.startswith("curriculum:")]
    assert not [w for w in build_plan(_graph(set())).to_json()["warnings"] if "predicted" in w]
