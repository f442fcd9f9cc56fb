"""`transfergraph plan` cannot check sample overlap; it carries the run's leakage warnings, marked as such."""
import json
import shutil

from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.jobs.carried_warnings import CARRIED_MARK, carried_leakage_warnings

runner = CliRunner()
LEAK = ("sample overlap (leakage): source 'ext' was trained on 100% of target 't' (same samples); its scores and any "
        "fine-tuning gain on this target are inflated by memorized samples; hold those samples out.")


def test_the_runs_leakage_warnings_reach_the_re_plan(tmp_path, scores_csv):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(scores_csv, run / "scores.csv")
    (run / "plan.json").write_text(json.dumps({"warnings": [LEAK, "some other warning"]}))
    result = runner.invoke(app, ["plan", str(run / "scores.csv"), "--out", str(tmp_path / "re")])
    assert result.exit_code == 0, result.output
    warnings = json.loads((tmp_path / "re" / "plan.json").read_text())["warnings"]
    carried = [w for w in warnings if w.startswith("sample overlap")]
    assert carried == [f"{LEAK} ({CARRIED_MARK} {run / 'plan.json'}; not re-checked by this re-plan)"]
    assert "some other warning" not in warnings
    assert any(w.startswith("sample-overlap (leakage) check not run") for w in warnings)


def test_a_missing_or_broken_plan_carries_nothing_and_a_carried_warning_is_marked_once(tmp_path):
    assert carried_leakage_warnings(tmp_path / "none.json") == []
    (tmp_path / "bad.json").write_text("{not json")
    assert carried_leakage_warnings(tmp_path / "bad.json") == []
    marked = f"{LEAK} ({CARRIED_MARK} x/plan.json; not re-checked by this re-plan)"
    (tmp_path / "plan.json").write_text(json.dumps({"warnings": [marked]}))
    assert carried_leakage_warnings(tmp_path / "plan.json") == [marked]


def test_a_re_plan_from_the_graph_carries_the_runs_own_task_chance_findings(tmp_path):
    """Only a re-plan without a score table (from graph.graphml) carries "near chance on its own task": a
    re-plan from scores.csv checks it again itself."""
    from transfergraph.jobs.carried_warnings import carried_input_warnings

    chance = "source 'a.cnn' is near chance on its own task 'a' (normalized leep 0.01 < 0.05): its model learned little"
    (tmp_path / "plan.json").write_text(json.dumps({"warnings": [chance, LEAK]}))
    from_table = carried_input_warnings(tmp_path / "plan.json")
    from_graph = carried_input_warnings(tmp_path / "plan.json", without_table=True)
    assert len(from_table) == 1 and from_table[0].startswith(LEAK)
    assert len(from_graph) == 2 and from_graph[0].startswith(chance) and CARRIED_MARK in from_graph[0]
