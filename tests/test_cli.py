"""The transfergraph CLI end to end on configs/tiny.yaml (local executor): outputs and exit codes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from typer.testing import CliRunner

from transfergraph.cli import app

ROOT = Path(__file__).resolve().parents[1]
SPEC_COLUMNS = ["source", "source_task", "target", "metric", "score", "normalized", "n_samples", "n_classes",
                "status", "error", "seconds"]
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    result = runner.invoke(app, ["run", str(ROOT / "configs/tiny.yaml"), "--out", str(out), "--executor", "local",
                                 "--quiet"])
    return out, result


def test_run_writes_every_spec_file(tiny_run):
    out, result = tiny_run
    assert result.exit_code == 0, result.output
    assert "[transfergraph]" not in result.output  # --quiet: no log lines, no summary line
    for name in ["scores.csv", "graph.graphml", "plan.json", "report.md", "heatmap.png", "graph.png"]:
        assert (out / name).is_file(), name
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    assert list(scores.columns[: len(SPEC_COLUMNS)]) == SPEC_COLUMNS or set(SPEC_COLUMNS) <= set(scores.columns)
    # one row per (source, target, metric): 4 sources x 3 targets x 3 metrics
    assert len(scores) == 4 * 3 * 3 and not scores.duplicated(["source", "target", "metric"]).any()
    assert (scores["status"] == "ok").all()
    g = nx.read_graphml(out / "graph.graphml")
    assert {d["kind"] for _, d in g.nodes(data=True)} == {"task", "model"}
    plan = json.loads((out / "plan.json").read_text())
    for key in ["metric", "sources", "source_set", "groups", "curriculum", "objectives", "warnings"]:
        assert key in plan
    assert sorted(plan["curriculum"]) == ["high", "low", "mixed_rot"]
    # ext_all is trained on the whole digits split: the real run's plan names the leak (provenance)
    assert any(w.startswith("sample overlap") and "source 'ext_all'" in w for w in plan["warnings"]), plan["warnings"]
    report = (out / "report.md").read_text()
    assert "heatmap.png" in report and "normalized" in report


def test_rerun_reads_the_cache_and_gives_the_same_table(tiny_run, tmp_path):
    out, _ = tiny_run
    before = pd.read_csv(out / "scores.csv")
    result = runner.invoke(app, ["run", str(ROOT / "configs/tiny.yaml"), "--out", str(out), "--executor", "local",
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    after = pd.read_csv(out / "scores.csv")
    cols = ["source", "target", "metric", "score", "normalized", "status"]
    pd.testing.assert_frame_equal(before[cols], after[cols])


def test_plan_replans_from_scores_csv(tiny_run, tmp_path):
    out, _ = tiny_run
    result = runner.invoke(app, ["plan", str(out / "scores.csv"), "--out", str(tmp_path), "--budget", "1",
                                 "--groups", "2"])
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert len(plan["groups"]) <= 2
    # no task data when re-planning: the plan says the leakage check did not run (not silently nothing)
    assert any(w.startswith("sample-overlap (leakage) check not run") for w in plan["warnings"])
    bad = runner.invoke(app, ["plan", str(out / "scores.csv"), "--out", str(tmp_path), "--metric", "gbc"])
    assert bad.exit_code == 2 and "--metric must be one of" in bad.output


@pytest.mark.parametrize("args, fragment", [
    (["run", "configs/nope.yaml"], "does not exist"),
    (["run", "configs/tiny.yaml", "--executor", "spark"], "--executor must be 'local' or 'ray'"),
    (["run", "configs/tiny.yaml", "--cache", "x", "--no-cache"], "--cache and --no-cache conflict"),
    (["run", "configs/tiny.yaml", "--executor", "local", "--address", "1.2.3.4:6379"], "--address needs the ray"),
    (["run", "configs/tiny.yaml", "--executor", "local", "--workers", "3"], "--workers needs the ray executor"),
    (["validate", "configs/tiny.yaml", "--executor", "local", "--workers", "3"], "--workers needs the ray executor"),
    (["plan", "nope.csv"], "does not exist"),
])
def test_usage_errors_exit_2_without_traceback(args, fragment):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output


def test_version_and_help_show_examples():
    assert runner.invoke(app, ["--version"]).output.startswith("transfergraph ")
    help_text = runner.invoke(app, ["--help"]).output
    assert "transfergraph run configs/demo.yaml" in help_text
    assert "Example:" in runner.invoke(app, ["run", "--help"]).output


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "transfergraph"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("transfergraph 0.")
