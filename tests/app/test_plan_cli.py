"""`transfergraph plan`: every plan option of the config, the same plan from CLI flags or a config,
re-planning from graph.graphml, and plan.json read back into a typed Plan."""
import json

import pytest
import yaml
from typer.testing import CliRunner

from transfergraph.planner.decisions import Plan, PlanOptions, Status
from transfergraph.cli import app
from transfergraph.config import parse_config
from transfergraph.jobs.planning import plan_options

runner = CliRunner()
PLAN_SECTION = {"metric": "leep", "top_k": 2, "budget": 2, "n_groups": 3, "max_group_size": 4, "centered": False,
                "grouping_affinity": "mutual", "curriculum_start": "famA_01", "curriculum_objective": "chain", "time_limit": 7.5}
FLAGS = ["--metric", "leep", "--top-k", "2", "--budget", "2", "--groups", "3", "--max-group-size", "4",
         "--no-centered", "--grouping-affinity", "mutual", "--start", "famA_01", "--curriculum-objective", "chain", "--time-limit", "7.5",
         "--seed", "5"]
CONFIG = {"seed": 5, "tasks": [{"name": "famA_01"}, {"name": "famA_02"}], "plan": PLAN_SECTION}


def _plan(args, out):
    result = runner.invoke(app, ["plan", *map(str, args), "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "plan.json").read_text())
    for obj in plan["objectives"].values():
        obj.pop("seconds"), obj.pop("graph_read_seconds", None)
    return plan


def test_plan_options_from_config_equal_those_from_flags(tmp_path, scores_csv):
    from_config = plan_options(parse_config(CONFIG))
    assert from_config == PlanOptions(metric="leep", top_k=2, budget=2, n_groups=3, max_group_size=4, start="famA_01",
                                      centered=False, grouping_affinity="mutual", curriculum_objective="chain",
                                      time_limit=7.5, seed=5)
    cfg = tmp_path / "job.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    by_flags = _plan([scores_csv, *FLAGS], tmp_path / "flags")
    by_config = _plan([scores_csv, "--config", cfg], tmp_path / "config")
    assert by_flags == by_config
    assert PlanOptions.from_json({"metric": by_flags["metric"], **by_flags["settings"]}) == from_config
    assert by_flags["curriculum"][0] == "famA_01" and by_flags["objectives"]["curriculum"]["objective"].startswith("chain")
    assert all(len(top) <= 2 for top in by_flags["sources"].values())
    # a flag overrides the config
    assert _plan([scores_csv, "--config", cfg, "--top-k", "1"], tmp_path / "both")["settings"]["top_k"] == 1


def test_plan_replans_from_graphml_with_the_same_decisions(tmp_path, scores_csv):
    from_scores = _plan([scores_csv, "--curriculum-objective", "cumulative"], tmp_path / "a")
    from_graph = _plan([tmp_path / "a" / "graph.graphml", "--curriculum-objective", "cumulative"], tmp_path / "b")
    # same decisions; the graph has no score table, so the plan also says the own-task check did not run
    graph_warnings, score_warnings = from_graph.pop("warnings"), from_scores.pop("warnings")
    extra = [w for w in graph_warnings if w not in score_warnings]
    assert from_graph == from_scores
    assert len(extra) == 1 and extra[0].startswith("own-task chance check not run")
    report = (tmp_path / "b" / "report.md").read_text()
    assert "](graph.png)" in report and "no score table to draw" in report and "heatmap.png" not in report
    bad = runner.invoke(app, ["plan", str(tmp_path / "a" / "graph.graphml"), "--metric", "nce", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "re-plan from scores.csv" in bad.output


@pytest.mark.parametrize("args, flag", [(["--curriculum-objective", "spiral"], "--curriculum-objective"),
                                        (["--grouping-affinity", "cosine"], "--grouping-affinity"),
                                        (["--time-limit", "0"], "--time-limit")])
def test_bad_plan_options_name_the_flag(tmp_path, scores_csv, args, flag):
    result = runner.invoke(app, ["plan", str(scores_csv), "--out", str(tmp_path), *args])
    assert result.exit_code == 2 and result.output.count(flag) >= 1 and "PlanOptions" not in result.output
    assert "Traceback" not in result.output


def test_plan_json_reads_back_into_a_typed_plan(tmp_path, scores_csv):
    _plan([scores_csv, "--top-k", "3"], tmp_path)
    data = json.loads((tmp_path / "plan.json").read_text())
    data["flagged_notes"] = ["kept through a round trip"]
    plan = Plan.from_json(data)
    assert plan.to_json() == data
    assert plan.options == PlanOptions(top_k=3)
    assert all(isinstance(w, str) for w in plan.warnings)
    for name, d in plan.decisions.items():
        assert isinstance(d.status, Status) and d.optimal == (d.status is Status.OPTIMAL)
        assert data["objectives"][name]["status"] in {"optimal", "time_limit", "heuristic"}
    assert plan.decision("groups").solution == data["groups"]


def test_replanning_keeps_the_runs_other_options(tmp_path, scores_csv):
    first = _plan([scores_csv, "--budget", "2", "--top-k", "1", "--curriculum-objective", "chain"], tmp_path / "a")
    assert (tmp_path / "a" / "scores.csv").is_file()
    again = _plan([tmp_path / "a" / "scores.csv", "--groups", "2"], tmp_path / "b")
    assert again["settings"]["n_groups"] == 2  # the flag given
    for key in ("budget", "top_k", "curriculum_objective"):  # the rest from a/plan.json, not the defaults
        assert again["settings"][key] == first["settings"][key]
    assert "options: " + str(tmp_path / "a" / "plan.json") in (tmp_path / "b" / "report.md").read_text()


def test_a_bad_recorded_setting_is_named_not_silently_dropped(tmp_path, scores_csv):
    """A hand-edited plan.json setting the options reject: the re-plan names the file and the key instead of
    falling back to every default; the flag for that key replaces it and the other settings still carry."""
    _plan([scores_csv, "--top-k", "1", "--groups", "2"], tmp_path / "a")
    path = tmp_path / "a" / "plan.json"
    plan = json.loads(path.read_text())
    plan["settings"]["grouping_affinity"] = "pairwise"
    path.write_text(json.dumps(plan))
    bad = runner.invoke(app, ["plan", str(tmp_path / "a" / "scores.csv"), "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and str(path) in bad.output and "--grouping-affinity" in bad.output
    assert "pairwise" in bad.output and "settings.grouping_affinity" in bad.output and "Traceback" not in bad.output
    fixed = _plan([tmp_path / "a" / "scores.csv", "--grouping-affinity", "mutual"], tmp_path / "c")
    assert fixed["settings"]["grouping_affinity"] == "mutual"
    assert fixed["settings"]["top_k"] == 1 and fixed["settings"]["n_groups"] == 2
