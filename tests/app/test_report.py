"""The report package: rendered from the artifacts, never switching the caller's matplotlib backend,
skipping empty figures with a sentence, and taking the validation section without editing text."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from transfergraph.planner.report import render_report, score_matrix
from transfergraph.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _plan(scores_csv, out):
    result = runner.invoke(app, ["plan", str(scores_csv), "--out", str(out), "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    return out


def test_writing_a_report_leaves_the_callers_backend_alone(scores_csv, tmp_path):
    code = f"""
import matplotlib
matplotlib.use("svg")
from transfergraph.cli import app
from typer.testing import CliRunner
r = CliRunner().invoke(app, ["plan", {str(scores_csv)!r}, "--out", {str(tmp_path)!r}, "--time-limit", "5"])
assert r.exit_code == 0, r.output
import matplotlib.pyplot as plt
print(matplotlib.get_backend(), len(plt.get_fignums()))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["svg", "0"]
    assert (tmp_path / "heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_heatmap_rows_are_graph_nodes_and_targets_follow_their_row(synthetic_scores):
    mat = score_matrix(synthetic_scores(6, n_models=2, seed=1), "leep")
    assert not any(label.endswith(".cnn") for label in mat.index)  # famA_00, not famA_00.cnn
    rows = [r for r in mat.index if r in set(mat.columns)]
    assert [c for c in mat.columns if c in set(rows)] == rows  # each target sits under its own row


def test_groups_figure_is_skipped_with_a_sentence_when_no_task_edge(synthetic_scores, tmp_path):
    scores = synthetic_scores(4, n_models=2, seed=0)
    scores = scores[scores["source_task"] == ""]  # external models only: no task -> task edge
    scores.to_csv(tmp_path / "only_ext.csv", index=False)
    out = _plan(tmp_path / "only_ext.csv", tmp_path / "out")
    report = (out / "report.md").read_text()
    assert not (out / "groups.png").exists() and "groups figure is omitted" in report
    assert json.loads((out / "run.json").read_text())["skipped"].keys() == {"groups"}


def test_validation_section_is_added_by_re_rendering(scores_csv, tmp_path):
    out = _plan(scores_csv, tmp_path)
    (out / "validation.md").write_text("## Validation: do the scores predict real transfer?\n\nsection body\n")
    render_report(out)
    render_report(out)
    report = (out / "report.md").read_text()
    assert report.count("## Validation:") == 1 and report.index("## Decisions") < report.index("## Validation:")
    assert pd.read_csv(out / "scores.csv").shape == pd.read_csv(scores_csv).shape


def test_verdict_names_the_metric_that_ranks_sources_best_within_targets():
    import pandas as pd

    from transfergraph.planner.report.validation import verdict_lines

    corr = pd.DataFrame([
        {"metric": "leep", "method": "retrain_head", "pearson": 0.8, "kendall_tau": 0.6, "n_pairs": 40,
         "per_target_kendall_tau": 0.52},
        {"metric": "h_score", "method": "retrain_head", "pearson": 0.3, "kendall_tau": 0.2, "n_pairs": 40,
         "per_target_kendall_tau": 0.77},
    ])
    text = " ".join(verdict_lines(corr, None, metric="leep"))
    assert "leep beat: h_score" in text  # pooled over targets
    assert "Within targets" in text and "h_score ranks sources best: τ=0.77 vs 0.52 for leep" in text
    corr.loc[1, "per_target_kendall_tau"] = 0.1
    assert "Within targets" not in " ".join(verdict_lines(corr, None, metric="leep"))
