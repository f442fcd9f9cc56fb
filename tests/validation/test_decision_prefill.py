"""The decision tables trained as executor jobs equal the serial ones, and fill every file the judge reads."""
from __future__ import annotations

import pandas as pd
import pytest

from transfergraph.planner.executors import get_executor
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget
from transfergraph.planner.validation.decision_prefill import prefill_decision_tables
from transfergraph.planner.validation.decision_run import validate_decisions

G, C = TrainBudget(steps=3, batch=4, n_evals=1), TrainBudget(steps=2, batch=4, n_evals=1)
KW = dict(seeds=[0, 1], grouping_budget=G, curriculum_budget=C)


def _data():
    import torch

    gen = torch.Generator().manual_seed(1)

    def task(name, shift):
        x = torch.randn(24, 1, 6, 6, generator=gen) + shift
        y = torch.arange(24) % 2
        return TaskArrays(name, 2, x, y, x[:8].clone(), y[:8].clone(), x[8:].clone(), y[8:].clone())

    return [task("a", 0.0), task("b", 0.3), task("c", -0.3)]


def _trunk():
    from torch import nn

    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _tables(res):
    return (res.subsets.drop(columns="cpu_seconds").reset_index(drop=True),
            res.orders.drop(columns="cpu_seconds").reset_index(drop=True), res.grouping.reset_index(drop=True))


@pytest.fixture(scope="module")
def serial():
    return _tables(validate_decisions(_data(), trunk=_trunk, k_values=(2,), n_curr=3, cache=None, **KW))


def _prefilled(tmp_path, executor, monkeypatch):
    data = _data()
    done = prefill_decision_tables(data, trunk=_trunk, n_curr=3, learners=("naive",), cache=tmp_path,
                                   executor=executor, **KW)
    assert done.failed == [] and done.trained == 2 * 7 + 2 * 3  # 7 subsets and 3 order subtrees per seed
    again = prefill_decision_tables(data, trunk=_trunk, n_curr=3, learners=("naive",), cache=tmp_path,
                                    executor=executor, **KW)
    assert again.trained == 0 and again.cached == 20

    def no_training(*args, **kwargs):
        raise AssertionError("the judge trained a network that the prefill should have cached")

    monkeypatch.setattr("transfergraph.planner.validation.multitask.train_group", no_training)
    monkeypatch.setattr("transfergraph.planner.validation.continual._first_subtree", no_training)
    return _tables(validate_decisions(data, trunk=_trunk, k_values=(2,), n_curr=3, cache=tmp_path, **KW))


def test_local_prefill_gives_the_serial_tables_and_the_judge_only_reads(serial, tmp_path, monkeypatch):
    for got, want in zip(_prefilled(tmp_path, get_executor("local"), monkeypatch), serial):
        pd.testing.assert_frame_equal(got, want)


@pytest.mark.ray
def test_ray_prefill_gives_the_serial_tables(serial, tmp_path, monkeypatch, ray_session):
    import sys

    ray_session.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the toy trunk lives in this file
    for got, want in zip(_prefilled(tmp_path, get_executor("ray"), monkeypatch), serial):
        pd.testing.assert_frame_equal(got, want)
