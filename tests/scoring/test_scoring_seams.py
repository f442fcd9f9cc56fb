"""The typed seams of scoring: ScoreRow, MetricInput, typed shared-object keys, frozen jobs, the
local executor object, and metrics that declare themselves in their own modules."""
from __future__ import annotations

import dataclasses
import json
import math
import pickle

import numpy as np
import pytest

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.executors import Executor, LocalExecutor, get_executor
from transfergraph.planner.metrics import REGISTRY, Metric, MetricInput
from transfergraph.planner.scoring import COLUMNS, ScoreRow, score
from transfergraph.planner.scoring.compute import ComputeOptions
from transfergraph.planner.scoring.keys import PoolKey, SourceKey
from transfergraph.planner.scoring.planning import plan_jobs
from transfergraph.planner.scoring.pools import build_pools

from scoring_support import tiny_sources, tiny_tasks


def test_score_row_constructors_and_columns():
    ok = ScoreRow.ok("s", "t", "tta", score=-1.5, flag="small-sample: x", seconds=0.25, metric_version="2",
                     key="k1", extra={"tta_certified": True})
    bad = ScoreRow.failed("s", "t", "leep", error="RuntimeError: boom", metric_version="2", key="k2")
    assert ok.status == "ok" and bad.status == "failed" and math.isnan(bad.score) and bad.flag == ""
    full = ok.with_target(source_task="a", n_samples=10, n_classes=3, label_entropy=1.0)
    d = full.as_dict()
    # every table column but `normalized` (computed per target), in the table's order, then the extras
    assert list(d) == [c for c in COLUMNS if c != "normalized"] + ["tta_certified"]
    assert d["source_task"] == "a" and d["n_samples"] == 10 and d["cached"] is False
    # the cache record: what the score cache has always stored (flag and extras only for ok rows)
    assert set(ok.cache_record()) == {"source", "target", "metric", "metric_version", "key", "score", "status",
                                      "error", "seconds", "flag", "cached", "tta_certified"}
    assert "flag" not in bad.cache_record() and bad.cache_record()["key"] == "k2"
    json.dumps(ok.cache_record())
    with pytest.raises(dataclasses.FrozenInstanceError):
        ok.score = 0.0  # type: ignore[misc]
    with pytest.raises(InputError, match="status of ScoreRow must be one of"):
        ScoreRow("s", "t", "leep", "maybe")
    assert pickle.loads(pickle.dumps(ok)) == ok


def test_metric_input_is_a_str_enum_and_each_metric_declares_itself():
    assert REGISTRY["leep"].input == "probs" and REGISTRY["h_score"].input == "features"
    assert REGISTRY["tta"].input == "features+reference" == MetricInput.FEATURES_REFERENCE
    assert f"{REGISTRY['tta'].input}" == "features+reference" and str(MetricInput.PROBS) == "probs"
    assert json.dumps(MetricInput.FEATURES) == '"features"'
    for name, m in REGISTRY.items():
        assert isinstance(m.input, MetricInput)
        module = __import__(m.func.__module__, fromlist=["METRIC"])
        assert module.METRIC is m, name  # the registry holds each module's own declaration
        assert m.paper == module.PAPER
    with pytest.raises(TypeError):  # keywords only
        Metric("x", REGISTRY["leep"].func, "probs")  # type: ignore[misc]
    with pytest.raises(InputError, match="input of Metric 'x' must be one of"):
        dataclasses.replace(REGISTRY["leep"], name="x", input="logits")
    assert dataclasses.replace(REGISTRY["leep"], input="features").input is MetricInput.FEATURES


def test_jobs_are_frozen_complete_and_keyed_by_typed_keys(tmp_path):
    from transfergraph.planner.storage.cache import ScoreCache

    sources, tasks = tiny_sources(), tiny_tasks()
    pools, views = build_pools(tasks)
    metrics = {n: REGISTRY[n] for n in ("leep", "h_score")}
    compute = ComputeOptions(batch_size=32, device="cpu", num_workers=0)
    with ScoreCache(tmp_path) as store:
        rows, jobs = plan_jobs(sources, views, pools, metrics, seed=0, store=store, threads=None,
                               compute=compute, cache_dir=str(tmp_path))
    assert rows == [] and jobs
    assert {j.source_key for j in jobs} == {SourceKey(i) for i in range(len(sources))}
    assert {j.pool_key for j in jobs} <= {PoolKey(p.id) for p in pools}
    for job in jobs:
        assert isinstance(job.targets, tuple) and all(isinstance(t.metrics, tuple) for t in job.targets)
        assert (job.batch_size, job.device, job.num_workers) == (32, "cpu", 0)
        assert job.store_dir == str(tmp_path.resolve()) and job.store_key and job.model_fp
        union = np.unique(np.concatenate([t.index for t in job.targets]))
        np.testing.assert_array_equal(job.union, union)
        pool = pools[job.pool_key.index]
        if pool.sample_ids is not None:
            np.testing.assert_array_equal(job.sample_ids, pool.sample_ids[union])
        with pytest.raises(dataclasses.FrozenInstanceError):
            job.batch_size = 1  # type: ignore[misc]
    assert str(PoolKey(3)) == "pool:3" and hash(PoolKey(3)) == hash(PoolKey(3)) and PoolKey(3) != SourceKey(3)


def test_local_executor_is_an_object_and_the_string_spec_still_works():
    exe = get_executor("local")
    assert isinstance(exe, LocalExecutor) and isinstance(exe, Executor) and exe.describe() == "local"
    assert get_executor(exe) is exe
    table = score(tiny_sources()[:1], tiny_tasks()[:1], metrics="leep", executor="local", progress=False)
    again = score(tiny_sources()[:1], tiny_tasks()[:1], metrics="leep", executor=LocalExecutor(), progress=False)
    assert table["score"].tolist() == again["score"].tolist() and (table.status == "ok").all()


def test_make_executor_returns_executor_objects():
    from transfergraph.config import parse_config
    from transfergraph.jobs.run import connect_executor, make_executor, runs_on_this_machine

    config = parse_config({"tasks": [{"name": "a"}, {"name": "b"}], "scoring": {"executor": "local"}})
    runner = make_executor(config)
    assert isinstance(runner, LocalExecutor) and not isinstance(runner, str)
    connect_executor(runner, print)  # nothing to connect
    assert runs_on_this_machine(runner)
