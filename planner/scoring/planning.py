"""What ``score()`` still has to compute: cached pairs read back as rows, the others grouped into jobs.

One job per (source, pool) holds every target of that pool with at least one (metric) pair missing
from the cache. Each :class:`~.jobs.Job` is built here complete (targets, forward options, store
entry, the rows it forwards) and never changed afterwards.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from transfergraph.planner.inputs.task import Source
from transfergraph.planner.storage.cache import ScoreCache
from transfergraph.planner.storage.output_store import store_key
from transfergraph.planner.scoring.compute import ComputeOptions
from transfergraph.planner.scoring.jobs import Job, TargetSpec, union_rows
from transfergraph.planner.scoring.keys import SCORING_VERSION, PoolKey, SourceKey, metric_seed, pair_key
from transfergraph.planner.scoring.pools import Pool, TaskView
from transfergraph.planner.scoring.reference import RefSpec, data_fingerprint
from transfergraph.planner.scoring.rows import ScoreRow

__all__ = ["plan_jobs", "cached_row"]


@dataclass
class _Draft:
    """The parts of one (source, pool) job gathered while walking the targets."""

    source: str
    model_fp: str | None
    reference: RefSpec | None
    targets: list[TargetSpec] = field(default_factory=list)


def cached_row(source: str, target: str, name: str, metric: Any, hit: Mapping[str, Any]) -> ScoreRow:
    """The ok row of a pair read back from the score cache (``hit``: its stored record)."""
    return ScoreRow.ok(
        source, target, name, score=hit["score"], flag=hit.get("flag", ""), seconds=hit.get("seconds", 0.0),
        metric_version=hit.get("metric_version", ""), cached=True,
        extra={c: hit.get(c) for c in getattr(metric, "columns", ())},
    )


def plan_jobs(
    sources: Sequence[Source],
    views: Sequence[TaskView],
    pools: Sequence[Pool],
    metric_objects: Mapping[str, Any],
    *,
    seed: int,
    store: ScoreCache | None,
    threads: int | None,
    compute: ComputeOptions,
    cache_dir: str | None,
    refs: Mapping[str, RefSpec] | None = None,
    allowed: set[tuple[str, str]] | None = None,
) -> tuple[list[ScoreRow], list[Job]]:
    """Cached rows, and one complete job per (source, pool) holding the pairs still to compute (only
    the (source, target) pairs in ``allowed`` when given).

    Every seeded metric gets one seed per target, ``metric_seed(seed, "", target)``, shared by its
    sources: identical features get identical scores. Jobs come in (source, first target of the
    pool) order.
    """
    refs = refs or {}
    rows: list[ScoreRow] = []
    drafts: dict[tuple[int, int], _Draft] = {}
    for si, s in enumerate(sources):
        model_fp = s.model_fingerprint() if store is not None else None  # a ModelRef's: computed once
        for v in views:
            if allowed is not None and (s.name, v.task.name) not in allowed:
                continue
            todo: list[tuple[str, int | None]] = []
            keys: list[str | None] = []
            for name, metric in metric_objects.items():
                mseed = metric_seed(seed, "", v.task.name) if getattr(metric, "seeded", False) else None
                data_fp = data_fingerprint(v.fingerprint, metric, refs.get(s.name))
                key = pair_key(model_fp, data_fp, metric, mseed) if store is not None else None
                hit = store.get(key) if store is not None else None
                if hit is not None:
                    rows.append(cached_row(s.name, v.task.name, name, metric, hit))
                    continue
                todo.append((name, mseed))
                keys.append(key)
            if not todo:
                continue
            draft = drafts.get((si, v.pool))
            if draft is None:
                draft = drafts[(si, v.pool)] = _Draft(s.name, model_fp, _job_reference(refs.get(s.name), v))
            draft.targets.append(TargetSpec(v.task.name, v.index, v.task.labels, tuple(todo), tuple(keys)))
    jobs = [
        _job(SourceKey(si), pools[pool], draft, metric_objects, threads, compute, cache_dir)
        for (si, pool), draft in drafts.items()
    ]
    return rows, jobs


def _job(source_key: SourceKey, pool: Pool, draft: _Draft, metric_objects: Mapping[str, Any], threads: int | None,
         compute: ComputeOptions, cache_dir: str | None) -> Job:
    """The frozen job of ``draft``, with its forward options and (with a cache) its store entry."""
    metric_objects = dict(metric_objects)
    union = union_rows(draft.targets, metric_objects, draft.reference)
    store_dir = key = sample_ids = None
    if cache_dir is not None and draft.model_fp is not None:
        store_dir = os.path.abspath(cache_dir)
        key = store_key(draft.model_fp, pool.identity, SCORING_VERSION)
        if pool.sample_ids is not None:
            sample_ids = pool.sample_ids[union]
    return Job(
        source=draft.source, source_key=source_key, pool_key=PoolKey(pool.id), targets=tuple(draft.targets),
        metric_objects=metric_objects, union=union, threads=threads, reference=draft.reference,
        batch_size=compute.batch_size, device=compute.device, num_workers=compute.num_workers,
        store_dir=store_dir, store_key=key, sample_ids=sample_ids, model_fp=draft.model_fp,
    )


def _job_reference(spec: RefSpec | None, view: TaskView) -> RefSpec | None:
    """The source's reference as seen by its job on ``view``'s pool (it must share that pool)."""
    if spec is None or spec.kind != "task" or spec.pool == view.pool:
        return spec
    return RefSpec("none", error=(
        f"reference task {spec.name!r} has inputs of another per-sample shape or dtype than target "
        f"{view.task.name!r}; a reference must go through the model like the targets"))
