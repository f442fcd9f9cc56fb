"""Measured co-training: network design, averaging estimator, gains and SE, HOA grouping vs brute force, runner."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from transfergraph.planner.executors import get_executor
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget
from transfergraph.planner.validation.cotrain import cotrain_table, measured_grouping, pair_gains, sharing_hurts
from transfergraph.planner.validation.cotrain_design import Design, NetworkJob, design_networks
from transfergraph.planner.validation.cotrain_runner import NetworkCache, run_networks
from transfergraph.planner.validation.decision_stats import set_partitions


def test_pairs_design_up_to_ten_tasks_then_random_subsets():
    small = design_networks(list("dcba"), seeds=[0, 1])
    assert small.kind == "pairs" and len(small.groups) == 4 + 6 and len(small.jobs(TrainBudget())) == 20
    names = [f"t{i:02d}" for i in range(11)]
    big = design_networks(names, seeds=[0])
    again = design_networks(list(reversed(names)), seeds=[7, 8])  # the draw ignores name order and training seeds
    assert big.kind == "subsets" and big.groups == again.groups
    multi = [g for g in big.groups if len(g) > 1]
    assert len(multi) == 33 and len(set(multi)) == 33 and all(3 <= len(g) <= 5 for g in multi)
    assert sum(len(g) == 1 for g in big.groups) == 11
    assert big.pair_coverage[("t00", "t01")] == sum(1 for g in multi if {"t00", "t01"} <= set(g))
    assert "random subsets" in big.describe()
    assert design_networks(names, seeds=[0], sample_seed=1).groups != big.groups


@pytest.mark.parametrize("names, seeds", [(["a"], [0]), (["a", "a"], [0]), (["a", "b"], [])])
def test_design_rejects_bad_inputs(names, seeds):
    with pytest.raises(ValueError):
        design_networks(names, seeds=seeds)


def _row(seed, subset, task, loss, acc=0.5):
    return {"seed": seed, "subset": subset, "task": task, "val_acc": acc, "val_loss": loss + 0.01,
            "test_acc": acc, "test_loss": loss, "steps": 1, "cpu_seconds": 0.0}


def test_subset_average_estimator_and_gain_by_hand():
    design = Design("subsets", (("a",), ("b",), ("c",), ("d",), ("a", "b", "c"), ("a", "b", "d")), (0,), {})
    rows = [_row(0, "a", "a", 1.0), _row(0, "b", "b", 2.0), _row(0, "c", "c", 1.0), _row(0, "d", "d", 1.0),
            _row(0, "a+b+c", "a", 0.8), _row(0, "a+b+c", "b", 2.5), _row(0, "a+b+c", "c", 1.0),
            _row(0, "a+b+d", "a", 0.6), _row(0, "a+b+d", "b", 1.5), _row(0, "a+b+d", "d", 1.2)]
    t = cotrain_table(rows, design).set_index(["task", "partner"])
    assert t.loc[("a", "b"), "test_loss_with"] == pytest.approx(0.7) and t.loc[("a", "b"), "n_networks"] == 2
    assert t.loc[("a", "b"), "gain"] == pytest.approx(0.3)  # loss alone 1.0 - mean(0.8, 0.6)
    assert t.loc[("a", "c"), "gain"] == pytest.approx(0.2)
    assert t.loc[("b", "a"), "gain"] == pytest.approx(0.0)  # 2.0 - mean(2.5, 1.5)
    assert t.loc[("d", "a"), "gain"] == pytest.approx(-0.2) and t.loc[("d", "a"), "gain_relative"] == pytest.approx(-0.2)
    assert ("c", "d") not in t.index  # no sampled subset holds c and d: unmeasured
    assert t.loc[("a", "b"), "design"] == "subsets"


def test_pair_gain_is_the_seed_mean_with_its_standard_error():
    design = Design("pairs", (("a",), ("b",), ("a", "b")), (0, 1), {})
    rows = [_row(0, "a", "a", 1.0), _row(0, "b", "b", 1.0), _row(0, "a+b", "a", 0.9), _row(0, "a+b", "b", 1.2),
            _row(1, "a", "a", 1.0), _row(1, "b", "b", 1.0), _row(1, "a+b", "a", 0.7), _row(1, "a+b", "b", 1.4)]
    g = pair_gains(cotrain_table(rows, design)).set_index(["task", "partner"])
    assert g.loc[("a", "b"), "gain"] == pytest.approx(0.2)
    assert g.loc[("a", "b"), "se"] == pytest.approx(np.std([0.1, 0.3], ddof=1) / np.sqrt(2))
    assert g.loc[("b", "a"), "gain"] == pytest.approx(-0.3)
    assert sharing_hurts(g.reset_index()) == ["b"]


def _gains(matrix: dict) -> pd.DataFrame:
    return pd.DataFrame([{"task": t, "partner": u, "gain": w, "se": 0.01} for (u, t), w in matrix.items()])


def test_a_task_that_every_partner_hurts_is_kept_alone():
    w = {}
    for u, t in itertools.permutations("abcde", 2):
        w[(u, t)] = -0.5 if t == "e" else (0.4 if {u, t} in ({"a", "b"}, {"c", "d"}) else 0.01)
    groups, decision, alone = measured_grouping(list("abcde"), _gains(w), n_groups=3)
    assert alone == ["e"] and groups == [["a", "b"], ["c", "d"], ["e"]] and decision.optimal
    groups, _, alone = measured_grouping(list("abcde"), _gains(w), n_groups=2)  # budget 2: e alone + one group
    assert alone == ["e"] and groups == [["a", "b", "c", "d"], ["e"]]


@pytest.mark.parametrize("seed", range(4))
def test_hoa_grouping_is_optimal_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    tasks = list("abcdef")
    w = {(u, t): float(rng.normal(0.05, 0.2)) for u, t in itertools.permutations(tasks, 2)}
    for t in tasks:  # no task hurt by everyone: the search covers all of them
        w[(tasks[(tasks.index(t) + 1) % 6], t)] = abs(w[(tasks[(tasks.index(t) + 1) % 6], t)])
    groups, _, alone = measured_grouping(tasks, _gains(w), n_groups=3)
    assert alone == []

    def value(p):  # HOA: sum_G (1/(|G|-1)) sum_{u != t in G} g(u -> t)
        return sum(sum(w[(u, t)] for u in g for t in g if u != t) / (len(g) - 1) for g in p if len(g) > 1)

    best = max(value(p) for p in set_partitions(tasks, 3))
    assert value(groups) == pytest.approx(best) and len(groups) <= 3


def _toy_data():
    import torch

    gen = torch.Generator().manual_seed(0)

    def task(name, shift):
        x = torch.randn(24, 1, 6, 6, generator=gen) + shift
        y = torch.arange(24) % 2
        return TaskArrays(name, 2, x, y, x[:8].clone(), y[:8].clone(), x[8:].clone(), y[8:].clone())

    return [task("p", 0.0), task("q", 0.5)]


def _trunk():
    from torch import nn

    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def test_runner_caches_each_network_and_reports_a_failing_one(tmp_path):
    data, budget = _toy_data(), TrainBudget(steps=2, batch=4, n_evals=1)
    design = design_networks(["p", "q"], seeds=[0])
    jobs = design.jobs(budget) + [NetworkJob(0, ("zzz",), budget)]  # not a task: its job raises
    cache = NetworkCache(tmp_path)
    first = run_networks(jobs, data, _trunk, executor=get_executor("local"), cache=cache)
    assert len(first.trained) == 3 and [k for k, _ in first.failed] == ["s0/zzz"]
    assert "KeyError" in first.failed[0][1] and len(first.rows) == 4  # p, q, and both members of p+q
    cache.path(jobs[2]).unlink()
    again = run_networks(jobs[:3], data, _trunk, executor=get_executor("local"), cache=cache)
    assert again.trained == ["s0/p+q"] and sorted(again.cached) == ["s0/p", "s0/q"]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "cpu_seconds"} for r in rows]  # noqa: E731
    assert strip(again.rows) == strip(first.rows)
