"""Tier T0 of the decision validations: three 8x8 digits tasks, width-8 trunk, a few steps (seconds)."""
from __future__ import annotations

import _val_support as S

import numpy as np
import pandas as pd
import pytest

from transfergraph.planner.validation import multitask
from transfergraph.planner.validation._training_core import TrainBudget, batch_stream
from transfergraph.planner.validation.continual import orders_table, train_order
from transfergraph.planner.validation.decision_run import validate_decisions

BUDGET = TrainBudget(steps=6, batch=8, n_evals=2, replay=4)
trunk = S.decision_trunk


@pytest.fixture(scope="module")
def data():
    return S.decision_tasks()


def test_prepare_tasks_caps_training_and_keeps_splits_disjoint(data):
    for t in data:
        assert np.bincount(t.train_y.numpy()).max() <= 12
        assert len(t.val_y) > 0 and len(t.test_y) > 0
        assert t.train_x.shape[1:] == (1, 8, 8)


def test_subset_table_shape_determinism_and_resume(data, tmp_path, monkeypatch):
    table, singles = multitask.subset_table(data, seed=0, budget=BUDGET, trunk=trunk, cache=tmp_path)
    assert len(table) == 3 + 3 * 2 + 3 and table["subset"].nunique() == 7
    assert set(singles) == {"a0to4", "b5to9", "c_inv"}
    assert (table["steps"] == BUDGET.steps).all()  # every task gets S steps whatever its group
    again, _ = multitask.subset_table(data, seed=0, budget=BUDGET, trunk=trunk)  # no cache: retrained
    pd.testing.assert_frame_equal(table.drop(columns="cpu_seconds"), again.drop(columns="cpu_seconds"))

    def boom(*a, **k):
        raise AssertionError("a cached subset was retrained")

    monkeypatch.setattr(multitask, "train_group", boom)
    cached, singles2 = multitask.subset_table(data, seed=0, budget=BUDGET, trunk=trunk, cache=tmp_path)
    pd.testing.assert_frame_equal(table, cached)
    x = data[0].train_x[:4]
    assert (singles["a0to4"](x) == singles2["a0to4"](x)).all()


def test_batch_stream_depends_only_on_seed_and_task():
    a = batch_stream(3, "t", 50, 8, 20)
    assert (a == batch_stream(3, "t", 50, 8, 20)).all()
    assert not (a == batch_stream(3, "u", 50, 8, 20)).all()
    assert np.bincount(a[:6].ravel(), minlength=50).max() == 1  # one epoch: no repeats


@pytest.mark.parametrize("replay", [False, True])
def test_prefix_trie_equals_separate_runs_bit_for_bit(data, replay):
    trie = orders_table(data, seed=1, budget=BUDGET, trunk=trunk, replay=replay)
    assert len(trie) == 3 * 1 + 6 * 2 + 6 * 3  # stages: 3 + 6 + 6, each row one seen task
    for order in (["c_inv", "a0to4", "b5to9"], ["b5to9", "c_inv", "a0to4"]):
        alone = train_order(data, order, seed=1, budget=BUDGET, trunk=trunk, replay=replay)
        sub = trie[trie.prefix.isin(alone.prefix.unique())].reset_index(drop=True)
        cols = ["prefix", "stage", "task", "test_acc", "val_acc", "curve"]
        assert sub[cols].equals(alone[cols])


def test_validate_decisions_rows_arms_and_invariants(data, tmp_path):
    res = validate_decisions(data, seeds=[0, 1], trunk=trunk, grouping_budget=BUDGET, curriculum_budget=BUDGET,
                             k_values=(2,), learners=("naive",), cache=tmp_path)
    g = res.grouping
    for col in ("decision", "arm", "seed", "objective", "realized", "percentile", "regret"):
        assert col in g.columns and col in res.curriculum.columns
    arms = set(g.arm)
    assert {"planner", "all_in_one", "all_separate", "random", "best_of_3", "hoa", "oracle", "oracle_test"} <= arms
    for _, rows in g.groupby(["seed", "truth"]):  # the test-chosen oracle is the best partition (ties share ranks)
        best = rows[rows.arm == "oracle_test"].iloc[0]
        assert best.realized == rows[rows.percentile.notna()].realized.max()
        assert best.percentile == rows.percentile.max()
    rand = g[g.arm == "random"].regret_vs_test_oracle
    assert rand.notna().any() and np.allclose(rand.dropna(), 1.0)  # random is the regret scale's 1
    assert g.percentile.dropna().between(0, 100).all()
    assert set(g.truth) == {"seed", "mean"} and "hoa" not in set(g[g.truth == "mean"].arm)  # HOA only on disjoint seeds
    c = res.curriculum
    assert {"planner_tree", "planner_chain", "planner_cumulative", "reverse_tree", "anti_planner", "random",
            "oracle"} <= set(c.arm)
    assert set(c.measure) == {"acc", "fwt_ft", "bwt"}
    assert (c[c.arm == "oracle_test"].percentile >= c[c.arm == "planner_tree"].percentile.to_numpy()).all()
    assert set(res.ceilings) >= {"grouping_k2", "curriculum_naive_acc"}
    again = validate_decisions(data, seeds=[0, 1], trunk=trunk, grouping_budget=BUDGET, curriculum_budget=BUDGET,
                               k_values=(2,), learners=("naive",), cache=tmp_path)
    pd.testing.assert_frame_equal(res.grouping, again.grouping)
    pd.testing.assert_frame_equal(res.curriculum, again.curriculum)
