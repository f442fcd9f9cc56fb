"""learn2learn episodes: Tasksets over a class pool, and context/query splits."""
from __future__ import annotations

import random
from typing import Sequence

import torch

from transfergraph.planner.common.arguments import check_bool, check_int_sequence, check_scalar
from transfergraph.planner.common.exceptions import InputError

from transfergraph.adapters.meta._optional import require_learn2learn

__all__ = ["make_taskset", "split_episode", "EpisodeSampler"]


def make_taskset(dataset, ways: int, samples_per_class: int, *, num_tasks: int = -1, fused: bool = True):
    """A learn2learn ``Taskset`` of ``ways``-way tasks with ``samples_per_class`` images per class.

    ``dataset`` is a :class:`~transfergraph.adapters.meta.pools.ClassPool` (its precomputed ``labels_to_indices``
    skips learn2learn's slow full scan) or any Dataset of (x, y). Transforms: NWays -> KShots (without
    replacement) -> LoadData -> RemapLabels (labels 0..ways-1). ``fused=True`` uses learn2learn's
    ``FusedNWaysKShots`` (the same distribution in one transform): plain NWays materialises a
    description per image of the chosen classes, which is slow on large classes (timings:
    ``benchmarks/RESULTS.md``, "Timings moved out of docstrings"). Sampling uses Python's ``random``: seed it with
    ``random.seed``. The Taskset cannot be pickled once sampled; build it in the worker.

    ``ways`` and ``samples_per_class`` must be ints >= 1 (``ways`` >= 2) and ``num_tasks`` an int >= 1
    or -1 (unbounded); bools and floats are rejected (InputError naming the argument) before
    learn2learn is touched.
    """
    ways = check_scalar(ways, "ways", int, caller="make_taskset", min_val=2)
    samples_per_class = check_scalar(samples_per_class, "samples_per_class", int, caller="make_taskset", min_val=1)
    num_tasks = check_scalar(num_tasks, "num_tasks", int, caller="make_taskset", min_val=-1)
    if num_tasks == 0:
        raise InputError(f"num_tasks of make_taskset() must be an int >= 1 or -1 (unbounded); got {num_tasks!r} (int).")
    fused = check_bool(fused, "fused", caller="make_taskset")
    l2l = require_learn2learn()
    lti = getattr(dataset, "labels_to_indices", None)
    md = l2l.data.MetaDataset(dataset, labels_to_indices=lti)
    n_classes = len(md.labels)
    if not 2 <= ways <= n_classes:
        raise InputError(f"ways of make_taskset() must be in [2, {n_classes}] (the pool's classes); got {ways}.")
    smallest = min(len(v) for v in md.labels_to_indices.values())
    if samples_per_class > smallest:
        raise InputError(
            f"samples_per_class of make_taskset() (shots + queries per class) must be <= {smallest} "
            f"(the smallest class); got {samples_per_class}."
        )
    tf = l2l.data.transforms
    if fused:
        sampling = [tf.FusedNWaysKShots(md, n=ways, k=samples_per_class)]
    else:
        sampling = [tf.NWays(md, ways), tf.KShots(md, samples_per_class)]
    transforms = sampling + [
        l2l.data.transforms.LoadData(md),
        l2l.data.transforms.RemapLabels(md),
    ]
    return l2l.data.Taskset(md, task_transforms=transforms, num_tasks=num_tasks)


def split_episode(x: torch.Tensor, y: torch.Tensor, shots: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per class, the first ``shots`` samples (in episode order) form the context set, the rest the query set.

    Shapes: x (n, ...), y (n,) -> context_x, context_y, query_x, query_y. ``shots``: an int >= 1.
    """
    shots = check_scalar(shots, "shots", int, caller="split_episode", min_val=1)
    y = torch.as_tensor(y).long().view(-1)
    ctx = torch.zeros(len(y), dtype=torch.bool)
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).view(-1)
        if len(idx) < shots:
            raise InputError(f"episode class {int(c)} has {len(idx)} samples; shots={shots} needs at least that many.")
        ctx[idx[:shots]] = True
    return x[ctx], y[ctx], x[~ctx], y[~ctx]


class EpisodeSampler:
    """Episodes of random domain, way and shot, drawn with ``random.choice`` from ``domains x ways x shots``.

    ``dataset`` is one Dataset or a list of them (domains); each episode comes from a single domain.
    ``ways`` (each >= 2) and ``shots`` (each >= 1) are non-empty sequences of ints and ``queries`` an
    int >= 1 (bools and floats rejected, InputError naming the argument), checked before any
    learn2learn Taskset is built.
    """

    def __init__(self, dataset, ways: Sequence[int], shots: Sequence[int], queries: int) -> None:
        ways = check_int_sequence(ways, "ways", caller="EpisodeSampler", min_val=2)
        shots = check_int_sequence(shots, "shots", caller="EpisodeSampler", min_val=1)
        queries = check_scalar(queries, "queries", int, caller="EpisodeSampler", min_val=1)
        domains = list(dataset) if isinstance(dataset, (list, tuple)) else [dataset]
        self.combos = [(d, w, s) for d in range(len(domains)) for w in ways for s in shots]
        self.tasksets = {(d, w, s): make_taskset(domains[d], w, s + queries) for d, w, s in self.combos}

    def sample(self) -> tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        domain, way, shot = random.choice(self.combos)
        x, y = self.tasksets[(domain, way, shot)].sample()
        return (way,) + split_episode(x, y, shot)
