"""`transfergraph group` after `transfergraph validate --decisions` on the same OUT trains only the networks the
decisions did not: both train single-task and pair networks with the same trainer, budget, trunk and seeds,
and share one per-network cache (OUT/cache/cotrain). Counted from the command's own report and the cache
files, and the reused networks give the numbers of a run that trains everything."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from transfergraph.cli import app

TASKS = [{"name": "a0to4", "classes": [0, 1, 2, 3, 4]}, {"name": "b5to9", "classes": [5, 6, 7, 8, 9]},
         {"name": "c_inv", "classes": [0, 1, 2, 3, 4], "shift": {"invert": True}},
         {"name": "d_odd", "classes": [1, 3, 5, 7, 9]}]
CONFIG = {
    "name": "share", "seed": 0, "data": {"dataset": "digits", "image_size": 8}, "tasks": TASKS,
    "models": {"per_task": True, "training": {"epochs": 1, "width": 8, "feature_dim": 16}},
    "scoring": {"metrics": ["leep"], "executor": "local"},
    # the decisions judge three of the four tasks; `group` measures all four
    "validate": {"decisions": {"tasks": ["a0to4", "b5to9", "c_inv"], "seeds": 2, "steps": 4, "curriculum_steps": 2,
                               "batch": 8, "train_per_class": 10, "groups": [2], "n_curriculum": 2}},
}
runner = CliRunner()


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "share.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return str(path)


def _decisions(config, out):
    result = runner.invoke(app, ["validate", config, "--decisions", "--out", str(out), "--executor", "local",
                                 "--quiet"])
    assert result.exit_code == 0, result.output


def _group(config, out, *extra):
    result = runner.invoke(app, ["group", config, "--out", str(out), "--executor", "local", *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_group_after_validate_decisions_trains_only_the_missing_networks(config, tmp_path):
    out = tmp_path / "out"
    _decisions(config, out)
    # the decisions' singles and pairs of a0to4, b5to9, c_inv (3 + 3 per seed, 2 seeds) are in the shared cache
    # (the triple a0to4+b5to9+c_inv too: every subset is trained; `group` does not train triples)
    assert len(list((out / "cache" / "cotrain").rglob("*.json"))) == 2 * 7
    text = _group(config, out)
    # group's design: 4 singles + 6 pairs per seed = 20 networks; 12 of them were trained by the decisions
    assert "8 networks trained, 12 read from the cache" in text, text
    fresh = tmp_path / "fresh"
    assert "20 networks trained, 0 read from the cache" in _group(config, fresh)
    drop = ["cpu_seconds_alone", "cpu_seconds_with"]
    shared = pd.read_csv(out / "cotrain.csv")
    alone = pd.read_csv(fresh / "cotrain.csv")
    pd.testing.assert_frame_equal(shared.drop(columns=[c for c in drop if c in shared]),
                                  alone.drop(columns=[c for c in drop if c in alone]), check_exact=True)


def test_a_different_budget_does_not_reuse_the_decisions_networks(config, tmp_path):
    out = tmp_path / "out"
    _decisions(config, out)
    assert "20 networks trained, 0 read from the cache" in _group(config, out, "--steps", "3")
