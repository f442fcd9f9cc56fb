"""One network cache for `transfergraph group` (run_networks) and `validate --decisions` (the prefill): a
network's file is keyed by its members' tensors, the budget and the trunk only, so each command reads what
the other trained, and a change to any of those inputs is a different network."""
from __future__ import annotations

import json

import pytest

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.executors import get_executor
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget
from transfergraph.planner.validation.cotrain_design import NetworkJob, design_networks
from transfergraph.planner.validation.cotrain_runner import NetworkCache, run_networks
from transfergraph.planner.validation.decision_prefill import prefill_decision_tables

G, C = TrainBudget(steps=3, batch=4, n_evals=1), TrainBudget(steps=2, batch=4, n_evals=1)


def _data(shift_c: float = -0.3):
    import torch

    gen = torch.Generator().manual_seed(1)

    def task(name, shift):
        x = torch.randn(24, 1, 6, 6, generator=gen) + shift
        y = torch.arange(24) % 2
        return TaskArrays(name, 2, x, y, x[:8].clone(), y[:8].clone(), x[8:].clone(), y[8:].clone())

    return [task("a", 0.0), task("b", 0.3), task("c", shift_c)]


def _trunk():
    from torch import nn

    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "cpu_seconds"} for r in rows]


def test_a_networks_file_depends_only_on_its_members_budget_and_trunk(tmp_path):
    data = _data()
    pair = NetworkJob(0, ("a", "b"), G)
    full = NetworkCache(tmp_path, data=data, trunk=_trunk)
    assert NetworkCache(tmp_path, data=data[:2], trunk=_trunk).path(pair) == full.path(pair)  # other tasks: no matter
    assert NetworkCache(tmp_path, data=_data(shift_c=0.9), trunk=_trunk).path(pair) == full.path(pair)
    assert full.path(NetworkJob(0, ("a", "c"), G)) != NetworkCache(tmp_path, data=_data(shift_c=0.9),
                                                                   trunk=_trunk).path(NetworkJob(0, ("a", "c"), G))
    assert full.path(NetworkJob(0, ("a", "b"), C)) != full.path(pair)  # another budget
    assert full.path(NetworkJob(1, ("a", "b"), G)) != full.path(pair)  # another seed

    def wider():
        from torch import nn

        return nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    assert NetworkCache(tmp_path, data=data, trunk=wider).path(pair) != full.path(pair)  # another trunk
    assert not NetworkCache(tmp_path, data=data[:1], trunk=_trunk).holds(pair)
    with pytest.raises(InputError, match="data and trunk of NetworkCache"):
        NetworkCache(tmp_path, data=data)


def test_the_decisions_prefill_reads_and_fills_the_group_cache(tmp_path):
    data, local = _data(), get_executor("local")
    networks = NetworkCache(tmp_path / "cotrain", data=data, trunk=_trunk)
    jobs = design_networks(["a", "b", "c"], seeds=[0]).jobs(G)  # 3 singles + 3 pairs
    group = run_networks(jobs, data, _trunk, executor=local, cache=networks)
    assert len(group.trained) == 6
    kw = dict(seeds=[0], trunk=_trunk, grouping_budget=G, curriculum_budget=C, n_curr=2, learners=("naive",),
              executor=local)
    done = prefill_decision_tables(data, cache=tmp_path / "decisions", networks=networks, **kw)
    # the 3 pairs come from group's cache; the singletons (their weights are needed), the triple and the 2
    # order subtrees are trained
    assert done.shared == 3 and done.cached == 3 and done.trained == 3 + 1 + 2 and done.failed == []
    tables = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "decisions").rglob("*.json")}
    for job in jobs:
        assert _strip(tables[job.subset]) == _strip(networks.get(job))  # the singles trained twice agree too
    triple = NetworkJob(0, ("a", "b", "c"), G)
    assert networks.get(triple) == tables["a+b+c"]  # the prefill's own networks go to the shared cache
    fresh = prefill_decision_tables(data, cache=tmp_path / "alone", **kw)  # no shared cache: everything trained
    assert fresh.shared == 0 and fresh.trained == 3 + 3 + 1 + 2
    alone = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "alone").rglob("*.json")}
    assert {k: _strip(v) for k, v in alone.items()} == {k: _strip(v) for k, v in tables.items()}
