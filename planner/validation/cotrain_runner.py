"""Train many multitask networks on an executor, one network per job, resumable from a per-network cache.

Each :class:`~.cotrain_design.NetworkJob` is one call of :func:`train_network`, i.e. one
:func:`~transfergraph.planner.validation.multitask.train_group` run (one torch thread, every random
number derived from the training seed and the task names), so a network's rows do not depend on the
executor, the worker that ran it or the order of completion. The task arrays travel once per run as
NumPy (``ray.put`` by a Ray executor: zero-copy on the workers) and are turned back into tensors inside
each job, the same way for every executor.

Cache: one JSON file per network, written atomically by the driver as soon as the network's rows arrive
(:func:`~transfergraph.planner.common.io.atomic_write_text`). A :class:`NetworkCache` given the tasks and
the trunk keys each file by exactly what the network's rows depend on, ``<cache>/s<seed>/<subset>.<key>.json``
with ``key`` = :func:`network_key` (the members' tensors, the budget and the trunk's description): a
network does not depend on the other tasks of the run, so ``transfergraph group`` and ``validate
--decisions`` (:mod:`~transfergraph.planner.validation.decision_prefill`), which train the same networks
with the same trainer, share the files of one folder and neither trains what the other has. Without
them, files are ``<cache>/s<seed>/<subset>.json`` in a folder the caller keys (:func:`cache_folder`: the
tasks' tensors, the budget and the trunk). A rerun trains only the networks without a file; a killed
worker or node costs only the networks it was running (the executor resubmits them).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.io import atomic_write_text
from transfergraph.planner.validation._common import seeded_torch
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget, arrays_key
from transfergraph.planner.validation.cotrain_design import NetworkJob
from transfergraph.planner.validation.multitask import train_group

__all__ = ["shared_network_cache", "pack_arrays", "unpack_arrays", "train_network", "NetworkCache", "cache_folder", "network_key",
           "RunOutcome", "run_networks"]

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
    return Path(root) / arrays_key(data, budget, _described(trunk), "cotrain")


def _described(trunk: Callable[[], object]) -> str:
    with seeded_torch(0):
        return repr(trunk())


def network_key(member_digests: Sequence[str], budget: TrainBudget, described: str) -> str:
    """The cache key of one network: a hash of its members' tensor digests (``arrays_key([task])`` of each
    member, in sorted-name order), the budget's fields and the trunk's description. The training seed is
    the file's folder; nothing else enters the network's rows (:func:`train_network`)."""
    from transfergraph.planner.common.fingerprint import arrays_key as content_key

    return content_key("network", *member_digests, repr(asdict(budget)), described)


def shared_network_cache(out, data, trunk) -> "NetworkCache":
    """``OUT/cache/cotrain``: the per-network cache that ``transfergraph group`` and ``transfergraph validate
    --decisions`` share, keyed by each network's members' tensors, budget and trunk (:class:`NetworkCache`)."""
    from pathlib import Path

    return NetworkCache(Path(out) / "cache" / "cotrain", data=data, trunk=trunk)


class NetworkCache:
    """One JSON file of rows per trained network under ``folder`` (see the module doc).

    With ``data`` (the tasks the jobs draw their members from) and ``trunk``, a file's name holds the
    network's own :func:`network_key`, so caches of runs over different task sets share their common
    networks; without them the caller keys ``folder`` (:func:`cache_folder`).
    """

    def __init__(self, folder: str | Path, *, data: Sequence[TaskArrays] | None = None,
                 trunk: Callable[[], object] | None = None) -> None:
        self.folder = Path(folder)
        if (data is None) != (trunk is None):
            raise InputError("data and trunk of NetworkCache() are given together or not at all; got "
                             f"data={'None' if data is None else 'tasks'} and trunk={trunk!r}.")
        self._digests = None if data is None else {t.name: arrays_key([t]) for t in data}
        self._described = None if trunk is None else _described(trunk)

    def path(self, job: NetworkJob) -> Path:
        if self._digests is None:
            return self.folder / f"s{job.seed}" / f"{job.subset}.json"
        key = network_key([self._digests[m] for m in sorted(job.members)], job.budget, self._described)
        return self.folder / f"s{job.seed}" / f"{job.subset}.{key}.json"

    def holds(self, job: NetworkJob) -> bool:
        """Whether this cache can name ``job``'s file (a keyed cache knows only the tasks it was given)."""
        return self._digests is None or all(m in self._digests for m in job.members)

    def get(self, job: NetworkJob) -> list[dict] | None:
        """The cached rows of ``job``, or None (missing or unreadable file: the network is trained again)."""
        if not self.holds(job):
            return None
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
        if not self.holds(job):
            return
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
