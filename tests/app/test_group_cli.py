"""`transfergraph group CONFIG` on configs/tiny.yaml (3 tasks, 4 steps per network): outputs, resume, Ray, bad inputs."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from typer.testing import CliRunner

from transfergraph.cli import app

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "configs" / "tiny.yaml")
FAST = ["--seeds", "2", "--steps", "4"]
runner = CliRunner()


def _group(out, *extra):
    return runner.invoke(app, ["group", TINY, "--out", str(out), *FAST, *extra])


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("group_local")
    result = _group(out, "--executor", "local")
    assert result.exit_code == 0, result.output
    return out, result


def _cache_files(out: Path) -> list[Path]:
    return sorted((out / "cache" / "cotrain").rglob("*.json"))


def test_group_writes_cotrain_graph_and_a_measured_plan(local_run):
    out, result = local_run
    cot = pd.read_csv(out / "cotrain.csv")
    assert {"task", "partner", "seed", "test_loss_alone", "test_acc_alone", "test_loss_with", "test_acc_with",
            "gain"} <= set(cot.columns)
    assert len(cot) == 3 * 2 * 2  # 3 tasks x 2 partners x 2 seeds
    assert (cot.gain == cot.test_loss_alone - cot.test_loss_with).all()
    assert "12 networks trained, 0 read from the cache" in result.output
    assert len(_cache_files(out)) == 12  # 3 singles + 3 pairs, 2 seeds: one file per network
    gains = pd.read_csv(out / "cotrain_gains.csv")
    graph = nx.read_graphml(out / "graph.graphml")
    for r in gains.itertuples():
        edge = graph.edges[r.partner, r.task]
        assert edge["cotrain_gain"] == pytest.approx(cot[(cot.task == r.task) & (cot.partner == r.partner)].gain.mean())
        assert edge["cotrain_se"] == pytest.approx(r.se)
    plan = json.loads((out / "plan.json").read_text())
    assert plan["evidence"]["groups"]["level"] == "measured"
    assert sorted(t for g in plan["groups"] for t in g) == ["high", "low", "mixed_rot"]
    assert "every pair measured" in plan["evidence"]["groups"]["note"]
    obj = plan["objectives"]["groups"]
    assert len(obj["group_values"]) == len(plan["groups"]) and obj["affinity"] == "cotrain_gain"
    assert obj["value"] == pytest.approx(sum(obj["group_values"]))


def test_sharing_hurts_tasks_are_kept_alone_and_named(local_run):
    out, _ = local_run
    plan = json.loads((out / "plan.json").read_text())
    gains = pd.read_csv(out / "cotrain_gains.csv")
    best = gains.groupby("task").gain.max()
    kept = sorted(t for t, g in best.items() if g < 0)
    assert sorted(plan["train_alone"] + plan["train_alone_provisional"]) == kept
    for t in kept:
        assert [t] in plan["groups"]
    for t in plan["train_alone"]:  # resolved beyond noise: the recommendation is stated
        assert any(w.startswith(f"sharing hurts task {t!r}") and "train" in w and "alone" in w for w in plan["warnings"])
    for t in plan["train_alone_provisional"]:  # not resolved: provisional, with what to rerun
        assert any(w.startswith(f"sharing may hurt task {t!r} (provisional)") and "--seeds" in w
                   for w in plan["warnings"])


def test_a_subset_of_the_plan_tasks_leaves_the_plan_groups_as_they_were(local_run, tmp_path):
    src, _ = local_run
    out = tmp_path / "subset"
    shutil.copytree(src, out)
    before = {n: (out / n).read_bytes() for n in ("cotrain.csv", "cotrain.md", "graph.graphml")}
    plan0 = json.loads((out / "plan.json").read_text())
    result = _group(out, "--executor", "local", "--tasks", "low,high")
    assert result.exit_code == 0, result.output
    assert "0 networks trained" in result.output and "cotrain_groups" in result.output
    plan = json.loads((out / "plan.json").read_text())
    for key in ("groups", "train_alone", "train_alone_provisional", "warnings", "objectives"):
        assert plan[key] == plan0[key], key
    assert plan["evidence"]["groups"] == plan0["evidence"]["groups"]
    assert {n: (out / n).read_bytes() for n in before} == before  # the full run's measurements stay
    assert sorted(t for g in plan["cotrain_groups"] for t in g) == ["high", "low"]
    sub = plan["evidence"]["cotrain_groups"]
    assert sub["tasks"] == ["high", "low"] and sub["networks"] == 3 * 2 and "subset of the plan's tasks" in sub["note"]
    assert set(pd.read_csv(out / "cotrain_subset.csv").task) == {"high", "low"}
    assert "Tasks: high, low." in (out / "cotrain_subset.md").read_text()
    result = _group(out, "--executor", "local")  # every task again: the subset's outputs are dropped
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "plan.json").read_text())
    assert "cotrain_groups" not in plan and "cotrain_groups" not in plan["evidence"]
    assert not (out / "cotrain_subset.md").exists() and (out / "cotrain.md").read_bytes() == before["cotrain.md"]


@pytest.mark.ray
def test_ray_gives_bitwise_the_same_cotrain_csv(local_run, tmp_path, ray_session):
    out, _ = local_run
    result = _group(tmp_path / "ray", "--executor", "ray")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ray" / "cotrain.csv").read_bytes() == (out / "cotrain.csv").read_bytes()


def test_resume_trains_only_the_missing_networks(local_run, tmp_path):
    src, _ = local_run
    out = tmp_path / "resume"
    shutil.copytree(src / "cache", out / "cache")
    lost = _cache_files(out)[::4]  # as if the run had been killed before these networks finished
    for path in lost:
        path.unlink()
    result = _group(out, "--executor", "local")
    assert result.exit_code == 0, result.output
    assert f"{len(lost)} networks trained, {12 - len(lost)} read from the cache" in result.output
    assert (out / "cotrain.csv").read_bytes() == (src / "cotrain.csv").read_bytes()


def test_dry_run_times_one_network_and_trains_nothing_else(tmp_path):
    out = tmp_path / "dry"
    result = _group(out, "--executor", "local", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would train 12 networks" in result.output and "Timed one network of 2 tasks" in result.output
    assert len(_cache_files(out)) == 1 and not (out / "cotrain.csv").exists()


@pytest.mark.parametrize("extra, named", [
    (["--tasks", "low"], "--tasks"),
    (["--tasks", "low,nope"], "--tasks"),
    (["--seeds", "0"], "--seeds"),
    (["--executor", "ray", "--address", "no-port-here"], "--address"),
    (["--executor", "ray", "--address", "127.0.0.1:1"], "--address"),  # nothing listens there (or no token)
    (["--executor", "local", "--address", "127.0.0.1:6379"], "--address"),
])
def test_bad_inputs_exit_2_naming_the_option(tmp_path, monkeypatch, extra, named):
    monkeypatch.setenv("RAY_AUTH_MODE", os.environ.get("RAY_AUTH_MODE", "token"))  # restored after the test
    result = runner.invoke(app, ["group", TINY, "--out", str(tmp_path / "bad"), "--steps", "4", *extra])
    assert result.exit_code == 2, result.output
    assert named in result.output
    if "nope" in extra[-1]:
        assert "nope" in result.output


@pytest.mark.slow
def test_group_after_run_annotates_the_run_graph_and_keeps_the_proxy_groups(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", TINY, "--out", str(out), "--executor", "local", "--quiet"])
    assert result.exit_code == 0, result.output
    proxy = json.loads((out / "plan.json").read_text())["groups"]
    proxy_figure = (out / "groups.png").read_bytes()
    result = _group(out, "--executor", "local", "--quiet")
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "plan.json").read_text())
    assert plan["proxy_groups"] == proxy and plan["evidence"]["groups"]["level"] == "measured"
    assert plan["sources"] and plan["curriculum"]  # the run's other decisions are kept
    graph = nx.read_graphml(out / "graph.graphml")
    assert graph.edges["low", "high"]["cotrain_gain"] == pytest.approx(
        pd.read_csv(out / "cotrain_gains.csv").set_index(["task", "partner"]).loc[("high", "low"), "gain"])
    assert "weight" in graph.edges["low", "high"]  # the transfer score is still there
    report = (out / "report.md").read_text()
    assert "These groups come from measured co-training gains" in report and "**groups**: measured" in report
    assert (out / "groups.png").read_bytes() != proxy_figure  # redrawn for the measured groups
    assert json.loads((out / "run.json").read_text())["figures"]["groups"] == "groups.png"


def test_past_ten_tasks_it_samples_random_subsets_and_says_so(tmp_path):
    import yaml

    tasks = [{"name": f"d{i}", "classes": [i, (i + 1) % 10], "n_per_class": 12} for i in range(10)]
    tasks.append({"name": "d0_rot", "classes": [0, 1], "n_per_class": 12, "shift": {"rotate": 30}})
    cfg = tmp_path / "eleven.yaml"
    cfg.write_text(yaml.safe_dump({"name": "eleven", "data": {"dataset": "digits", "image_size": 8}, "tasks": tasks,
                                   "models": {"training": {"width": 4, "feature_dim": 8}},
                                   "validate": {"decisions": {"batch": 4}}}))
    result = runner.invoke(app, ["group", str(cfg), "--out", str(tmp_path / "o"), "--seeds", "1", "--steps", "2",
                                 "--executor", "local", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "random subsets" in result.output and "11 single-task networks and 33 random groups" in result.output
    assert "would train 44 networks" in result.output


def test_one_failing_network_does_not_stop_the_others(tmp_path, monkeypatch):
    from transfergraph.planner.validation import cotrain_runner

    real = cotrain_runner.train_network

    def flaky(job, packed, trunk):
        if job.seed == 0 and job.members == ("high", "low"):
            raise RuntimeError("out of memory in this network")
        return real(job, packed, trunk)

    monkeypatch.setattr(cotrain_runner, "train_network", flaky)
    out = tmp_path / "flaky"
    result = _group(out, "--executor", "local")
    assert result.exit_code == 1, result.output
    assert "1 networks failed" in result.output
    cot = pd.read_csv(out / "cotrain.csv")
    assert len(cot) == 12 - 2 and not ((cot.seed == 0) & cot.task.isin(["high", "low"]) & cot.partner.isin(["high", "low"])).any()
    assert "s0/high+low: RuntimeError: out of memory" in (out / "cotrain.md").read_text()
    assert json.loads((out / "plan.json").read_text())["evidence"]["groups"]["level"] == "measured"
    assert len(_cache_files(out)) == 11  # a rerun trains only the failed network


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_networks_and_the_rerun_trains_only_the_rest(local_run, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    src, _ = local_run
    out = tmp_path / "killed"
    exe = Path(sys.executable).parent / "transfergraph"
    proc = subprocess.Popen([str(exe), "group", TINY, "--out", str(out), *FAST, "--executor", "local", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(_cache_files(out)) < 2:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    done = len(_cache_files(out))
    if proc.returncode == 0:  # the 12 small networks all finished before the signal landed: nothing to resume
        pytest.skip("the run finished before it could be interrupted")
    assert proc.returncode == 130 and "interrupted (Ctrl-C)" in err, err
    assert not list((out / "cache").rglob("*.tmp")), "a half-written cache file was left behind"
    result = _group(out, "--executor", "local")
    assert result.exit_code == 0, result.output
    assert f"{12 - done} networks trained, {done} read from the cache" in result.output
    assert (out / "cotrain.csv").read_bytes() == (src / "cotrain.csv").read_bytes()
