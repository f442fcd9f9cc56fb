"""``score()``: every (source, target, metric) transferability score, as one table.

Flow: validate -> content pools (:mod:`.pools`) -> cache look-up (:mod:`transfergraph.planner.storage.cache`) -> one job
per (source, pool) with the missing pairs (:mod:`.jobs`) -> executor (:mod:`transfergraph.planner.executors`) ->
rows appended to the cache as they arrive -> table with per-target normalization (:mod:`.table`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from transfergraph.planner.common.arguments import check_bool
from transfergraph.planner.storage.cache import ScoreCache
from transfergraph.planner.executors import get_executor
from transfergraph.planner.common.fingerprint import combine, model_fingerprint
from transfergraph.planner.common.seeds import derive_seed as _derive
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.scoring.collect import collect_rows
from transfergraph.planner.scoring.compute import check_compute
from transfergraph.planner.scoring.outputs import attach_forward_options
from transfergraph.planner.scoring.jobs import Job, TargetSpec, failed_rows, run_job
from transfergraph.planner.scoring.payload import ModelPayload
from transfergraph.planner.scoring.pools import build_pools
from transfergraph.planner.scoring.reference import RefSpec, data_fingerprint, reference_tasks, resolve_references
from transfergraph.planner.scoring.table import build_table
from transfergraph.planner.scoring.validate import check_cache, check_metrics, check_seed, check_sources_tasks

__all__ = ["score", "derive_seed", "pair_key", "SCORING_VERSION"]

#: Bumped whenever what a score means changes (forward semantics, log-softmax precision, ...):
#: part of every cache key, so older cached pairs are not reused.
SCORING_VERSION = "2"  # 2: conv models on the CPU run channels-last (forward.py)


def _metrics_module() -> Any:
    from transfergraph.planner import metrics

    return metrics


def derive_seed(seed: int, source: str, target: str) -> int:
    """Seed of a seeded metric for one pair: a 32-bit digest of (seed, source name, target name)."""
    return _derive(seed, source, target, scheme="digest32")


def pair_key(model_fp: str, data_fp: str, metric: Any, seed: int | None) -> str:
    """Cache key of one (model, target data, metric) triple."""
    return combine(
        "pair", SCORING_VERSION, model_fp, data_fp, metric.name, getattr(metric, "version", ""),
        "-" if seed is None else seed,
    )


def score(
    sources: Sequence[Source],
    tasks: Sequence[Task],
    *,
    metrics: str | Sequence[str] = ("leep",),
    executor: Any = "local",
    cache: Any = None,
    progress: bool = True,
    seed: int = 0,
    batch_size: int | None = None,
    device: str | None = None,
    num_workers: int = 0,
) -> pd.DataFrame:
    """Score every source against every task with every metric.

    Parameters
    ----------
    sources : sequence of Source
        Unique names. A source whose ``task`` is a target's name is still scored on it.
    tasks : sequence of Task
        Unique names.
    metrics : str or sequence of str
        Names from ``transfergraph.planner.metrics.REGISTRY``.
    executor : "local", "ray" or an executor object
        See :func:`transfergraph.planner.executors.get_executor`. ``"ray"`` starts (or reuses) an embedded local
        Ray, or connects to ``$RAY_ADDRESS``.
    cache : str or os.PathLike, optional
        Directory of a durable score cache; pairs already scored there (same model weights, data,
        metric version and seed) are read back, and new pairs are appended as they finish. The
        forward outputs (logits, features) of each (model, dataset) are kept there too
        (:mod:`transfergraph.planner.storage.output_store`): a new metric or a new target cut from the same data reads
        them back instead of forwarding the model again.
    progress : bool
        Show a progress bar (stderr) advancing per (source, target) pair.
    seed : int
        Base seed of seeded metrics; every pair on a target gets ``derive_seed(seed, "", target)``
        (the same for all its sources, so two sources with the same features score the same).
    batch_size : int, optional
        Samples per forward batch (default 256).
    device : str, optional
        Where models run: ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (default: where each model's
        parameters are; on Ray, reserve GPUs with ``RayExecutor(gpus_per_task=...)``).
    num_workers : int
        DataLoader reader processes per job for lazy tasks (default 0: the job reads itself).

    Returns
    -------
    pandas.DataFrame
        One row per (source, target, metric), sorted by them, with columns
        ``source, source_task, target, metric, score, normalized, n_samples, n_classes, status,
        error, flag, seconds, label_entropy, metric_version, cached``. Failed pairs have ``status``
        "failed", NaN ``score``/``normalized`` and an ``error`` text; they never stop the run.
        ``flag`` is "" for a score inside its metric's regime of validity, else a short reason
        (``Metric.regime``, e.g. ``"degenerate: n <= d + 1 ..."``); flagged rows keep status "ok".

    Raises
    ------
    InputError
        For invalid arguments (the message names the argument).
    ExecutorError
        When the executor cannot start or reach its workers.
    CacheError
        When the cache directory cannot be used.

    Notes
    -----
    Each source forwards each distinct input sample at most once per call: tasks are grouped into
    pools by content, and one job per (source, pool) forwards the union of its targets' samples.
    """
    mod = _metrics_module()
    registry = mod.REGISTRY
    sources, tasks = check_sources_tasks(sources, tasks)
    names = check_metrics(metrics, registry)
    cache_dir = check_cache(cache)
    seed = check_seed(seed)
    compute = check_compute(batch_size, device, num_workers)
    check_bool(progress, "progress", caller="score")
    exe = get_executor(executor)
    metric_objects = {n: registry[n] for n in names}
    refs_needed = any(m.input == "features+reference" for m in metric_objects.values())
    extra_tasks = reference_tasks(sources, tasks) if refs_needed else []
    pools, views = build_pools(list(tasks) + extra_tasks)
    refs = resolve_references(sources, views) if refs_needed else {}
    views = views[:len(tasks)]  # reference-only tasks are pooled (forwarded with the targets), not scored
    info = {
        v.task.name: {
            "n_samples": v.task.n_samples, "n_classes": v.task.n_classes,
            "label_entropy": float(mod.label_entropy(v.task.labels)),
        }
        for v in views
    }
    source_task = {s.name: s.task or "" for s in sources}
    store = ScoreCache(cache_dir) if cache_dir is not None else None
    try:
        rows, jobs = _plan(sources, views, metric_objects, seed, store, exe.threads_per_task, refs)
        attach_forward_options(jobs, pools, compute, cache_dir)
        shared: dict[str, Any] = {}
        by_name = {s.name: s for s in sources}
        for job in jobs:
            if job.source_key not in shared:
                s = by_name[job.source]
                shared[job.source_key] = ModelPayload(s.model, s.transform, s.feature_layer, portable=exe.remote,
                                                      pooling=s.pooling)
            if job.pool_key not in shared:
                shared[job.pool_key] = pools[int(job.pool_key.split(":")[1])].data
        pending = {(j.source, t.name) for j in jobs for t in j.targets}
        n_cached = len({(r["source"], r["target"]) for r in rows} - pending)  # pairs read back whole
        rows += collect_rows(exe, run_job, jobs, shared, failed_rows=failed_rows, store=store, n_cached=n_cached,
                             progress=progress, desc="scoring", extra={"cached": False})
    finally:
        if store is not None:
            store.close()
    for r in rows:
        r["source_task"] = source_task[r["source"]]
        r.update(info[r["target"]])
    return build_table(rows, registry)


def _plan(
    sources: list[Source],
    views: list,
    metric_objects: Mapping[str, Any],
    seed: int,
    store: ScoreCache | None,
    threads: int | None,
    refs: Mapping[str, RefSpec] | None = None,
) -> tuple[list[dict[str, Any]], list[Job]]:
    """Cached rows, and one job per (source, pool) holding the pairs still to compute."""
    rows: list[dict[str, Any]] = []
    jobs: dict[tuple[int, int], Job] = {}
    for si, s in enumerate(sources):
        model_fp = (
            model_fingerprint(s.model, transform=s.transform, feature_layer=s.feature_layer, pooling=s.pooling)
            if store is not None else None
        )
        for v in views:
            todo: list[tuple[str, int | None]] = []
            keys: list[str | None] = []
            for name, metric in metric_objects.items():
                # one seed per target, shared by its sources: identical features get identical scores
                mseed = derive_seed(seed, "", v.task.name) if getattr(metric, "seeded", False) else None
                data_fp = data_fingerprint(v.fingerprint, metric, (refs or {}).get(s.name))
                key = pair_key(model_fp, data_fp, metric, mseed) if store is not None else None
                hit = store.get(key) if store is not None else None
                if hit is not None:
                    rows.append({
                        "source": s.name, "target": v.task.name, "metric": name, "score": hit["score"],
                        "status": "ok", "error": "", "flag": hit.get("flag", ""), "seconds": hit.get("seconds", 0.0),
                        "metric_version": hit.get("metric_version", ""), "cached": True,
                        **{c: hit.get(c) for c in getattr(metric, "columns", ())},
                    })
                    continue
                todo.append((name, mseed))
                keys.append(key)
            if not todo:
                continue
            job = jobs.get((si, v.pool))
            if job is None:
                job = jobs[(si, v.pool)] = Job(
                    source=s.name, source_key=f"source:{si}", pool_key=f"pool:{v.pool}", targets=[],
                    metric_objects=dict(metric_objects), threads=threads, model_fp=model_fp,
                    reference=_job_reference((refs or {}).get(s.name), v),
                )
            job.targets.append(TargetSpec(v.task.name, v.index, v.task.labels, todo, keys))
    return rows, list(jobs.values())


def _job_reference(spec: RefSpec | None, view: Any) -> RefSpec | None:
    """The source's reference as seen by its job on ``view``'s pool (it must share that pool)."""
    if spec is None or spec.kind != "task" or spec.pool == view.pool:
        return spec
    return RefSpec("none", error=(
        f"reference task {spec.name!r} has inputs of another per-sample shape or dtype than target "
        f"{view.task.name!r}; a reference must go through the model like the targets"))
