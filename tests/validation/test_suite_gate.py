"""The reliability gate of the decision suites (seconds): statistics on tables with known reliability,
hand-computed pair effects, and every round-2 suite definition builds its tasks."""
from __future__ import annotations

import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transfergraph.adapters.datasets import fashion_mnist_available
from transfergraph.adapters.models import SmallCNN
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget
from transfergraph.planner.validation.continual import orders_table
from transfergraph.planner.validation.multitask import subset_name
from transfergraph.planner.validation.reliability import (gate, loss_view, order_ceiling, order_effect_matrix,
                                                           order_effect_reliability, pair_gain_matrix,
                                                           pair_reliability, partition_ceiling, seeds_needed)

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _subset_table(true_gain: np.ndarray, noise: float, n_seeds: int, rng) -> pd.DataFrame:
    """Singles and pairs of n tasks; test_loss(t | {t, u}) = 1 - true_gain[u, t] - noise * N(0, 1)."""
    n = len(true_gain)
    tasks = [f"t{i:02d}" for i in range(n)]
    rows = []
    for s in range(n_seeds):
        for i, t in enumerate(tasks):
            rows.append({"seed": s, "subset": t, "task": t, "test_loss": 1.0, "val_loss": 1.0, "test_acc": 0.5, "val_acc": 0.5})
        for i, j in combinations(range(n), 2):
            for a, b in ((i, j), (j, i)):  # task a co-trained with partner b
                loss = 1.0 - true_gain[b, a] - noise * rng.standard_normal()
                rows.append({"seed": s, "subset": subset_name([tasks[a], tasks[b]]), "task": tasks[a],
                             "test_loss": loss, "val_loss": loss, "test_acc": 0.5, "val_acc": 0.5})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("noise, expected", [(0.0, 1.0), (0.5, 1 / (1 + 0.25 / 6)), (3.0, 1 / (1 + 9 / 6))])
def test_pair_reliability_recovers_known_reliability(noise, expected):
    # 14 tasks -> 182 ordered pairs; true gains N(0, 1), per-seed noise N(0, noise^2), 6 seeds:
    # reliability of the 6-seed mean = 1 / (1 + noise^2 / 6)
    rng = np.random.default_rng(0)
    true = rng.standard_normal((14, 14))
    rel = pair_reliability(_subset_table(true, noise, 6, rng))
    assert rel == pytest.approx(expected, abs=0.08)
    assert gate(rel, 0.9).passes == (expected >= 0.9)


def test_pure_noise_pair_gains_fail_the_gate():
    rng = np.random.default_rng(1)
    rel = pair_reliability(_subset_table(np.zeros((12, 12)), 1.0, 6, rng))
    assert abs(rel) < 0.35
    res = gate(rel, 0.9)
    assert not res.passes and "pair-effect reliability" in res.verdict()


def test_pair_gain_matrix_by_hand():
    rows = [{"seed": s, "subset": sub, "task": t, "test_loss": l, "val_loss": l, "test_acc": a, "val_acc": a}
            for s, sub, t, l, a in [(0, "a", "a", 1.0, 0.6), (0, "b", "b", 2.0, 0.4), (0, "a+b", "a", 0.7, 0.7),
                                    (0, "a+b", "b", 2.5, 0.3)]]
    gains, pairs = pair_gain_matrix(pd.DataFrame(rows))
    assert pairs == [("b", "a"), ("a", "b")]
    np.testing.assert_allclose(gains, [[0.3, -0.5]])  # minus the loss change
    np.testing.assert_allclose(pair_gain_matrix(pd.DataFrame(rows), "acc")[0], [[0.1, -0.1]])
    with pytest.raises(InputError, match="lacks"):
        pair_gain_matrix(pd.DataFrame(rows[:3]))
    with pytest.raises(InputError, match="measure"):
        pair_gain_matrix(pd.DataFrame(rows), "f1")
    with pytest.raises(InputError, match="test_loss"):
        loss_view(pd.DataFrame(rows).drop(columns="test_loss"))


def _orders(seed_shift: float, n_seeds: int) -> pd.DataFrame:
    """Every prefix of 3 tasks; s(task | prefix) = base - 0.1 * (stages after it) * (index of the later task + 1)."""
    from itertools import permutations

    tasks = ["a", "b", "c"]
    rows = []
    for s in range(n_seeds):
        for k in (1, 2, 3):
            for p in permutations(tasks, k):
                for j, t in enumerate(p):
                    after = sum(tasks.index(u) + 1 for u in p[j + 1:])
                    loss = 1.0 + 0.1 * after + seed_shift * s * (tasks.index(t) == 0)
                    rows.append({"seed": s, "learner": "naive", "prefix": ">".join(p), "stage": k, "task": t,
                                 "test_acc": 1 - loss / 3, "val_acc": 1 - loss / 3, "test_loss": loss, "val_loss": loss})
    return pd.DataFrame(rows)


def test_order_effects_and_ceiling_by_hand():
    tab = _orders(0.0, 4)
    eff, pairs = order_effect_matrix(tab)
    assert pairs[0] == ("b", "a")  # b trained after a
    np.testing.assert_allclose(eff[0, 0], -0.2)  # loss of a rises by 0.1 * (index of b + 1)
    assert order_effect_reliability(tab) == pytest.approx(1.0)
    assert order_ceiling(tab) == pytest.approx(1.0)
    with pytest.raises(InputError, match="prefix"):
        order_effect_matrix(tab[tab.stage == 1])


def test_partition_ceiling_is_one_on_identical_seeds():
    rng = np.random.default_rng(2)
    one = _subset_table(rng.standard_normal((4, 4)), 0.0, 1, rng)
    tasks = sorted(one.task.unique())
    rows = [one]
    for size in (3, 4):  # the larger subsets: loss of each member = its single loss - 0.1 * size * index
        for members in combinations(tasks, size):
            rows.append(pd.DataFrame([{"seed": 0, "subset": subset_name(members), "task": t,
                                       "test_loss": 1 - 0.1 * size * i, "val_loss": 1.0, "test_acc": 0.5, "val_acc": 0.5}
                                      for i, t in enumerate(members)]))
    tab = pd.concat(rows, ignore_index=True)
    tab = pd.concat([tab.assign(seed=s) for s in range(4)], ignore_index=True)
    assert partition_ceiling(tab, 2) == pytest.approx(1.0)


def test_seeds_needed_inverts_spearman_brown():
    rho1 = 0.2  # one seed; 16 seeds: 16 * 0.2 / (1 + 15 * 0.2) = 0.8 exactly
    rho4 = 4 * rho1 / (1 + 3 * rho1)
    assert seeds_needed(rho4, 4) == 16
    assert seeds_needed(0.9, 6) == 3  # already above: fewer seeds would do
    assert seeds_needed(-0.1, 6) == float("inf") and seeds_needed(float("nan"), 6) == float("inf")
    with pytest.raises(InputError, match="n_seeds"):
        seeds_needed(0.5, 0)


def test_gate_thresholds_and_nan():
    assert gate(0.8, 0.5).passes
    assert not gate(float("nan"), 0.9).passes
    assert gate(0.85, 0.2).verdict() == "fails (noise ceiling 0.20 < 0.5)"
    with pytest.raises(InputError, match="min_ceiling"):
        gate(0.9, 0.9, min_ceiling=2.0)


def test_orders_table_records_test_loss():
    import torch

    rng = np.random.default_rng(3)

    def task(name):
        x = torch.from_numpy(rng.random((20, 1, 8, 8), dtype=np.float32))
        y = torch.from_numpy(np.arange(20) % 2)
        return TaskArrays(name, 2, x, y, x[:8], y[:8], x[8:], y[8:])

    data = [task("a"), task("b")]
    tab = orders_table(data, seed=0, budget=TrainBudget(steps=2, batch=4, n_evals=1),
                       trunk=lambda: SmallCNN(2, 1, 4, 8).features)
    assert tab["test_loss"].notna().all() and (tab["test_loss"] > 0).all()
    assert order_effect_matrix(tab)[0].shape == (1, 2)


@pytest.mark.skipif(not fashion_mnist_available(), reason="Fashion-MNIST IDX files not installed")
def test_every_suite_definition_builds_its_tasks():
    sys.path.insert(0, str(BENCH))
    try:
        import suites
    finally:
        sys.path.remove(str(BENCH))
    named = {**suites.GROUPING_SUITES, **suites.CURRICULUM_SUITES}
    assert len(suites.GROUPING_SUITES) >= 3 and len(suites.CURRICULUM_SUITES) >= 3
    assert sum(s.shared_input for s in suites.GROUPING_SUITES.values()) >= 1
    randoms = suites.random_split_suites(10)
    assert len({tuple(t.classes for t in s.tasks) for s in randoms.values()}) == 10  # distinct splits
    for s in [*named.values(), randoms["fm_rand0"]]:
        data = suites.build_suite(s)
        assert len(data) == (5 if s.kind == "grouping" else 4), s.name
        for spec, t in zip(s.tasks, data):
            assert len(t.train_y) == (spec.train_images or s.train_images) and len(t.test_y) >= 2000, (s.name, t.name)
            assert set(np.unique(t.train_y.numpy())) == set(range(t.n_classes))
            assert t.train_x.shape[1:] == (1, 14, 14)
        if s.shared_input and all(spec.transform is None for spec in s.tasks):  # the same images, relabelled
            full = [t for spec, t in zip(s.tasks, data) if spec.train_images is None]
            assert all(torch_equal(t.train_x, full[0].train_x) for t in full)
            assert all(torch_equal(t.val_x, data[0].val_x) and torch_equal(t.test_x, data[0].test_x) for t in data)
    with pytest.raises(InputError, match="label"):
        suites.build_suite(suites.Suite("bad", "grouping", (suites.TaskSpec("x", "nope"),)))


def torch_equal(a, b) -> bool:
    return bool((a == b).all())
