"""Job batches (several jobs of one source in one Ray task): how they are formed, that a failing job
inside one fails only itself (its own exception, or a crash of the whole task), and that scores are
bitwise those of one task per job and of the local executor, whatever the worker count."""
from __future__ import annotations

import sys
from dataclasses import dataclass

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from transfergraph.planner.executors.batching import Batch, plan_batches, run_batch
from transfergraph.planner.executors.ray_dispatch import DispatchStats, dispatch
from transfergraph.planner.executors.retry import RetryPolicy

from scoring_support import COLS

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import test modules
try:  # Ray vendors its own cloudpickle, with its own by-value registry
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover
    pass


@dataclass(frozen=True)
class FakeJob:
    name: str
    batch_key: object = None
    batch_cost: float = 1.0
    shared_keys: tuple = ()
    n_pairs: int = 1


def _names(units) -> list:
    return [[j.name for j in u.jobs] if isinstance(u, Batch) else u.name for u in units]


# ------------------------------------------------------------------------------------------ planning
def test_jobs_of_one_key_are_batched_in_order_within_the_cost_bound():
    jobs = [FakeJob("a0", "a", 9), FakeJob("a1", "a", 1), FakeJob("b0", "b", 8), FakeJob("a2", "a", 1),
            FakeJob("b1", "b", 1), FakeJob("a3", "a", 1), FakeJob("x", None, 1), FakeJob("y", None, 1)]
    total = sum(j.batch_cost for j in jobs)  # 23
    # one slot, 2 batches per slot: bound 11.5 -> a0 + a1 + a2 (11), a3 starts a new batch
    assert _names(plan_batches(jobs, 1, per_slot=2)) == [["a0", "a1", "a2"], ["b0", "b1"], "a3", "x", "y"]
    # two slots, 4 per slot: bound 23 / 8 = 2.875 -> the costly jobs alone, the cheap ones in pairs
    assert total / 8 == 2.875
    assert _names(plan_batches(jobs, 2, per_slot=4)) == ["a0", ["a1", "a2"], "b0", "b1", "a3", "x", "y"]
    # jobs without a key never share a task; a batch never exceeds max_jobs
    many = [FakeJob(f"s{i}", "s") for i in range(7)] + [FakeJob("z")]
    assert _names(plan_batches(many, 1, per_slot=1, max_jobs=3)) == [["s0", "s1", "s2"], ["s3", "s4", "s5"],
                                                                     "s6", "z"]


def test_a_batch_sends_each_shared_object_once_and_maps_every_job_to_its_own():
    a = FakeJob("a", "s", shared_keys=("model", "pool0"))
    b = FakeJob("b", "s", shared_keys=("model", "pool1"))
    c = FakeJob("c", "s", shared_keys=("model", "pool0"))
    batch = Batch.of([a, b, c])
    assert batch.shared_keys == ("model", "pool0", "pool1")
    assert batch.slots == ((0, 1), (0, 2), (0, 1))
    assert batch.n_pairs == 3
    got = run_batch(lambda job, model, pool: (job.name, model, pool), batch, "M", "P0", "P1")
    assert got == [("a", "M", "P0"), ("b", "M", "P1"), ("c", "M", "P0")]


class _Unpicklable(Exception):
    def __init__(self, a, b):  # pickling calls __init__ with one argument: cannot be unpickled
        super().__init__(f"{a}/{b}")


def test_a_job_that_raises_inside_a_batch_fails_only_itself():
    def fn(job):
        if job.name == "bad":
            raise ValueError("bad job")
        if job.name == "odd":
            raise _Unpicklable("x", "y")
        return job.name.upper()

    got = run_batch(fn, Batch.of([FakeJob("a"), FakeJob("bad"), FakeJob("odd"), FakeJob("c")]))
    assert got[0] == "A" and got[3] == "C"
    assert isinstance(got[1], ValueError) and str(got[1]) == "bad job"
    assert type(got[2]) is RuntimeError and str(got[2]) == "_Unpicklable: x/y"  # still travels back


# --------------------------------------------------------------------------------- dispatch (fake Ray)
class _FakeRay:
    """Enough of the ``ray`` module for :func:`dispatch`: a "reference" is a thunk run by ``get``."""

    def wait(self, refs, num_returns, timeout):
        return refs[:1], refs[1:]

    def get(self, ref):
        return ref()

    def cancel(self, ref):
        pass

    def nodes(self):
        return []


def _crashing_submit(crashy: set, calls: list):
    """Tasks whose worker "crashes" when they carry a job named in ``crashy``."""
    from ray.exceptions import WorkerCrashedError

    def submit(unit, options):
        jobs = unit.jobs if isinstance(unit, Batch) else (unit,)
        calls.append([j.name for j in jobs])

        def result():
            if any(j.name in crashy for j in jobs):
                raise WorkerCrashedError()
            return [j.name for j in jobs] if isinstance(unit, Batch) else unit.name
        return result

    return submit


def test_a_batch_whose_worker_dies_is_rerun_one_job_per_task():
    pytest.importorskip("ray")
    jobs = [FakeJob("a"), FakeJob("crash"), FakeJob("c")]
    units = [Batch.of(jobs), FakeJob("d")]
    calls: list = []
    stats = DispatchStats()
    policy = RetryPolicy(base_delay=0.01, max_delay=0.01, deadline=0.3)
    got = list(dispatch(_FakeRay(), _crashing_submit({"crash"}, calls), units, cap=2, policy=policy,
                        stats=stats, poll=0.01, split=lambda u: list(u.jobs) if isinstance(u, Batch) else None))
    results = {job.name: result for job, result in got}
    assert set(results) == {"a", "crash", "c", "d"}  # the batch itself is never yielded
    assert results["a"] == "a" and results["c"] == "c" and results["d"] == "d"
    assert type(results["crash"]).__name__ == "WorkerCrashedError"  # only the crashing job fails
    assert calls[0] == ["a", "crash", "c"] and ["a"] in calls and ["c"] in calls
    assert calls.count(["a"]) == 1 and calls.count(["c"]) == 1  # a job that finished never runs again
    assert stats.retries >= 2 and set(stats.system_failures) == {"WorkerCrashedError"}


def test_a_batch_failing_as_a_whole_for_another_reason_is_rerun_at_once_without_retry():
    jobs = [FakeJob("a"), FakeJob("b")]
    calls: list = []

    def submit(unit, options):
        calls.append(unit)

        def result():
            if isinstance(unit, Batch):
                raise OSError("arguments could not be read")
            return unit.name
        return result

    stats = DispatchStats()
    got = list(dispatch(_FakeRay(), submit, [Batch.of(jobs)], cap=2, policy=RetryPolicy(), stats=stats,
                        poll=0.01, split=lambda u: list(u.jobs) if isinstance(u, Batch) else None))
    assert sorted((j.name, r) for j, r in got) == [("a", "a"), ("b", "b")]
    assert stats.retries == 0 and len(calls) == 3


# ------------------------------------------------------------------------------- scores, on Ray
class PooledNet(nn.Module):
    """Any square input size: conv, adaptive pooling to 2 x 2, two linear layers."""

    def __init__(self, seed: int, n_out: int = 5) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.relu(self.conv(x))))


def refuse_side(side: int):
    """A transform that fails on inputs of one spatial size (one pool) and passes the others."""

    def transform(batch: torch.Tensor) -> torch.Tensor:
        if batch.shape[-1] == side:
            raise ValueError(f"cannot take {side} x {side} inputs")
        return batch

    return transform


def _sources_and_tasks():
    from transfergraph.planner import Source, Task

    rng = np.random.default_rng(0)
    tasks = []
    # one large pool (8 x 8, three overlapping tasks) and three small ones (each its own input size)
    x, y = rng.random((160, 1, 8, 8), dtype=np.float32), rng.integers(0, 4, 160)
    tasks += [Task("big1", x[:120].copy(), y[:120]), Task("big2", x[40:].copy(), y[40:]),
              Task("big3", x[::2].copy(), y[::2])]
    for side in (5, 6, 7):
        tasks.append(Task(f"small{side}", rng.random((24, 1, side, side), dtype=np.float32),
                          rng.integers(0, 3, 24)))
    sources = [Source(f"m{i}", PooledNet(i, n_out=5 + i % 3)) for i in range(4)]
    sources.append(Source("picky", PooledNet(9), transform=refuse_side(6)))
    return sources, tasks


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a[COLS], b[COLS], check_exact=True)  # bitwise


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.parametrize("cached", [False, True], ids=["no-store", "store"])
def test_batched_scores_equal_unbatched_and_local_bitwise_and_failures_stay_per_pair(ray_session, tmp_path, cached):
    from transfergraph.planner.executors import RayExecutor
    from transfergraph.planner.scoring import score

    sources, tasks = _sources_and_tasks()
    metrics = ("leep", "nce", "logme")

    def run(executor, name):
        cache = str(tmp_path / name) if cached else None
        return score(sources, tasks, metrics=metrics, executor=executor, cache=cache, progress=False)

    local = run("local", "local")
    tables = {}
    for workers in (1, 2):
        for batching in (True, False):
            exe = RayExecutor(workers=workers, batching=batching)
            tables[(workers, batching)] = run(exe, f"ray{workers}{batching}")
            n_jobs = len(sources) * 4  # a job per (source, pool)
            if batching:
                assert exe.last_tasks < n_jobs  # some jobs did share a task
            else:
                assert exe.last_tasks == n_jobs
    for table in tables.values():
        _same(table, local)
    bad = (local.source == "picky") & (local.target == "small6")
    assert (local[bad].status == "failed").all() and local[bad].error.str.contains("cannot take 6 x 6").all()
    assert (local[~bad].status == "ok").all(), local[local.status != "ok"].error.tolist()


def test_batching_must_be_a_bool():
    from transfergraph.planner.common.exceptions import InputError
    from transfergraph.planner.executors import RayExecutor

    with pytest.raises(InputError, match="batching"):
        RayExecutor(batching="yes")
    assert RayExecutor().batching is True and RayExecutor(batching=False).batching is False
