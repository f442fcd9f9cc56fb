"""`transfergraph plan`: a bad value given on the command line is blamed on the option, not on the plan.json
re-planned from; the run's warnings about its inputs (a model's constant logits) reach the re-plan; number
options fail in the CLI's one error format; the help says what a re-plan inherits."""
import json

import pytest
from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.jobs.carried_warnings import CARRIED_MARK

runner = CliRunner()
MODEL = ("models.external[1] (m): the model loaded from m.pt gives the same logits for every input on 32 samples of "
         "task 't' (largest spread 1e-07). Its scores are meaningless: check the entry.")


def _run(tmp_path, scores_csv):
    run = tmp_path / "run"
    result = runner.invoke(app, ["plan", str(scores_csv), "--out", str(run), "--top-k", "2"])
    assert result.exit_code == 0, result.output
    return run


@pytest.mark.parametrize("flag, value, choices", [
    ("--grouping-affinity", "mutal", "'transfer', 'mutual', 'symmetric'"),
    ("--curriculum-objective", "dissimilar-chain", "'dissimilar_chain'"),
])
def test_a_bad_flag_value_is_blamed_on_the_flag_not_on_the_recorded_plan(tmp_path, scores_csv, flag, value, choices):
    run = _run(tmp_path, scores_csv)
    result = runner.invoke(app, ["plan", str(run / "scores.csv"), "--out", str(tmp_path / "p"), flag, value])
    assert result.exit_code == 2, result.output
    assert f"transfergraph: error: {flag} must be one of" in result.output
    assert choices in result.output and f"got {value!r}" in result.output
    assert "plan.json" not in result.output and "settings." not in result.output
    assert not (tmp_path / "p").exists()


def test_the_runs_warnings_about_its_inputs_reach_every_re_plan(tmp_path, scores_csv):
    run = _run(tmp_path, scores_csv)
    plan = json.loads((run / "plan.json").read_text())
    plan["warnings"] += [MODEL, "weak transfer to target 't': recomputed by the re-plan"]
    (run / "plan.json").write_text(json.dumps(plan))
    for args in ([run / "scores.csv", "--sources-from", "external"], [run / "graph.graphml"]):
        out = tmp_path / f"re_{len(args)}"
        result = runner.invoke(app, ["plan", *map(str, args), "--out", str(out)])
        assert result.exit_code == 0, result.output
        warnings = json.loads((out / "plan.json").read_text())["warnings"]
        assert f"{MODEL} ({CARRIED_MARK} {run / 'plan.json'}; not re-checked by this re-plan)" in warnings
        assert "weak transfer to target 't': recomputed by the re-plan" not in warnings
        again = runner.invoke(app, ["plan", str(out / "graph.graphml"), "--out", str(out / "again")])
        assert again.exit_code == 0, again.output  # a re-plan of a re-plan: carried once, marked once
        assert sum(w.startswith(MODEL) for w in json.loads((out / "again" / "plan.json").read_text())["warnings"]) == 1


def test_a_bad_number_is_printed_like_the_other_errors(tmp_path, scores_csv):
    result = runner.invoke(app, ["plan", str(scores_csv), "--out", str(tmp_path / "p"), "--top-k", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == "transfergraph: error: Invalid value for '--top-k': must be an integer >= 1; got 0."
    help_text = " ".join(runner.invoke(app, ["plan", "--help"]).output.split())
    assert "default 3 for a fresh plan; a re-plan keeps the value recorded in the plan.json beside its input" in help_text
