"""build_plan, explain_plan and the figures: JSON-ready, every key, warnings, readable report."""
import doctest
import json
import math

import networkx as nx
import pytest

from decisions_helpers import random_graph, tasks_of
import transfergraph.planner.decisions as decisions
from transfergraph.planner.decisions import PLAN_KEYS, build_plan
from transfergraph.planner.report import explain_plan, plot_curriculum, plot_groups
from transfergraph.planner.common.exceptions import GraphError, InputError


@pytest.fixture(scope="module")
def graph():
    g = random_graph(9, 11, n_models=2, negative=True)
    g.add_node("orphan", kind="task")  # no incoming edge
    return g


@pytest.fixture(scope="module")
def plan(graph):
    return build_plan(graph, metric="leep", top_k=2).to_json()


def test_plan_has_every_key_and_is_strict_json(plan, graph):
    assert set(PLAN_KEYS) <= set(plan)
    text = json.dumps(plan, allow_nan=False)
    back = json.loads(text)
    assert back == plan
    assert set(plan["sources"]) == set(tasks_of(graph))
    assert all(len(v) <= 2 for v in plan["sources"].values())
    assert sorted(plan["curriculum"]) == tasks_of(graph)
    assert sorted(t for g in plan["groups"] for t in g) == tasks_of(graph)
    for name in ("source_set", "groups", "curriculum"):
        obj = plan["objectives"][name]
        for key in ("value", "objective", "optimal", "bound", "gap", "method", "seconds"):
            assert key in obj
    assert plan["objectives"]["groups"]["centered"] is True


def test_defaults_are_documented_values(plan, graph):
    n_tasks = len(tasks_of(graph))
    n_sources = plan["settings"]["n_candidate_sources"]
    assert plan["settings"]["budget"] == max(1, math.ceil(math.sqrt(n_sources)))
    assert plan["settings"]["budget_default"] and plan["settings"]["n_groups_default"]
    assert plan["settings"]["n_groups"] == -(-n_tasks // 3)
    assert plan["source_set"]["budget"] == plan["settings"]["budget"]


def test_warnings_cover_orphans_and_negative_transfer(graph):
    g = graph.copy()
    target = "t0"
    for u in list(g.predecessors(target)):
        g.edges[u, target]["weight"] = -0.1
    plan = build_plan(g, budget=1000).to_json()
    text = "\n".join(plan["warnings"])
    assert "'orphan' has no scored source" in text
    assert "no head-transfer signal for target 't0'" in text and "negative-transfer" not in text
    assert "not of full fine-tuning" in text  # LEEP speaks of a retrained head
    assert "budget=1000 exceeds" in text


def test_heuristic_use_is_warned():
    g = random_graph(45, 2)  # uniform weights: the source-set MILP needs ~6 s, more than time_limit
    plan = build_plan(g, max_group_size=5, time_limit=0.5).to_json()
    assert not plan["objectives"]["groups"]["optimal"]
    assert any(w.startswith("groups: not proven optimal (heuristic") for w in plan["warnings"])
    ss = plan["objectives"]["source_set"]
    if not ss["optimal"]:
        assert ss["bound"] >= ss["value"] and ss["gap"] is not None
        assert any(w.startswith("source_set: not proven optimal (time limit reached") for w in plan["warnings"])


def test_explain_plan_has_an_actionable_sentence_per_decision(plan):
    md = explain_plan(plan)
    assert md.startswith("## Decisions")
    for heading in ("Which model to fine-tune", "Which sources to keep", "Which tasks to train together",
                    "In which order to learn the tasks", "Warnings"):
        assert heading in md
    best_source = plan["sources"]["t1"][0][0]
    assert f"**t1**: fine-tune **{best_source}**" in md
    assert f"1. **{plan['curriculum'][0]}**" in md


def test_figures_are_png(plan, graph, tmp_path):
    for fn, name in ((plot_groups, "groups.png"), (plot_curriculum, "curriculum.png")):
        path = tmp_path / name
        assert fn(graph, plan, path) == str(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plan_from_graphml_roundtrip(graph, tmp_path):
    path = tmp_path / "g.graphml"
    nx.write_graphml(graph, path)
    back = nx.read_graphml(path)
    assert build_plan(back).to_json()["curriculum"] == build_plan(graph).to_json()["curriculum"]


def test_plan_options_and_errors(graph):
    plan = build_plan(graph, budget=2, n_groups=3, max_group_size=4, start="t3",
                     curriculum_objective="chain", centered=False).to_json()
    assert plan["curriculum"][0] == "t3"
    assert len(plan["source_set"]["chosen"]) <= 2
    assert len(plan["groups"]) <= 3 and max(map(len, plan["groups"])) <= 4
    assert plan["objectives"]["groups"]["centered"] is False
    with pytest.raises(InputError, match=r"top_k of PlanOptions\(\)"):
        build_plan(graph, top_k=0)
    with pytest.raises(GraphError):
        build_plan(nx.DiGraph())


def test_docstring_examples():
    for mod in (decisions.sources, decisions.grouping, decisions.curriculum):
        result = doctest.testmod(mod)
        assert result.failed == 0 and result.attempted > 0


def test_explain_flags_groups_without_benefit():
    g = nx.DiGraph()
    g.add_nodes_from(["a", "b", "c", "d"], kind="task")
    for u in "abcd":
        for v in "abcd":
            if u != v:
                g.add_edge(u, v, weight=0.9 if {u, v} == {"a", "b"} else 0.1)
    g.edges["c", "d"]["weight"] = 0.0
    g.edges["d", "c"]["weight"] = 0.0
    plan = build_plan(g, n_groups=2, max_group_size=2).to_json()
    assert plan["groups"] == [["a", "b"], ["c", "d"]]
    assert "gain nothing from each other" in explain_plan(plan)


def _strip_times(obj):
    if isinstance(obj, dict):
        return {k: _strip_times(v) for k, v in obj.items() if k not in ("seconds", "graph_read_seconds")}
    if isinstance(obj, list):
        return [_strip_times(v) for v in obj]
    return obj


def test_plan_is_deterministic_and_independent_of_node_order(graph):
    h = nx.DiGraph()
    h.add_nodes_from(reversed(list(graph.nodes(data=True))))
    h.add_edges_from(reversed(list(graph.edges(data=True))))
    a, b = build_plan(graph, seed=1).to_json(), build_plan(h, seed=1).to_json()
    assert _strip_times(a) == _strip_times(b)


def test_plan_names_the_model_behind_each_task_edge():
    """A task node stands for several models (its own network, a CNAPs model adapted to it); the plan and
    the report must say which checkpoint to fine-tune, from the edge's ``source`` attribute."""
    g = nx.DiGraph()
    for t in ("a", "b", "c"):
        g.add_node(t, kind="task")
    g.add_node("ext", kind="model")
    g.add_edge("a", "b", weight=0.9, source="cnaps@a")
    g.add_edge("ext", "b", weight=0.5, source="ext")
    g.add_edge("ext", "a", weight=0.6, source="ext")
    g.add_edge("b", "c", weight=0.7, source="b.cnn")
    g.add_edge("a", "c", weight=0.2, source="a.cnn")
    plan = build_plan(g, budget=2, curriculum_objective="tree").to_json()  # tree: each task's own start
    assert plan["sources"]["b"][0] == ["a", 0.9]
    assert plan["source_models"]["b"] == {"a": "cnaps@a"}
    assert plan["source_models"]["c"] == {"a": "a.cnn", "b": "b.cnn"}
    assert "ext" not in plan["source_models"].get("a", {})  # a model node needs no translation
    text = explain_plan(plan)
    assert "fine-tune **a** (model `cnaps@a`, weight 0.900)" in text
    assert "start from **b** (model `b.cnn`, weight 0.700)" in text
    assert "| c | b | b.cnn |" in text


def test_build_plan_takes_the_graphs_metric_and_refuses_another():
    import networkx as nx

    from transfergraph.planner.decisions import build_plan
    from transfergraph.planner.common.exceptions import InputError

    g = nx.DiGraph()
    g.graph["metric"] = "nce"
    g.add_nodes_from(["a", "b"], kind="task")
    g.add_edge("a", "b", weight=0.5)
    g.add_edge("b", "a", weight=0.3)
    assert build_plan(g).to_json()["metric"] == "nce"  # no metric given: the one the weights are in
    with pytest.raises(InputError, match=r"metric of build_plan\(\) must be .*'nce'.*got 'leep'"):
        build_plan(g, metric="leep")


def test_plan_groups_follow_the_chosen_grouping_affinity():
    """``grouping_affinity`` reaches the solver (the plan's groups are those of the rewritten graph), is
    recorded in settings and reads back; an unknown kind names the option."""
    from transfergraph.planner.decisions import PlanOptions, solve_grouping
    from transfergraph.planner.decisions.affinity import affinity_graph

    affinity = "mutual"
    g = random_graph(6, seed=3, p_missing=0.0)  # a graph on which mutual and transfer group differently
    assert build_plan(g, n_groups=2).groups != build_plan(g, n_groups=2, grouping_affinity=affinity).groups
    plan = build_plan(g, n_groups=2, grouping_affinity=affinity).to_json()
    want = solve_grouping(affinity_graph(g, affinity), n_groups=2).solution
    assert plan["groups"] == [[str(t) for t in grp] for grp in want]
    assert plan["settings"]["grouping_affinity"] == affinity
    assert PlanOptions.from_json(plan["settings"]).grouping_affinity == affinity
    with pytest.raises(InputError, match="grouping_affinity"):
        PlanOptions(grouping_affinity="cosine")


def test_the_curriculum_title_fits_its_figure(tmp_path, monkeypatch):
    """A long objective name and solver status wrap inside the figure instead of being cut at both sides."""
    import transfergraph.planner.report.decision_figures as figures

    g = random_graph(3, 3, n_models=1)
    plan = build_plan(g, curriculum_objective="dissimilar_chain").to_json()
    plan["objectives"]["curriculum"]["status"] = "proven optimal by exhaustive search over every order " * 2
    seen = {}

    def keep(fig, path):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        seen["title"] = fig.axes[0].title.get_window_extent(canvas.get_renderer())
        seen["width"] = fig.bbox.width
        return str(path)

    monkeypatch.setattr(figures, "_save", keep)
    figures.plot_curriculum(g, plan, tmp_path / "c.png")
    assert seen["title"].x0 >= 0 and seen["title"].x1 <= seen["width"]
