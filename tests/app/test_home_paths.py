"""A path written with ``~`` (``--out ~/runs/x``, a config's ``root: ~/data``) is the home folder's, as in a
shell: the command line and the config's path keys expand it in one place (``expand_home``). HOME is a
temporary folder in every test, so nothing is written to the real home."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.config import load_config, parse_config
from transfergraph.planner.common.io import expand_home, prepare_out_dir

runner = CliRunner()
TASKS = [{"name": "x"}, {"name": "y"}]


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)  # a literal "~" folder would appear here
    return home


def test_expand_home_keeps_the_type_and_leaves_other_paths_alone(home):
    assert expand_home("~/runs/x") == str(home / "runs" / "x")
    assert expand_home(Path("~/runs")) == home / "runs"
    assert expand_home("~") == str(home)
    assert expand_home("runs/~x") == "runs/~x" and expand_home("/a/~/b") == "/a/~/b"
    assert expand_home(None) is None
    assert prepare_out_dir("~/made") == home / "made" and (home / "made").is_dir()


def test_config_path_keys_expand_home(home):
    cfg = parse_config({"data": {"kind": "npy", "root": "~/x.npy", "labels": "~/y.npy"}, "tasks": TASKS,
                        "models": {"model_dir": "~/models", "meta": {"checkpoint": "~/meta.pt"},
                                   "external": [{"name": "ext", "checkpoint": "~/ext.pt"}]},
                        "scoring": {"cache": "~/cache"}, "validate": {"cache": "~/vcache"}})
    assert cfg.data.root == str(home / "x.npy") and cfg.data.labels == str(home / "y.npy")
    assert cfg.models.model_dir == str(home / "models")
    assert cfg.models.meta.checkpoint == str(home / "meta.pt")
    assert cfg.models.external[0].checkpoint == str(home / "ext.pt")
    assert cfg.scoring.cache == str(home / "cache") and cfg.validate_.cache == str(home / "vcache")
    assert parse_config({"tasks": TASKS, "scoring": {"cache": False}}).scoring.cache is False


def test_a_config_with_home_data_builds_its_tasks(home):
    from transfergraph.jobs.suite import build_tasks

    np.save(home / "x.npy", np.random.default_rng(0).standard_normal((40, 1, 4, 4)).astype(np.float32))
    np.save(home / "y.npy", np.arange(40) % 4)
    (home / "job.yaml").write_text("data: {kind: npy, root: ~/x.npy, labels: ~/y.npy}\n"
                                   "tasks:\n  - {name: a, classes: [0, 1]}\n  - {name: b, classes: [2, 3]}\n")
    tasks = build_tasks(load_config("~/job.yaml"))
    assert [t.name for t in tasks] == ["a", "b"] and sum(len(t.labels) for t in tasks) > 0


def test_cli_paths_expand_home(home, scores_csv):
    (home / "in").mkdir()
    (home / "in" / "scores.csv").write_bytes(scores_csv.read_bytes())
    (home / "plan.yaml").write_text("tasks:\n  - {name: a}\n  - {name: b}\nplan: {top_k: 2}\n")
    result = runner.invoke(app, ["plan", "~/in/scores.csv", "--out", "~/runs/x", "--config", "~/plan.yaml",
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    assert (home / "runs" / "x" / "plan.json").is_file()
    assert not Path("~").exists() and not os.path.exists(home / "in" / "~")


@pytest.mark.parametrize("args, flag, expected, given", [
    (["run", "configs/tiny.yaml", "--workers", "0"], "--workers", "an integer >= 1", "0"),
    (["validate", "configs/tiny.yaml", "--workers", "-3"], "--workers", "an integer >= 1", "-3"),
    (["run", "configs/tiny.yaml", "--batch-size", "0"], "--batch-size", "an integer >= 1", "0"),
    (["run", "configs/tiny.yaml", "--gpus-per-task", "-0.5"], "--gpus-per-task", "a number >= 0", "-0.5"),
    (["run", "configs/tiny.yaml", "--pairs-fraction", "1.5"], "--pairs-fraction", "a number in (0, 1]", "1.5"),
    (["plan", "x.csv", "--time-limit", "0"], "--time-limit", "a number > 0", "0"),
    (["plan", "x.csv", "--time-limit", "inf"], "--time-limit", "a number > 0", "inf"),
    (["plan", "x.csv", "--seed", "-1"], "--seed", "an integer >= 0", "-1"),
    (["plan", "x.csv", "--top-k", "0"], "--top-k", "an integer >= 1", "0"),
    (["group", "configs/tiny.yaml", "--seeds", "0"], "--seeds", "an integer >= 1", "0"),
    (["group", "configs/tiny.yaml", "--workers", "0"], "--workers", "an integer >= 1", "0"),
    (["group", "configs/tiny.yaml", "--steps", "ten"], "--steps", "an integer >= 1", "'ten'"),
])
def test_numeric_option_errors_name_the_option_the_range_and_the_value(args, flag, expected, given):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{flag}': must be {expected}; got {given}." in result.output, result.output
    assert "Traceback" not in result.output
