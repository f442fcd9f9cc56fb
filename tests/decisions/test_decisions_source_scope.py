"""``sources_from``: recommend sources from a set (e.g. external models only) while the task->task
edges still decide groups and curriculum."""
import json

import networkx as nx
import pytest
from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.config import parse_config
from transfergraph.jobs.planning import plan_options
from transfergraph.planner.common.exceptions import ConfigError, InputError
from transfergraph.planner.decisions import Plan, PlanOptions, build_plan


@pytest.fixture
def graph():
    g = nx.DiGraph()
    tasks = [f"t{i}" for i in range(4)]
    g.add_nodes_from(tasks, kind="task")
    g.add_nodes_from(["m0", "m1"], kind="model")
    for i, u in enumerate(tasks):
        for j, v in enumerate(tasks):
            if u != v:
                g.add_edge(u, v, weight=0.5 + 0.1 * ((i + j) % 3))  # task models transfer best
        g.add_edge("m0", u, weight=0.2 + 0.05 * i)
        g.add_edge("m1", u, weight=0.3 - 0.05 * i)
    return g


def _all_sources(plan):
    return {s for top in plan["sources"].values() for s, _ in top} | set(plan["source_set"]["chosen"])


def test_external_only_recommends_models_and_keeps_groups_and_curriculum(graph):
    full = build_plan(graph).to_json()
    ext = build_plan(graph, sources_from="external").to_json()
    assert _all_sources(full) & {"t0", "t1", "t2", "t3"}  # without the scope the task models win
    assert _all_sources(ext) <= {"m0", "m1"}
    assert ext["sources"]["t0"][0] == ["m1", 0.3]
    assert ext["groups"] == full["groups"] and ext["curriculum"] == full["curriculum"]
    assert ext["objectives"]["curriculum"]["parents"] == full["objectives"]["curriculum"]["parents"]
    assert any("restricted to external models only" in w for w in ext["warnings"])
    assert not any("no task->task edges" in w for w in ext["warnings"])
    assert ext["settings"]["sources_from"] == "external"
    assert Plan.from_json(json.loads(json.dumps(ext))).options.sources_from == "external"


def test_named_sources_and_task_scope(graph):
    only = build_plan(graph, sources_from=["m0"]).to_json()
    assert _all_sources(only) == {"m0"}
    assert Plan.from_json(json.loads(json.dumps(only))).options.sources_from == ("m0",)
    assert _all_sources(build_plan(graph, sources_from="tasks").to_json()) <= {"t0", "t1", "t2", "t3"}
    assert PlanOptions(sources_from="m0, m1").sources_from == ("m0", "m1")  # the command line's form


@pytest.mark.parametrize("value, fragment", [(["m9"], "not nodes of the graph"), ([], "sources_from"),
                                             (["m0", "m0"], "lists a node twice"), (3, "sources_from")])
def test_bad_scopes_name_the_option(graph, value, fragment):
    with pytest.raises(InputError, match="sources_from") as err:
        build_plan(graph, sources_from=value).to_json()
    assert fragment in str(err.value)


def test_scope_from_the_command_line_and_the_config(graph, tmp_path):
    nx.write_graphml(graph, tmp_path / "g.graphml")
    runner = CliRunner()
    ok = runner.invoke(app, ["plan", str(tmp_path / "g.graphml"), "--out", str(tmp_path / "a"), "--sources-from",
                             "external"])
    assert ok.exit_code == 0, ok.output
    plan = json.loads((tmp_path / "a" / "plan.json").read_text())
    assert _all_sources(plan) <= {"m0", "m1"} and plan["settings"]["sources_from"] == "external"
    bad = runner.invoke(app, ["plan", str(tmp_path / "g.graphml"), "--out", str(tmp_path / "b"), "--sources-from",
                              "m0,zoo_x"])
    assert bad.exit_code == 2 and "--sources-from" in bad.output and "zoo_x" in bad.output
    assert "Traceback" not in bad.output
    tasks = [{"name": "a"}, {"name": "b"}]
    external = {"per_task": True, "external": [{"name": "m0"}]}
    assert plan_options(parse_config({"tasks": tasks, "models": external,
                                      "plan": {"sources_from": ["m0"]}})).sources_from == ("m0",)
    with pytest.raises(ConfigError, match="not source nodes of this config"):   # checked before any training
        parse_config({"tasks": tasks, "plan": {"sources_from": ["m0"]}})
    assert plan_options(parse_config({"tasks": tasks, "plan": {"sources_from": "external"}})).sources_from == "external"
    with pytest.raises(ConfigError, match="sources_from"):
        parse_config({"tasks": tasks, "plan": {"sources_from": []}})


def test_a_misspelt_scope_word_lists_the_scope_words(graph):
    # "externals" is neither a scope word nor a node: the message shows both kinds of valid value
    with pytest.raises(InputError, match="sources_from") as err:
        build_plan(graph, sources_from="externals").to_json()
    assert "['externals']" in str(err.value) and "['all', 'external', 'tasks']" in str(err.value)
