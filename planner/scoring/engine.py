"""``score()``: every (source, target, metric) transferability score, as one table.

Flow: validate -> content pools (:mod:`.pools`) -> cache look-up (:mod:`transfergraph.planner.storage.cache`) -> one job
per (source, pool) with the missing pairs (:mod:`.jobs`) -> executor (:mod:`transfergraph.planner.executors`) ->
rows appended to the cache as they arrive -> table with per-target normalization (:mod:`.table`).
"""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from transfergraph.planner.common.arguments import check_bool, check_scalar
from transfergraph.planner.storage.cache import ScoreCache
from transfergraph.planner.executors import Executor, get_executor
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.metrics._registry import MetricInput
from transfergraph.planner.scoring.collect import collect_rows
from transfergraph.planner.scoring.compute import check_compute
from transfergraph.planner.scoring.fraction import check_pairs_fraction
from transfergraph.planner.scoring.fraction_table import fraction_table
from transfergraph.planner.scoring.jobs import failed_rows, run_job
from transfergraph.planner.scoring.keys import SCORING_VERSION, metric_seed, pair_key
from transfergraph.planner.scoring.payload import payload_of
from transfergraph.planner.scoring.planning import plan_jobs
from transfergraph.planner.scoring.pools import build_pools
from transfergraph.planner.scoring.reference import reference_tasks, resolve_references
from transfergraph.planner.scoring.rows import ScoreRow
from transfergraph.planner.scoring.table import build_table
from transfergraph.planner.scoring.validate import check_cache, check_metrics, check_seed, check_sources_tasks

__all__ = ["score", "metric_seed", "pair_key", "SCORING_VERSION"]


def _metrics_module() -> Any:
    from transfergraph.planner import metrics

    return metrics


def score(
    sources: Sequence[Source],
    tasks: Sequence[Task],
    *,
    metrics: str | Sequence[str] = ("leep",),
    executor: str | Executor = "local",
    cache: Any = None,
    progress: bool = True,
    seed: int = 0,
    batch_size: int | None = None,
    device: str | None = None,
    num_workers: int = 0,
    pairs_fraction: float | None = None,
    pairs_top_k: int = 3,
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
    executor : "local", "ray" or an Executor
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
        Base seed of seeded metrics; every pair on a target gets ``metric_seed(seed, "", target)``
        (the same for all its sources, so two sources with the same features score the same).
    batch_size : int, optional
        Samples per forward batch (default 256).
    device : str, optional
        Where models run: ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (default: where each model's
        parameters are; on Ray, reserve GPUs with ``RayExecutor(gpus_per_task=...)``).
    num_workers : int
        DataLoader reader processes per job for lazy tasks (default 0: the job reads itself).
    pairs_fraction : float in (0, 1], optional
        Score about this share of the (source, target) pairs, the exact re-score included, and predict
        the others (:mod:`transfergraph.planner.scoring.fraction`: every source and target gets a minimum, pivoted
        QR over the source factors chooses the rest, then each target's predicted ``pairs_top_k`` are
        scored exactly). None or 1 (default) scores every pair, exactly as without the option.
    pairs_top_k : int
        With ``pairs_fraction``: pairs re-scored exactly per target and metric (the plan's ``top_k``).

    Returns
    -------
    pandas.DataFrame
        One row per (source, target, metric), sorted by them, with columns
        ``source, source_task, target, metric, score, normalized, n_samples, n_classes, status,
        error, flag, seconds, label_entropy, metric_version, cached``. Failed pairs have ``status``
        "failed", NaN ``score``/``normalized`` and an ``error`` text; they never stop the run.
        ``flag`` is "" for a score inside its metric's regime of validity, else a short reason
        (``Metric.regime``, e.g. ``"degenerate: n <= d + 1 ..."``); flagged rows keep status "ok".
        With ``pairs_fraction`` < 1, unscored pairs are rows with status "predicted", NaN ``score``,
        the predicted ``normalized`` value and its predictive s.d. in an extra ``predicted_sd`` column.

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
    fraction = check_pairs_fraction(pairs_fraction, caller="score")
    pairs_top_k = check_scalar(pairs_top_k, "pairs_top_k", int, caller="score", min_val=1)
    exe = get_executor(executor)
    metric_objects = {n: registry[n] for n in names}
    refs_needed = any(m.input == MetricInput.FEATURES_REFERENCE for m in metric_objects.values())
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

    def run_pairs(allowed: set[tuple[str, str]] | None) -> list[ScoreRow]:
        rows, jobs = plan_jobs(sources, views, pools, metric_objects, seed=seed, store=store,
                               threads=exe.threads_per_task, compute=compute, cache_dir=cache_dir, refs=refs,
                               allowed=allowed)
        shared: dict[Any, Any] = {}
        by_name = {s.name: s for s in sources}
        for job in jobs:
            if job.source_key not in shared:
                s = by_name[job.source]
                shared[job.source_key] = payload_of(s, portable=exe.remote)  # a ModelRef ships as itself
            if job.pool_key not in shared:
                shared[job.pool_key] = pools[job.pool_key.index].data
        pending = {(j.source, t.name) for j in jobs for t in j.targets}
        n_cached = len({(r.source, r.target) for r in rows} - pending)  # pairs read back whole
        rows += collect_rows(exe, run_job, jobs, shared, failed_rows=failed_rows, store=store, n_cached=n_cached,
                             progress=progress, desc="scoring")
        return [r.with_target(source_task=source_task[r.source], **info[r.target]) for r in rows]

    try:
        if fraction is not None:
            return fraction_table(run_pairs, [s.name for s in sources], [v.task.name for v in views], source_task,
                                  names, registry, info, fraction=fraction, seed=seed, top_k=pairs_top_k)
        rows = run_pairs(None)
    finally:
        if store is not None:
            store.close()
    return build_table(rows, registry)
