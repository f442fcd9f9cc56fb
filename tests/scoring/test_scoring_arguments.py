"""Up-front argument validation of score() and get_executor(): clear InputErrors naming the argument."""
from __future__ import annotations

import pytest

from transfergraph.planner import Source
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.executors import LocalExecutor, get_executor
from transfergraph.planner.scoring import score

from scoring_support import tiny_model, tiny_sources, tiny_tasks


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sources=[]), r"sources must be a non-empty sequence of Source.*empty"),
        (dict(sources="m1"), r"sources must be a non-empty sequence of Source objects; got str"),
        (dict(sources=[object()]), r"sources\[0\] must be a Source; got object"),
        (dict(tasks=[]), r"tasks must be a non-empty sequence of Task"),
        (dict(tasks=None), r"tasks must be a non-empty sequence of Task objects; got NoneType"),
        (dict(metrics=("leep", "nope")), r"metrics contains unknown metric 'nope'; known metrics: \[.*'leep'.*\]"),
        (dict(metrics=()), r"metrics must name at least one metric"),
        (dict(executor="dask"), r"executor must be one of \['local', 'ray'\].*got 'dask'"),
        (dict(executor=3), r"executor must be one of .*got int"),
        (dict(cache=5), r"cache must be a directory path"),
        (dict(progress="yes"), r"progress of score\(\) must be True or False; got 'yes' \(str\)"),
        (dict(seed=1.5), r"seed must be an integer"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs, match):
    args = dict(sources=tiny_sources()[:1], tasks=tiny_tasks()[:1], progress=False)
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        score(**args)


def test_duplicate_names_and_single_objects():
    s = tiny_sources()
    with pytest.raises(InputError, match="sources must have unique names; 'm1' appears more than once"):
        score([s[0], Source("m1", tiny_model(9))], tiny_tasks(), progress=False)
    t = tiny_tasks()
    with pytest.raises(InputError, match="tasks must have unique names; 'A' appears"):
        score(s, [t[0], t[0]], progress=False)
    with pytest.raises(InputError, match=r"Wrap it in a list"):
        score(s[0], t, progress=False)


def test_get_executor():
    assert isinstance(get_executor("local"), LocalExecutor)
    custom = LocalExecutor()
    assert get_executor(custom) is custom
    with pytest.raises(InputError, match=r"workers of get_executor\(\) must be an int >= 1 or None; got 0"):
        get_executor("ray", workers=0)
    with pytest.raises(InputError, match="address applies to the 'ray' executor only"):
        get_executor("local", address="1.2.3.4:6379")
    with pytest.raises(InputError, match="pass them to the executor object itself"):
        get_executor(custom, workers=2)
    from transfergraph.planner.executors import RayExecutor  # importable without starting Ray

    ex = get_executor("ray", address="10.0.0.1:6379", workers=3)
    assert isinstance(ex, RayExecutor) and ex.address == "10.0.0.1:6379" and ex.workers == 3


def test_local_executor_reports_exceptions_per_job():
    class J:
        def __init__(self, i):
            self.i = i
            self.shared_keys = ("k",)

    def fn(job, value):
        if job.i == 1:
            raise KeyError("x")
        return job.i * value

    out = list(LocalExecutor().run(fn, [J(0), J(1), J(2)], {"k": 10}))
    assert [o[1] for o in out if not isinstance(o[1], Exception)] == [0, 20]
    assert isinstance(out[1][1], KeyError)


def test_ray_address_from_environment(monkeypatch):
    from transfergraph.planner.executors import RayExecutor

    monkeypatch.setenv("RAY_ADDRESS", "10.9.8.7:6390")
    assert RayExecutor()._target_address() == "10.9.8.7:6390"
    assert RayExecutor(address="1.2.3.4:1")._target_address() == "1.2.3.4:1"  # explicit wins
    monkeypatch.delenv("RAY_ADDRESS")
    assert RayExecutor()._target_address() is None  # embedded local Ray
    with pytest.raises(InputError, match=r"max_retries of RayExecutor\(\) must be an int >= 0; got -1"):
        RayExecutor(max_retries=-1)


def test_a_source_naming_an_unknown_task_warns_with_the_close_names():
    import numpy as np
    import torch

    from transfergraph.planner import Source, Task, score
    from transfergraph.planner.scoring.validate import SourceTaskWarning

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    rng = np.random.default_rng(0)
    tasks = [Task(n, rng.random((20, 4), dtype=np.float32), np.arange(20) % 2) for n in ("task_A", "task_B")]
    with pytest.warns(SourceTaskWarning, match=r"'task_A_typo', which is not one of the scored tasks \(did you mean"):
        score([Source("m", model, task="task_A_typo")], tasks, progress=False)
