"""learn2learn task datasets as planner targets: each episode becomes a ``transfergraph.planner.Task``."""
from __future__ import annotations

import random
from typing import Any, Iterable

import numpy as np
import torch

from transfergraph.planner import Task
from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.task import as_numpy

__all__ = ["tasks_from_taskset"]


def _episodes(source: Any, n_tasks: int) -> list[tuple[Any, Any]]:
    if hasattr(source, "sample_task_description"):  # a learn2learn Taskset
        num = getattr(source, "num_tasks", -1)
        if num != -1 and num < n_tasks:
            raise InputError(f"n_tasks is {n_tasks} but the Taskset holds only num_tasks={num}.")
        return [source[i] for i in range(n_tasks)]
    episodes = list(source) if isinstance(source, Iterable) else None
    if episodes is None:
        raise InputError(f"taskset_or_episodes must be a learn2learn Taskset or a list of (x, y) episodes; got {type(source).__name__}.")
    if len(episodes) < n_tasks:
        raise InputError(f"n_tasks is {n_tasks} but only {len(episodes)} episodes were given.")
    return episodes[:n_tasks]


def _split(x: np.ndarray, y: np.ndarray, shots: int, queries: int, name: str) -> tuple[np.ndarray, ...]:
    ctx, qry = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) < shots + queries:
            raise InputError(f"episode {name!r}: class {c} has {len(idx)} samples; shots + queries = {shots + queries} needed.")
        ctx.extend(idx[:shots])
        qry.extend(idx[shots:shots + queries])
    ctx, qry = np.sort(np.asarray(ctx, dtype=np.int64)), np.sort(np.asarray(qry, dtype=np.int64))
    return x[ctx], y[ctx], x[qry], y[qry]


def tasks_from_taskset(taskset_or_episodes: Any, *, n_tasks: int, shots: int, queries: int, seed: int = 0,
                       prefix: str = "episode") -> list[Task]:
    """Turn learn2learn episodes into planner targets.

    Parameters
    ----------
    taskset_or_episodes : learn2learn Taskset or sequence of (x, y) episodes
        A Taskset is indexed ``0..n_tasks-1`` after ``random.seed(seed)``, so the same seed gives the
        same tasks (a ``num_tasks=N`` Taskset also caches them). Each episode needs at least
        ``shots + queries`` samples per class (build it with ``KShots(k=shots + queries)``).
    n_tasks, shots, queries : int
        Tasks to make; per class, the first ``shots`` samples form the Task's inputs/labels (the context
        set) and the next ``queries`` its test split (``queries=0``: no test split).
    seed : int
    prefix : str
        Tasks are named ``f"{prefix}-{i:03d}"``.

    Returns
    -------
    list of transfergraph.planner.Task
    """
    for name, value, low in (("n_tasks", n_tasks, 1), ("shots", shots, 1), ("queries", queries, 0)):
        check_scalar(value, name, int, caller="tasks_from_taskset", min_val=low)
    seed = check_scalar(seed, "seed", int, caller="tasks_from_taskset")
    state = random.getstate()
    random.seed(seed)
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        episodes = _episodes(taskset_or_episodes, n_tasks)
    finally:
        random.setstate(state)
        torch.random.set_rng_state(torch_state)
    tasks = []
    for i, episode in enumerate(episodes):
        name = f"{prefix}-{i:03d}"
        if not isinstance(episode, (tuple, list)) or len(episode) < 2:
            raise InputError(f"episode {i} must be a pair (x, y); got {type(episode).__name__}.")
        x, y = as_numpy(episode[0]), as_numpy(episode[1]).reshape(-1)
        cx, cy, qx, qy = _split(x, y, shots, queries, name)
        if queries:
            tasks.append(Task(name, cx, cy, test_inputs=qx, test_labels=qy))
        else:
            tasks.append(Task(name, cx, cy))
    return tasks
