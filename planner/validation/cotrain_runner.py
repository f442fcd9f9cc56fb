"""Train many multitask networks on an executor, one network per job, resumable from a per-network cache.

Each :class:`~.cotrain_design.NetworkJob` is one call of :func:`train_network`, i.e. one
:func:`~transfergraph.planner.validation.multitask.train_group` run (one torch thread, every random
number derived from the training seed and the task names), so a network's rows do not depend on the
executor, the worker that ran it or the order of completion. The task arrays travel once per run as
NumPy (``ray.put`` by a Ray executor: zero-copy on the workers) and are turned back into tensors inside
each job, the same way for every executor.

Cache: one JSON file per network, ``<cache>/s<seed>/<subset>.json``, written atomically by the driver
as soon as the network's rows arrive (:func:`~transfergraph.planner.common.io.atomic_write_text`). The
cache folder is keyed by the tasks' tensors, the budget and the trunk (:func:`cache_folder`), so a
change to any of them starts a fresh folder. A rerun trains only the networks without a file; a
killed worker or node costs only the networks it was running (the executor resubmits them).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from transfergraph.planner.common.io import atomic_write_text
from transfergraph.planner.validation._common import seeded_torch
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget, arrays_key
from transfergraph.planner.validation.cotrain_design import NetworkJob
from transfergraph.planner.validation.multitask import train_group

__all__ = ["pack_arrays", "unpack_arrays", "train_network", "NetworkCache", "cache_folder", "RunOutcome",
           "run_networks"]

_FIELDS = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")


def pack_arrays(data: Sequence[TaskArrays]) -> dict[str, dict[str, Any]]:
    """``{task: {"n_classes": C, "train_x": ndarray, ...}}``: C-contiguous NumPy copies (picklable, zero-copy on Ray)."""
    return {t.name: {"n_classes": int(t.n_classes),
                     **{f: np.ascontiguousarray(getattr(t, f).numpy()) for f in _FIELDS}} for t in data}


def unpack_arrays(packed: dict[str, dict[str, Any]], names: Sequence[str]) -> list[TaskArrays]:
    """The :class:`TaskArrays` of ``names`` from :func:`pack_arrays` (fresh writable tensors, images channels-last)."""
    import torch

    def tensor(a: np.ndarray):
        t = torch.from_numpy(np.array(a, copy=True))
        return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t

    return [TaskArrays(n, int(packed[n]["n_classes"]), *(tensor(packed[n][f]) for f in _FIELDS)) for n in names]


def train_network(job: NetworkJob, packed: dict, trunk: Callable[[], object]) -> list[dict]:
    """Train ``job``'s network; its members' rows (:data:`~.multitask.SUBSET_COLUMNS`), sorted by task."""
    data = unpack_arrays(packed, job.members)
    rows, _ = train_group(data, list(job.members), seed=job.seed, budget=job.budget, trunk=trunk)
    return sorted(rows, key=lambda r: r["task"])


def cache_folder(root: str | Path, data: Sequence[TaskArrays], budget: TrainBudget, trunk: Callable[[], object]) -> Path:
    """``root/<key>``: the key hashes the tasks' tensors, the budget and the trunk's description."""
    with seeded_torch(0):
        described = repr(trunk())
    return Path(root) / arrays_key(data, budget, described, "cotrain")


class NetworkCache:
    """One JSON file of rows per trained network under ``folder`` (see the module doc)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, job: NetworkJob) -> Path:
        return self.folder / f"s{job.seed}" / f"{job.subset}.json"

    def get(self, job: NetworkJob) -> list[dict] | None:
        """The cached rows of ``job``, or None (missing or unreadable file: the network is trained again)."""
        path = self.path(job)
        if not path.is_file():
            return None
        try:
            rows = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        ok = isinstance(rows, list) and sorted(r.get("task") for r in rows) == sorted(job.members)
        return rows if ok else None

    def put(self, job: NetworkJob, rows: list[dict]) -> None:
        """Write ``job``'s rows atomically (NaN kept as JSON ``NaN``: a diverged network is still a result)."""
        path = self.path(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(rows))


@dataclass
class RunOutcome:
    """What :func:`run_networks` did: rows of every network that has them (job order), the networks
    trained now, those read from the cache, and ``(job key, error)`` of those that failed."""

    rows: list[dict]
    trained: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def run_networks(jobs: Sequence[NetworkJob], data: Sequence[TaskArrays], trunk: Callable[[], object], *,
                 executor: Any, cache: NetworkCache | None = None, progress: bool = False,
                 log: Callable[[str], None] | None = None) -> RunOutcome:
    """Train every job not in ``cache`` on ``executor`` (an object of :mod:`transfergraph.planner.executors`).

    Rows of finished networks are cached at once; a network that fails (its code raised, or its
    worker died more often than the executor's retries allow) is reported in ``failed`` and does not
    stop the others. A progress bar (tqdm) counts networks, cached ones included.
    """
    from tqdm.auto import tqdm

    log = log or (lambda _m: None)
    done: dict[str, list[dict]] = {}
    outcome = RunOutcome(rows=[])
    missing = []
    for job in jobs:
        got = cache.get(job) if cache is not None else None
        if got is None:
            missing.append(job)
        else:
            done[job.key] = got
            outcome.cached.append(job.key)
    if outcome.cached:
        log(f"{len(outcome.cached)} of {len(jobs)} networks read from the cache; training {len(missing)}")
    shared = {"data": pack_arrays(data), "trunk": trunk}
    with tqdm(total=len(jobs), initial=len(outcome.cached), disable=not progress, unit="network",
              desc="co-training") as bar:
        for job, result in executor.run(train_network, missing, shared):
            if isinstance(result, BaseException):
                outcome.failed.append((job.key, f"{type(result).__name__}: {result}"[:300]))
                log(f"network {job.key} failed: {outcome.failed[-1][1]}")
            else:
                if cache is not None:
                    cache.put(job, result)
                done[job.key] = result
                outcome.trained.append(job.key)
            bar.update(1)
    outcome.rows = [r for job in jobs if job.key in done for r in done[job.key]]
    return outcome
