"""`transfergraph group --dry-run` counts in correct English: "1 seed", "1 pair network", "2 seeds"."""
from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from transfergraph.cli import app
from transfergraph.planner.common.wording import count
from transfergraph.planner.validation.cotrain_design import design_networks

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")


def test_count_uses_the_singular_only_for_one():
    assert [count(n, "seed") for n in (0, 1, 2)] == ["0 seeds", "1 seed", "2 seeds"]
    assert count(1, "pair network") == "1 pair network" and count(3, "child", "children") == "3 children"


def test_design_description_singular_and_plural():
    one = design_networks(["a", "b"], seeds=[0]).describe()
    assert "2 single-task networks and 1 pair network per seed, 1 seed (3 networks)" in one
    two = design_networks(["a", "b", "c"], seeds=[0, 1]).describe()
    assert "3 single-task networks and 3 pair networks per seed, 2 seeds (12 networks)" in two
    sampled = design_networks([f"t{i}" for i in range(4)], seeds=[5], sample_above=3, n_subsets=1).describe()
    assert "1 seed (" in sampled and "1 seeds" not in sampled


def test_dry_run_with_one_seed_and_two_tasks_says_1_seed_and_1_pair_network(tmp_path):
    result = CliRunner().invoke(app, ["group", TINY, "--out", str(tmp_path / "o"), "--seeds", "1", "--steps", "2",
                                      "--tasks", "low,high", "--executor", "local", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 pair network per seed, 1 seed (3 networks)" in result.output
    assert "would train 3 networks" in result.output and "network of 2 tasks" in result.output
    assert "1 seeds" not in result.output and "1 pair networks" not in result.output
