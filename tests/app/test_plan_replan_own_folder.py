"""`transfergraph plan` into its run's own folder keeps what `transfergraph group` and `validate --decisions`
measured there; a plan of another table is refused there; a failed plan leaves the folder as it was."""
import json
import shutil

import networkx as nx
from typer.testing import CliRunner

from transfergraph.cli import app

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, ["plan", *map(str, args)])


def _measured_run(tmp_path, scores_csv):
    """A run folder whose plan.json, graph.graphml and run.json hold what `group` and `validate --decisions` write."""
    run = tmp_path / "run"
    assert _invoke(scores_csv, "--out", run, "--groups", "2").exit_code == 0
    plan = json.loads((run / "plan.json").read_text())
    tasks = sorted(t for g in plan["groups"] for t in g)
    measured_groups = [tasks[:1], tasks[1:]]  # not the proxy's partition
    assert measured_groups != plan["groups"]
    plan["proxy_groups"], plan["groups"] = plan["groups"], measured_groups
    plan["train_alone"] = tasks[:1]
    plan["evidence"]["groups"] = {"level": "measured", "note": "measured on your data with `transfergraph group`",
                                  "design": "pairs", "tasks": tasks, "train_alone": tasks[:1]}
    plan["objectives"]["groups"] = {**plan["objectives"]["groups"], "affinity": "cotrain_gain", "group_values": [0.0, 0.1]}
    plan["measured_partition"] = {"k2": {"groups": [tasks[:2], tasks[2:]], "seeds": 3, "val_acc": 0.5, "test_acc": 0.4,
                                         "percentile": 90.0, "gain_over_random": 0.02, "separate_gain": -0.01}}
    plan["measured_groups"] = {"k2": [tasks[:3], tasks[3:]]}
    plan["measured_curriculum"] = {"naive": {"order": tasks[:3], "seeds": 3, "val_acc": 0.5, "test_acc": 0.4,
                                             "percentile": 70.0, "gain_over_random": 0.01}}
    plan["evidence"]["curriculum"] = {
        "level": "measured on this data: inconclusive",
        "note": "the planner's method (dissimilar_chain), re-run on graphs. This plan's own curriculum restricted to the "
                "validated tasks (a > b) were trained among the alternatives: percentile 40.",
        "this_plan": {"order": tasks[:3], "acc": 0.3, "percentile": 40.0, "gain_over_random": -0.004}}
    hurt = f"sharing hurts task {tasks[0]!r}: every measured partner raised its test loss; train it alone."
    validated = "curriculum: trained for real on this data, the planner's method for curriculum did not meet the bar."
    plan["warnings"] += [hurt, validated]
    (run / "plan.json").write_text(json.dumps(plan))
    graph = nx.read_graphml(run / "graph.graphml")
    gains = {}
    for i, (u, v) in enumerate((u, v) for u, v in graph.edges if u in tasks and v in tasks):
        graph.edges[u, v].update(cotrain_gain=0.01 * i, cotrain_se=0.001)
        gains[(u, v)] = 0.01 * i
    nx.write_graphml(graph, run / "graph.graphml")
    info = json.loads((run / "run.json").read_text())
    records = {"pairs_fraction": None, "pairs": {"candidates": 9, "scored": 9, "predicted": 0}, "data": {"kind": "x"}}
    (run / "run.json").write_text(json.dumps({**info, **records}))
    return run, plan, gains, records


def test_a_replan_into_its_own_folder_keeps_the_measured_results(tmp_path, scores_csv):
    run, before, gains, records = _measured_run(tmp_path, scores_csv)
    result = _invoke(run / "scores.csv", "--out", run, "--curriculum-objective", "tree")
    assert result.exit_code == 0, result.output
    assert "kept the results measured in" in result.output
    plan = json.loads((run / "plan.json").read_text())
    assert plan["settings"]["curriculum_objective"] == "tree"  # the option changed
    for key in ("measured_partition", "measured_groups", "measured_curriculum", "train_alone"):
        assert plan[key] == before[key], key
    # measured groups stay the plan's, with their evidence and objective; the proxy's go beside them
    assert plan["groups"] == before["groups"] and plan["proxy_groups"] != before["groups"]
    assert plan["evidence"]["groups"]["level"] == "measured"
    assert plan["objectives"]["groups"]["affinity"] == "cotrain_gain"
    assert any(w.startswith("sharing hurts task") for w in plan["warnings"])
    # the curriculum evidence measured another objective: not kept, and the plan says so
    assert plan["evidence"]["curriculum"]["level"] == "proxy only"
    assert not any(w.startswith("curriculum: trained for real") for w in plan["warnings"])
    assert any("measured the planner's method with curriculum_objective 'dissimilar_chain'" in w
               for w in plan["warnings"])
    graph = nx.read_graphml(run / "graph.graphml")
    assert {(u, v): d["cotrain_gain"] for u, v, d in graph.edges(data=True) if "cotrain_gain" in d} == gains
    info = json.loads((run / "run.json").read_text())
    assert {k: info.get(k) for k in records} == records
    report = (run / "report.md").read_text()
    assert "come from measured co-training gains" in report and "at most 2 groups): among every partition" in report


def test_a_replan_with_the_same_options_keeps_the_validated_evidence(tmp_path, scores_csv):
    run, before, _, _ = _measured_run(tmp_path, scores_csv)
    result = _invoke(run / "scores.csv", "--out", run)
    assert result.exit_code == 0, result.output
    plan = json.loads((run / "plan.json").read_text())
    assert plan["evidence"]["curriculum"] == before["evidence"]["curriculum"]  # same method, same order
    assert sum(w.startswith("curriculum: trained for real") for w in plan["warnings"]) == 1
    assert sum(w.startswith("sharing hurts task") for w in plan["warnings"]) == 1
    assert plan["groups"] == before["groups"] and plan["proxy_groups"] == before["proxy_groups"]


def test_another_group_budget_keeps_the_measured_groups_and_says_how_to_regroup(tmp_path, scores_csv):
    run, before, _, _ = _measured_run(tmp_path, scores_csv)
    result = _invoke(run / "scores.csv", "--out", run, "--groups", "3")
    assert result.exit_code == 0, result.output
    plan = json.loads((run / "plan.json").read_text())
    assert plan["groups"] == before["groups"] and len(plan["proxy_groups"]) == 3
    assert any(f"transfergraph group CONFIG --out {run} --groups 3" in w for w in plan["warnings"])


def test_a_plan_of_another_table_is_refused_where_results_were_measured(tmp_path, scores_csv):
    run, _, _, _ = _measured_run(tmp_path, scores_csv)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(scores_csv, other / "scores.csv")
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    result = _invoke(other / "scores.csv", "--out", run)
    assert result.exit_code == 2, result.output
    assert f"--out {run} holds results measured on its own run's data" in result.output
    assert "plan.json measured_partition" in result.output and str(run / "scores.csv") in result.output
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files
    # written elsewhere, a plan of the measured run says where its measurements stay
    assert _invoke(run / "scores.csv", "--out", tmp_path / "elsewhere").exit_code == 0
    warnings = json.loads((tmp_path / "elsewhere" / "plan.json").read_text())["warnings"]
    assert any(w.startswith(f"measured results of {run} are not in this plan") for w in warnings)


def test_a_failed_plan_writes_nothing(tmp_path, scores_csv):
    result = _invoke(scores_csv, "--out", tmp_path / "new", "--start", "nosuch")
    assert result.exit_code == 2 and "--start 'nosuch' is not in the graph" in result.output
    assert not (tmp_path / "new").exists()  # no graph.graphml, no scores.csv, no folder
    run = tmp_path / "run"
    assert _invoke(scores_csv, "--out", run).exit_code == 0
    files = {p.name: p.read_bytes() for p in run.iterdir()}
    result = _invoke(run / "scores.csv", "--out", run, "--start", "nosuch")
    assert result.exit_code == 2, result.output
    assert {p.name: p.read_bytes() for p in run.iterdir()} == files  # nothing replaced, no staging folder left


def test_a_changed_order_of_the_same_method_keeps_the_evidence_and_says_the_rank_is_of_the_old_order(
        tmp_path, scores_csv):
    run, before, _, _ = _measured_run(tmp_path, scores_csv)
    start = next(t for t in before["curriculum"] if t != before["curriculum"][0])
    result = _invoke(run / "scores.csv", "--out", run, "--start", start)
    assert result.exit_code == 0, result.output
    plan = json.loads((run / "plan.json").read_text())
    assert plan["curriculum"][0] == start and plan["curriculum"] != before["curriculum"]
    evidence = plan["evidence"]["curriculum"]
    assert evidence["level"] == before["evidence"]["curriculum"]["level"]
    assert evidence["this_plan"] == before["evidence"]["curriculum"]["this_plan"]
    assert evidence["note"].startswith(before["evidence"]["curriculum"]["note"])
    assert "This plan's own curriculum changed with a re-plan (`transfergraph plan`) after this measurement" in evidence["note"]
