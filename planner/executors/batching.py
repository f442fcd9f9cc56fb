"""Job batches: several small jobs of one source in one executor task, each job still on its own.

A remote task has a fixed cost besides its job's work: Ray's submission and scheduling, the transfer
and unpickling of its arguments, and -- for a scoring job -- rebuilding the source model from its
shipped weights (:class:`~transfergraph.planner.scoring.payload.ModelPayload`). With many small jobs
per source (e.g. every shifted target is a pool of its own, so a source has one job per shift) that
fixed cost rivals the work. A :class:`Batch` carries several jobs with the same ``batch_key`` (the
source: their shared objects include the same model payload, unpickled and loaded once per task).

:func:`plan_batches` groups the jobs, greedily in their order, under two bounds that keep the
benefits of one task per job:

- **balance and loss**: a batch's cost (the sum of its jobs' ``batch_cost``, e.g. rows forwarded)
  stays at most ``total cost / (per_slot x parallel tasks)``, so there are still about ``per_slot``
  tasks per worker slot to keep every worker busy, and a task lost with its node costs at most that
  share of the run; a job costlier than that alone runs alone;
- **size**: at most ``max_jobs`` jobs per batch.

:func:`run_batch` runs the jobs one after another and returns, per job, its result or the exception
it raised (a failing job fails only itself). Each job runs exactly as it would alone, so results do
not depend on the batching (nor, therefore, on the number of workers, which sets the bound). When a
whole batch task fails (its worker or node died, its arguments could not be read), the executor
reruns its jobs one per task (:mod:`.ray_dispatch`), so a job that kills its worker still fails
only its own pairs.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

__all__ = ["Batch", "plan_batches", "run_batch", "PER_SLOT", "MAX_JOBS"]

PER_SLOT = 4  # batches per parallel slot the cost bound aims at (at least)
MAX_JOBS = 32  # most jobs in one batch


@dataclass(frozen=True, eq=False)
class Batch:
    """Jobs that run in one task.

    ``shared_keys`` are the distinct shared keys of the jobs, in order of first use (each shared object
    travels once per task); ``slots[i]`` are the positions in ``shared_keys`` of job ``i``'s own keys.
    """

    jobs: tuple[Any, ...]
    shared_keys: tuple[Hashable, ...]
    slots: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, jobs: Sequence[Any]) -> "Batch":
        keys: dict[Hashable, int] = {}
        slots = []
        for job in jobs:
            slots.append(tuple(keys.setdefault(k, len(keys)) for k in getattr(job, "shared_keys", ())))
        return cls(tuple(jobs), tuple(keys), tuple(slots))

    @property
    def n_pairs(self) -> int:
        return sum(getattr(j, "n_pairs", 1) for j in self.jobs)


def _cost(job: Any) -> float:
    return max(float(getattr(job, "batch_cost", 1)), 0.0)


def plan_batches(jobs: Sequence[Any], parallel: int, *, per_slot: int = PER_SLOT,
                 max_jobs: int = MAX_JOBS) -> list[Any]:
    """The tasks to run: each job alone, or in a :class:`Batch` with later jobs of its ``batch_key``.

    Jobs without a ``batch_key`` (or with None) always run alone. Going through ``jobs`` in order,
    a job joins the open batch of its key while that batch stays within ``max_jobs`` jobs and the
    cost bound ``sum(batch_cost) / (per_slot * parallel)`` (see the module docstring); otherwise it
    opens a new one. Batches of one job are returned as the job itself. Order: by first job.

    Cost: O(len(jobs)).
    """
    parallel = max(int(parallel), 1)
    costs = [_cost(j) for j in jobs]
    bound = sum(costs) / (max(int(per_slot), 1) * parallel)
    groups: list[list[int]] = []
    spent: list[float] = []
    open_group: dict[Hashable, int] = {}
    for i, job in enumerate(jobs):
        key = getattr(job, "batch_key", None)
        g = open_group.get(key) if key is not None else None
        if g is None or len(groups[g]) >= max_jobs or spent[g] + costs[i] > bound:
            g = len(groups)
            groups.append([])
            spent.append(0.0)
            if key is not None:
                open_group[key] = g
        groups[g].append(i)
        spent[g] += costs[i]
    return [jobs[g[0]] if len(g) == 1 else Batch.of([jobs[i] for i in g]) for g in groups]


def _portable(exc: Exception) -> Exception:
    """``exc``, or a RuntimeError with its type and message when it cannot be pickled back."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any pickling failure
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def run_batch(fn: Callable[..., Any], batch: Batch, *shared: Any) -> list[Any]:
    """``fn(job, *its shared objects)`` for each job of ``batch``, in order: a list holding each
    job's result, or the exception it raised (never raised here)."""
    results: list[Any] = []
    for job, slots in zip(batch.jobs, batch.slots):
        try:
            results.append(fn(job, *[shared[s] for s in slots]))
        except Exception as exc:  # noqa: BLE001 - one failing job fails only itself
            results.append(_portable(exc))
    return results
