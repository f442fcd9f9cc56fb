"""Train the decision-validation tables on every worker of an executor, ahead of the serial judge.

:func:`~transfergraph.planner.validation.decision_run.validate_decisions` trains its ground truth one
network after another in the calling process: every subset network of each seed
(:func:`~transfergraph.planner.validation.multitask.subset_table`) and every order, one first task at a
time (:func:`~transfergraph.planner.validation.continual.orders_table`). Both read back what their cache
folder already holds. :func:`prefill_decision_tables` fills exactly those cache files -- same folders,
same file names, same contents -- with one executor job per subset network and one per (seed, learner,
first task) subtree of orders, so that the judge afterwards only reads. Each job is the same
deterministic computation the serial path runs (one torch thread, seeds from the training seed and the
task names), so the tables, and every number judged from them, are the same whatever the executor and
its worker count. Jobs whose file exists are skipped (a killed run resumes); a failed job is reported
and left to the serial path, which trains it again in process.

With a ``networks`` cache (a keyed :class:`~transfergraph.planner.validation.cotrain_runner.NetworkCache`,
the one ``transfergraph group`` trains into), every subset network's rows are also written there, and a
subset network of two or more tasks found there is copied into its table file instead of being trained
(a singleton is trained all the same: the judge needs its weights, which that cache does not keep). A
subset network is the same computation as ``group``'s network of the same members, seed, budget and
trunk (:func:`~transfergraph.planner.validation.multitask.train_group` on the members' arrays), so the
rows are the same whichever command trained them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

from transfergraph.planner.common.io import atomic_write_text, atomic_write_with
from transfergraph.planner.validation._common import seeded_torch, torch_threads
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget, arrays_key, make_trunk
from transfergraph.planner.validation.cotrain_runner import pack_arrays, unpack_arrays
from transfergraph.planner.validation.multitask import subset_name, train_group

__all__ = ["SubsetJob", "OrderJob", "prefill_decision_tables", "run_table_job", "PrefillOutcome"]


@dataclass(frozen=True)
class SubsetJob:
    """One subset network of :func:`subset_table` (``path``: its JSON rows; ``model_path``: the singleton's weights)."""

    seed: int
    members: tuple[str, ...]
    budget: TrainBudget
    path: str
    model_path: str | None = None
    shared_keys: ClassVar[tuple[str, ...]] = ("data", "trunk")


@dataclass(frozen=True)
class OrderJob:
    """Every order of ``names`` that starts with ``first`` (one cache CSV of :func:`orders_table`)."""

    seed: int
    learner: str
    first: str
    names: tuple[str, ...]
    budget: TrainBudget
    path: str
    shared_keys: ClassVar[tuple[str, ...]] = ("data", "trunk")


def run_table_job(job: SubsetJob | OrderJob, packed: dict, trunk: Callable[[], object]) -> Any:
    """Run one job: (rows, singleton state dict as NumPy or None) for a subset; the CSV text for an order subtree."""
    import pandas as pd

    if isinstance(job, SubsetJob):
        from torch import nn

        data = unpack_arrays(packed, job.members)
        rows, model = train_group(data, list(job.members), seed=job.seed, budget=job.budget, trunk=trunk,
                                  keep_model=job.model_path is not None)
        state = None
        if model is not None:
            net = nn.Sequential(model[0], model[1][job.members[0]]).eval()
            state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        return rows, state
    from transfergraph.planner.validation.continual import ORDER_COLUMNS, _first_subtree

    data = unpack_arrays(packed, job.names)
    by_name = {t.name: t for t in data}
    stages: list[dict] = []
    with torch_threads(1):
        body, dim = make_trunk(trunk, job.seed, data[0].train_x)
        kw = {"seed": job.seed, "budget": job.budget, "replay": job.learner == "replay", "dim": dim}
        _first_subtree(body, job.first, by_name, list(job.names), kw, stages, job.learner)
    return pd.DataFrame(stages, columns=ORDER_COLUMNS).to_csv(index=False)


def _save(job: SubsetJob | OrderJob, result: Any) -> None:
    if isinstance(job, OrderJob):
        Path(job.path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(job.path, result)
        return
    import json

    import torch

    rows, state = result
    Path(job.path).parent.mkdir(parents=True, exist_ok=True)
    if job.model_path is not None:
        tensors = {k: torch.from_numpy(v.copy()) for k, v in state.items()}  # Ray hands back read-only arrays
        atomic_write_with(job.model_path, lambda tmp: torch.save(tensors, tmp))
    atomic_write_text(job.path, json.dumps(rows))


@dataclass
class PrefillOutcome:
    """Jobs run now, jobs whose files were already there, and ``(job, error)`` of failed jobs."""

    trained: int = 0
    cached: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    shared: int = 0  #: of ``cached``: subset networks copied from the shared ``networks`` cache


def _described(trunk: Callable[[], object]) -> str:
    with seeded_torch(0):
        return repr(trunk())


def _jobs(data, *, seeds, curriculum_seeds, trunk, grouping_budget, curriculum_budget, n_curr, learners, caches):
    described = _described(trunk)
    names = [t.name for t in data]
    out: list = []
    for s in list(seeds) + [s for s in curriculum_seeds if s not in seeds]:
        folder = Path(caches["grouping"]) / arrays_key(data, grouping_budget, described, s)
        top = len(names) if s in seeds else 1
        for size in range(1, top + 1):
            for members in combinations(sorted(names), size):
                model = str(folder / f"single-{members[0]}.pt") if size == 1 else None
                out.append(SubsetJob(int(s), members, grouping_budget, str(folder / f"{subset_name(members)}.json"), model))
    cdata = list(data[:n_curr])
    cnames = tuple(t.name for t in cdata)
    for learner in learners:
        for s in curriculum_seeds:
            folder = Path(caches["curriculum"]) / arrays_key(cdata, curriculum_budget, described, s, learner)
            out += [OrderJob(int(s), learner, first, cnames, curriculum_budget, str(folder / f"{first}.csv"))
                    for first in cnames]
    return out


def _network(job: SubsetJob):
    from transfergraph.planner.validation.cotrain_design import NetworkJob

    return NetworkJob(job.seed, tuple(sorted(job.members)), job.budget)


def _share(job: SubsetJob, networks) -> None:
    """Write ``job``'s table rows into the shared ``networks`` cache unless it holds them already."""
    import json

    net = _network(job)
    if networks.get(net) is None:
        networks.put(net, json.loads(Path(job.path).read_text()))


def _copy_shared(job, networks) -> bool:
    """Fill a subset table file of two or more tasks from the shared cache; True when it was there."""
    if networks is None or not isinstance(job, SubsetJob) or job.model_path is not None:
        return False
    import json

    rows = networks.get(_network(job))
    if rows is None:
        return False
    Path(job.path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(job.path, json.dumps(rows))
    return True


def _done(job) -> bool:
    return Path(job.path).is_file() and (getattr(job, "model_path", None) is None or Path(job.model_path).is_file())


def prefill_decision_tables(data: Sequence[TaskArrays], *, seeds: Sequence[int], trunk: Callable[[], object],
                            grouping_budget: TrainBudget, curriculum_budget: TrainBudget, n_curr: int,
                            learners: Sequence[str], cache: str | Path | dict, executor: Any,
                            curriculum_seeds: Sequence[int] | None = None, progress: bool = False,
                            log: Callable[[str], None] | None = None, networks: Any = None) -> PrefillOutcome:
    """Fill ``cache`` with the tables :func:`validate_decisions` will read (same arguments as it takes).

    ``cache``: a folder (tables under ``grouping/`` and ``curriculum/``) or {"grouping": dir, "curriculum": dir};
    ``executor``: an object of :mod:`transfergraph.planner.executors` (every worker runs jobs);
    ``data``: the grouping tasks, of which the first ``n_curr`` are the curriculum tasks;
    ``networks``: a keyed NetworkCache shared with ``transfergraph group`` (module doc), or None.
    """
    from tqdm.auto import tqdm

    log = log or (lambda _m: None)
    caches = dict(cache) if isinstance(cache, dict) else {p: Path(cache) / p for p in ("grouping", "curriculum")}
    c_seeds = list(seeds) if curriculum_seeds is None else list(curriculum_seeds)
    jobs = _jobs(list(data), seeds=list(seeds), curriculum_seeds=c_seeds, trunk=trunk, grouping_budget=grouping_budget,
                 curriculum_budget=curriculum_budget, n_curr=n_curr, learners=list(learners), caches=caches)
    for job in jobs:  # what an earlier run left in its table files is offered to `group` as well
        if networks is not None and isinstance(job, SubsetJob) and _done(job):
            _share(job, networks)
    copied = [j for j in jobs if not _done(j) and _copy_shared(j, networks)]
    missing = [j for j in jobs if not _done(j)]
    outcome = PrefillOutcome(cached=len(jobs) - len(missing), shared=len(copied))
    if outcome.cached:
        log(f"{outcome.cached} of {len(jobs)} training jobs read from the cache"
            + (f" ({outcome.shared} networks from the network cache shared with `transfergraph group`)"
               if outcome.shared else ""))
    shared = {"data": pack_arrays(data), "trunk": trunk}
    with tqdm(total=len(jobs), initial=outcome.cached, disable=not progress, unit="job", desc="decision tables") as bar:
        for job, result in executor.run(run_table_job, missing, shared):
            if isinstance(result, BaseException):
                what = f"s{job.seed} " + (job.first + "..." if isinstance(job, OrderJob) else "+".join(job.members))
                outcome.failed.append((what, f"{type(result).__name__}: {result}"[:300]))
                log(f"training job {what} failed ({outcome.failed[-1][1]}); it is retried in this process")
            else:
                _save(job, result)
                if networks is not None and isinstance(job, SubsetJob):
                    _share(job, networks)
                outcome.trained += 1
            bar.update(1)
    return outcome
