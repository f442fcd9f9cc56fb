"""Plan trust: evidence levels and the warnings a user needs before acting on a plan."""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from transfergraph.planner import Task
from transfergraph.planner.decisions import build_plan
from transfergraph.planner.decisions.trust import data_warnings, graph_trust, sample_overlap
from transfergraph.config import load_config
from transfergraph.jobs.suite import build_tasks

from decisions_helpers import overlapping_demo_config, random_graph

ROOT = Path(__file__).resolve().parents[2]


def _graph(edges, tasks=("a", "b", "c"), models=("m",)):
    g = nx.DiGraph()
    g.add_nodes_from(tasks, kind="task")
    g.add_nodes_from(models, kind="model")
    for u, v, w in edges:
        g.add_edge(u, v, weight=w)
    return g


def test_plan_without_task_edges_says_groups_and_curriculum_carry_no_information():
    plan = build_plan(_graph([("m", "a", 0.5), ("m", "b", 0.4), ("m", "c", 0.6)])).to_json()
    assert any("no task->task edges" in w and "'a'" in w for w in plan["warnings"])
    assert plan["evidence"]["groups"]["level"] == "proxy only"
    assert set(plan["evidence"]) == {"sources", "groups", "curriculum"}


def test_best_source_near_the_label_prior_is_flagged_by_name():
    g = _graph([("m", "a", 0.05), ("b", "a", 0.02), ("a", "b", 0.5), ("m", "c", 0.7), ("m", "b", 0.3)])
    plan = build_plan(g).to_json()
    weak = [w for w in plan["warnings"] if "near the label prior" in w]
    assert len(weak) == 1 and "'a'" in weak[0] and "'m'" in weak[0]
    _, none = graph_trust(_graph([("m", "a", 0.5), ("a", "b", 0.5), ("b", "c", 0.5)]), {"a": [["m", 0.5]]}, "leep")
    assert none == []


def test_source_near_chance_on_its_own_task_is_flagged():
    scores = pd.DataFrame({"source": ["a.cnn", "a.cnn"], "source_task": ["a", "a"], "target": ["a", "b"],
                           "metric": ["leep", "leep"], "normalized": [1e-6, 0.3], "status": ["ok", "ok"]})
    got = [w for w in data_warnings({}, scores=scores, metric="leep") if "near chance" in w]
    assert len(got) == 1 and "'a.cnn'" in got[0] and "own task 'a'" in got[0]



def test_own_task_chance_check_says_it_did_not_run_on_predicted_own_task_pairs():
    # a pairs_fraction run predicts a source on its own task: a value near chance there is no evidence either way
    scores = pd.DataFrame({"source": ["a.cnn", "a.cnn", "b.cnn"], "source_task": ["a", "a", "b"],
                           "target": ["a", "b", "b"], "metric": ["leep"] * 3, "normalized": [1e-6, 0.3, 0.5],
                           "status": ["predicted", "ok", "ok"]})
    got = data_warnings({}, scores=scores, metric="leep")
    assert not any("near chance" in w for w in got)
    not_run = [w for w in got if "own-task chance check not run for 1 source(s)" in w]
    assert len(not_run) == 1 and "'a.cnn'" in not_run[0] and "'b.cnn'" not in not_run[0]

def test_sample_overlap_is_measured_on_identical_samples():
    rng = np.random.default_rng(0)
    x = rng.random((20, 1, 4, 4)).astype(np.float32)
    y = np.arange(20) % 2
    tasks = [Task("big", x, y), Task("part", x[:10], y[:10]), Task("other", x[:10] + 1, y[:10])]
    ov = sample_overlap(tasks)
    assert ov[("big", "part")] == 1.0 and ov[("part", "big")] == 0.5
    assert ("big", "other") not in ov
    plan = {"sources": {"part": [["big", 0.9]], "big": [], "other": [["big", 0.1]]}}
    got = [w for w in data_warnings(plan, tasks=tasks) if "not run" not in w]
    assert len(got) == 1 and "overlap" in got[0] and "'part'" in got[0] and "'big'" in got[0]


def test_leakage_of_the_imbalanced_task_is_flagged_when_tasks_share_a_pool():
    tasks = build_tasks(overlapping_demo_config())
    assert sample_overlap(tasks)[("digits_0to4", "digits_imbalanced_0to3")] == 1.0
    plan = {"sources": {"digits_imbalanced_0to3": [["digits_0to4", 1.0]]}}
    got = data_warnings(plan, tasks=tasks)
    assert any("overlap" in w and "digits_imbalanced_0to3" in w and "digits_0to4" in w for w in got)


def test_plan_and_report_say_the_zero_cost_grouping_does_not_beat_random_and_point_to_group():
    """The benchmark's verdict on the default grouping travels with every plan: with its numbers, and the
    command that measures co-training instead."""
    from transfergraph.planner.report.explain import explain_plan

    plan = build_plan(random_graph(4, 2)).to_json()
    note = plan["evidence"]["groups"]["note"]
    assert plan["evidence"]["groups"]["level"] == "proxy only"
    assert "does NOT beat random partitions" in note and "Spearman +0.05 [-0.07, +0.18]" in note
    assert "`transfergraph group CONFIG`" in note
    report = explain_plan(plan)
    assert "does NOT beat random partitions" in report and "transfergraph group" in report
