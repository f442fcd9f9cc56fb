"""A job whose outputs come from the forward-output store streams LEEP, NCE and the H-scores in row
blocks: the scores are bitwise those of the in-memory path, failures read the same, and the job's
peak memory does not grow with the number of samples."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn as nn

from transfergraph.planner import Source, Task
from transfergraph.planner.metrics import REGISTRY
from transfergraph.planner.scoring import score
from transfergraph.planner.scoring import streamed
from transfergraph.planner.scoring.jobs import Job, TargetSpec, run_job
from transfergraph.planner.scoring.keys import PoolKey, SourceKey
from transfergraph.planner.scoring.payload import ModelPayload

from demo_support import demo_sized_run
from scoring_support import COLS, base_data, tiny_sources, tiny_tasks

STREAMED = ("leep", "nce", "h_score", "reg_h_score")
JOB_METRICS = STREAMED + ("logme",)


def _table(tmp_path, name, sources, tasks, metrics, monkeypatch, enabled):
    monkeypatch.setattr(streamed, "ENABLED", enabled)
    df = score(sources, tasks, metrics=metrics, cache=tmp_path / name, progress=False)
    return df.sort_values(["source", "target", "metric"]).reset_index(drop=True)[COLS + ["flag"]]


def test_streamed_scores_are_the_in_memory_table_bitwise_and_logme_to_1e_12(tmp_path, monkeypatch):
    x, y = base_data(seed=3)
    # float labels with more distinct values than n / 2: every metric refuses them (as class ids)
    tasks = tiny_tasks() + [Task("continuous", x[:40].copy(), np.linspace(0.0, 1.0, 40))]
    metrics = STREAMED + ("logme", "transrate")  # transrate does not stream: it reads the whole features
    calls = []
    real = streamed.score_streamed
    monkeypatch.setattr("transfergraph.planner.scoring.jobs.score_streamed",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    on = _table(tmp_path, "on", tiny_sources(), tasks, metrics, monkeypatch, True)
    assert calls, "the store-backed jobs did not stream"
    off = _table(tmp_path, "off", tiny_sources(), tasks, metrics, monkeypatch, False)
    no_store = score(tiny_sources(), tasks, metrics=metrics, progress=False)
    no_store = no_store.sort_values(["source", "target", "metric"]).reset_index(drop=True)[COLS + ["flag"]]
    import pandas as pd

    _assert_tables_equal(on, off)
    _assert_tables_equal(on, no_store)
    assert (on["status"] == "ok").sum() == 3 * 4 * len(metrics)
    failed = on[on["target"] == "continuous"]
    assert (failed["status"] == "failed").all()
    assert failed["error"].str.contains("look like regression targets|continuous", regex=True).all(), failed.error
    assert failed[failed.metric == "leep"]["error"].str.contains(r"leep\(\)").all()


def test_a_target_stored_over_two_runs_streams_from_both_shards(tmp_path, monkeypatch):
    x, y = base_data(seed=5)
    sources = [Source(s.name, s.model) for s in tiny_sources()[:2]]  # no source task: none is scored here
    cache = tmp_path / "cache"
    score(sources, [Task("first", x[:120].copy(), y[:120])], metrics=("leep",), cache=cache, progress=False)
    second = [Task("second", x[60:240][::-1].copy(), y[60:240][::-1].copy())]  # half stored already
    on = _table(tmp_path, "cache", sources, second, JOB_METRICS, monkeypatch, True)
    shards = sorted(cache.glob("forward.v*/*/*.json"))
    assert len(shards) == 2 * len(sources)  # each model: the first run's rows, then the missing ones
    off = score(sources, second, metrics=JOB_METRICS, progress=False)
    _assert_tables_equal(on, off.sort_values(["source", "target", "metric"]).reset_index(drop=True)[COLS + ["flag"]])
    assert (on["status"] == "ok").all()


def _assert_tables_equal(a, b):
    """Bitwise, except LogME's scores: equal to 1e-12 relative (its streamed Gram matrix is summed per
    block, not in one BLAS product); its normalized values are per-target min-max, compared to 1e-9."""
    import pandas as pd

    logme = (a["metric"] == "logme").to_numpy()
    pd.testing.assert_frame_equal(a[~logme], b[~logme], check_exact=True)
    pd.testing.assert_frame_equal(a[logme].drop(columns=["score", "normalized"]),
                                  b[logme].drop(columns=["score", "normalized"]), check_exact=True)
    np.testing.assert_allclose(a[logme]["score"], b[logme]["score"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(a[logme]["normalized"], b[logme]["normalized"], rtol=0, atol=1e-9)


class Poison(nn.Module):
    """NaN rows for inputs whose first value is exactly 9 (so features and logits are NaN there)."""

    def forward(self, x):
        return torch.where(x[:, :1] == 9.0, torch.full_like(x, float("nan")), x)


def _nan_model() -> nn.Module:
    torch.manual_seed(4)
    return nn.Sequential(Poison(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


def test_non_finite_outputs_read_the_same_streamed_or_not(tmp_path, monkeypatch):
    x = np.random.default_rng(0).standard_normal((300, 8)).astype(np.float32)
    x[[270, 280], 0] = 9.0
    src, tasks = [Source("broken", _nan_model())], [Task("t", x[::-1].copy(), np.arange(300) % 3)]
    on = _table(tmp_path, "on", src, tasks, STREAMED, monkeypatch, True)
    off = _table(tmp_path, "off", src, tasks, STREAMED, monkeypatch, False)
    assert (on["status"] == "failed").all()
    assert on["error"].tolist() == [e.replace(str(tmp_path / "off"), str(tmp_path / "on")) for e in off["error"]]
    for err, what in zip(on["error"], ["features", "logits", "logits", "features"]):  # h, leep, nce, reg_h
        assert f"non-finite {what} (NaN or inf) for 2 of the 300 samples" in err and "target sample 19 " in err


def _job(n: int, store_dir: str, z: int = 10, d: int = 128, classes: int = 10):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, classes, n)
    pool = (rng.standard_normal((n, 8)) + labels[:, None] * 0.3).astype(np.float32)
    model = nn.Sequential(nn.Linear(8, d), nn.ReLU(), nn.Linear(d, z))
    target = TargetSpec("t", index=np.arange(n), labels=labels, metrics=tuple((m, None) for m in JOB_METRICS),
                        keys=(None,) * len(JOB_METRICS))
    job = Job(source="m", source_key=SourceKey(0), pool_key=PoolKey(0), targets=(target,),
              metric_objects={m: REGISTRY[m] for m in JOB_METRICS}, union=np.arange(n), batch_size=2048,
              store_dir=store_dir, store_key="k")
    return job, ModelPayload(model, None, None, portable=False), pool


def _peak(job, payload, pool, monkeypatch, enabled: bool) -> tuple[float, list]:
    monkeypatch.setattr(streamed, "ENABLED", enabled)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        rows = run_job(job, payload, pool)
        return tracemalloc.get_traced_memory()[1] - base, rows
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_streamed_job_peak_memory_does_not_grow_with_n(tmp_path, monkeypatch):
    # Z = 10, d = 128: from n = 20,000 on, the covariance's row block (2**21 values, the in-memory
    # kernels' own, so that the sums are bitwise theirs) is full, and nothing else depends on n but
    # the job's per-sample integers
    peaks = {}
    for n in (20_000, 80_000):
        job, payload, pool = _job(n, str(tmp_path / str(n)))
        first = run_job(job, payload, pool)  # forwards into the store; the measured runs read it back
        assert all(r.status == "ok" for r in first)
        peaks[n, True], rows_on = _peak(job, payload, pool, monkeypatch, True)
        peaks[n, False], rows_off = _peak(job, payload, pool, monkeypatch, False)
        assert [(r.metric, r.score) for r in rows_on if r.metric != "logme"] == \
            [(r.metric, r.score) for r in rows_off if r.metric != "logme"]
    assert peaks[80_000, True] < 1.15 * peaks[20_000, True], peaks
    assert peaks[80_000, False] > 2.5 * peaks[20_000, False], peaks
    assert peaks[80_000, True] < 0.25 * peaks[80_000, False], peaks


@pytest.mark.ray
@pytest.mark.slow
def test_a_demo_sized_table_is_bitwise_the_same_streamed_from_the_store_locally_and_on_ray(ray_session, tmp_path):
    # the demo-sized run of test_scoring_bitwise.py (demo_support.py: configs/demo.yaml cut small), whose
    # CLI run has a cache, hence a forward-output store, hence streamed LEEP and NCE
    pytest.importorskip("learn2learn")
    import pandas as pd

    from transfergraph.planner.executors import RayExecutor

    config, tasks, sources = demo_sized_run(tmp_path)
    metrics = tuple(config.scoring.metrics) + ("h_score", "reg_h_score")
    key = ["source", "target", "metric"]
    cols = COLS + ["flag"]

    def table(**kwargs):
        df = score(sources, tasks, metrics=metrics, progress=False, seed=config.seed, **kwargs)
        return df.sort_values(key).reset_index(drop=True)[cols]

    memory = table(executor="local")
    local = table(executor="local", cache=tmp_path / "local")
    ray = table(executor=RayExecutor(workers=2), cache=tmp_path / "ray")
    assert (memory["status"] == "ok").mean() > 0.7
    pd.testing.assert_frame_equal(ray, local, check_exact=True)  # streamed on both executors: bitwise
    _assert_tables_equal(local, memory)
