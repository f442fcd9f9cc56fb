"""``run_validation``: really transfer on (source, target) pairs and measure test accuracy.

The ground truth that transferability scores are meant to predict.
Pairs run as jobs on the same executors as scoring (local or Ray, :mod:`transfergraph.planner.executors`); each
finished row is appended durably to an optional cache so an interrupted run resumes where it
stopped. Numbers do not depend on the executor, the number of workers, the order in which jobs
finish, or whether the run was resumed.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from transfergraph.planner.common.arguments import check_bool
from transfergraph.planner.storage.cache import ScoreCache
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.executors import get_executor
from transfergraph.planner.common.fingerprint import array_digest, callable_identity, combine, labels_digest, model_fingerprint
from transfergraph.planner.scoring.collect import collect_rows
from transfergraph.planner.scoring.payload import ModelPayload
from transfergraph.planner.scoring.validate import check_cache, check_named, check_seed
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.validation.jobs import ValidationJob, failed_rows, run_job
from transfergraph.planner.validation.lazy_targets import check_lazy_targets
from transfergraph.planner.validation.run_arguments import candidate_pairs, check_meta, check_methods, check_options, select_pairs

__all__ = ["run_validation", "candidate_pairs", "COLUMNS", "VALIDATION_VERSION"]

#: Bumped when a method's numbers change for the same inputs (invalidates cached rows).
VALIDATION_VERSION = "2"  # 2: features of conv models come from a channels-last forward

#: Columns of the table :func:`run_validation` returns, in order.
COLUMNS = ["source", "source_task", "target", "method", "accuracy", "f1", "seconds", "n_train", "n_test",
           "n_classes", "seed", "status", "error"]


def _task_fingerprint(task: Task) -> str:
    return combine(array_digest(task.inputs), labels_digest(task.labels),
                   array_digest(task.test_inputs) if task.has_test else "no-test",
                   labels_digest(task.test_labels) if task.has_test else "no-test")


def run_validation(
    sources: Sequence[Source],
    tasks: Sequence[Task],
    *,
    pairs: Sequence[tuple[str, str]] | None = None,
    n_pairs: int | None = None,
    methods: Sequence[str] = ("retrain_head", "fine_tune"),
    meta_model: Any = None,
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
    executor: Any = "local",
    cache: str | Path | None = None,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Transfer from each source to each target with each method; test accuracy and macro F1.

    Parameters
    ----------
    sources : sequence of Source
    tasks : sequence of Task
        Targets; each needs a test split (``Task(..., test_inputs=, test_labels=)``).
    pairs : list of (source name, target name), optional
        Pairs to validate. Default: every pair except a source on its own training task.
    n_pairs : int, optional
        Validate a seeded random sample of at most ``n_pairs`` of those pairs.
    methods : sequence of str
        Among ``"retrain_head"``, ``"fine_tune"``, ``"meta_transfer"``.
    meta_model : CNAPs-style model with ``adapt``, or dict {source name: model}, optional
        Needed for ``"meta_transfer"``. With a dict, meta-transfer rows are produced only for pairs
        whose source is a key, and that source's ``transform`` is applied; use it to pair the
        meta-model with the source classifier of its frozen backbone (the LEEP paper's protocol:
        LEEP of that classifier predicts meta-transfer accuracy). A single model runs for every pair.
    method_options : dict {method: {option: value}}, optional
        Keyword options of the method functions, e.g. ``{"fine_tune": {"epochs": 3}}``
        (see :func:`retrain_head_many`, :func:`fine_tune`, :func:`meta_transfer`).
    executor : "local", "ray" or an executor object
        See :func:`transfergraph.planner.executors.get_executor`.
    cache : str or Path, optional
        Directory; rows are appended (fsync) as they finish under ``CACHE/validation/`` and read
        back on the next call with identical model, data, method, options and seed.
    seed : int
        Seeds the pair sample and each pair's method (per-pair seeds derive from it and the names).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pandas.DataFrame
        One row per (source, target, method), columns :data:`COLUMNS`; sorted by the order of
        ``sources``, then ``tasks``, then ``methods``. ``status`` is "ok" or "failed"; a failed
        pair has NaN accuracy and its error text, and never stops the run.

    Raises
    ------
    InputError
        For invalid arguments (named in the message), or targets without a test split.

    Notes
    -----
    ``retrain_head`` runs as one job per source: the source forwards each distinct sample of all its
    targets once per call (train and test splits, deduplicated by content), then fits one small
    L-BFGS head per target. ``fine_tune`` and ``meta_transfer`` run one job per pair. Everything
    runs with one torch/BLAS thread per job by default (``threads`` option), so numbers do not
    depend on the executor.
    """
    sources = check_named(sources, "sources", Source)
    tasks = check_named(tasks, "tasks", Task)
    seed = check_seed(seed)
    check_bool(progress, "progress", caller="run_validation")
    methods = check_methods(methods, meta_model)
    meta = check_meta(meta_model, sources)
    options = check_options(method_options, methods)
    cache_dir = check_cache(cache)
    chosen = select_pairs(sources, tasks, pairs, n_pairs, seed)
    by_source = {s.name: s for s in sources}
    by_task = {t.name: t for t in tasks}
    missing = sorted({t for _, t in chosen if not by_task[t].has_test})
    if missing:
        raise InputError(
            f"tasks {missing[:5]} have no test split; validation trains on a task's inputs and evaluates on its "
            "test split. Build them with Task(..., test_inputs=..., test_labels=...)."
        )
    check_lazy_targets(by_task[t] for t in dict.fromkeys(t for _, t in chosen))
    exe = get_executor(executor)
    store = ScoreCache(Path(cache_dir) / "validation") if cache_dir is not None else None
    try:
        cached, jobs = _plan(chosen, by_source, by_task, methods, meta, options, seed, store, exe)
        shared = _shared(jobs, by_source, by_task, meta, exe)
        rows = cached + collect_rows(exe, run_job, jobs, shared, failed_rows=failed_rows, store=store,
                                     n_cached=len(cached), progress=progress, desc="validating")
    finally:
        if store is not None:
            store.close()
    return _table(rows, sources, tasks, methods, by_source)


def _plan(chosen, by_source, by_task, methods, meta, options, seed, store, exe):  # noqa: ANN001, ANN202
    model_fps: dict[str, str] = {}
    task_fps: dict[str, str] = {}
    meta_fps: dict[str, str] = {}
    threads = exe.threads_per_task or 1

    def key(method: str, s: str, t: str, pseed: int, opts: dict) -> str | None:
        if store is None:
            return None
        if s not in model_fps:
            src = by_source[s]
            model_fps[s] = model_fingerprint(src.model, transform=src.transform, feature_layer=src.feature_layer)
        if t not in task_fps:
            task_fps[t] = _task_fingerprint(by_task[t])
        extra = ""
        if method == "meta_transfer":
            mk = _meta_key(meta, s)
            if mk not in meta_fps:
                meta_fps[mk] = _meta_fingerprint(_meta_for(meta, s))
            extra = meta_fps[mk]
        return combine("validation", VALIDATION_VERSION, method, model_fps[s], task_fps[t], pseed,
                       json.dumps(opts, sort_keys=True, default=str), extra)

    cached: list[dict[str, Any]] = []
    jobs: list[ValidationJob] = []
    for method in methods:
        opts = {**options[method], **({"threads": threads} if "threads" not in options[method] else {})}
        key_opts = {k: v for k, v in opts.items() if k != "threads"}
        method_pairs = [(s, t) for s, t in chosen if method != "meta_transfer" or _meta_for(meta, s) is not None]
        grouped: dict[str, list[str]] = {}
        for s, t in method_pairs:
            grouped.setdefault(s, []).append(t)
        for s, targets in grouped.items():
            todo, seeds, keys = [], [], []
            for t in targets:
                pseed = derive_seed(seed, s, t, method)
                k = key(method, s, t, pseed, key_opts)
                hit = store.get(k) if store is not None else None
                if hit is not None:
                    cached.append({c: hit.get(c) for c in (*COLUMNS, "key") if c in hit})
                    continue
                todo.append(t)
                seeds.append(pseed)
                keys.append(k)
            if not todo:
                continue
            base = dict(method=method, source=s, source_task=by_source[s].task, options=opts,
                        source_key=f"source:{s}")
            if method == "retrain_head":
                jobs.append(ValidationJob(targets=todo, seeds=seeds, keys=keys, pool=list(targets),
                                          task_keys=[f"task:{t}" for t in targets], **base))
            else:
                meta_key = f"meta:{_meta_key(meta, s)}" if method == "meta_transfer" else None
                for t, ps, k in zip(todo, seeds, keys):
                    jobs.append(ValidationJob(targets=[t], seeds=[ps], keys=[k], pool=[t],
                                              task_keys=[f"task:{t}"], meta_key=meta_key, **base))
    return cached, jobs


def _meta_fingerprint(model: Any) -> str:
    try:
        return model_fingerprint(model)
    except Exception:  # noqa: BLE001 - not an nn.Module: identify it by its pickled state
        return callable_identity(model)


def _meta_for(meta: Any, source: str) -> Any:
    if meta is None:
        return None
    if isinstance(meta, dict):
        return meta.get(source)
    return meta


def _meta_key(meta: Any, source: str) -> str:
    return source if isinstance(meta, dict) else "*"


def _shared(jobs, by_source, by_task, meta, exe) -> dict[str, Any]:  # noqa: ANN001
    shared: dict[str, Any] = {}
    for job in jobs:
        if job.source_key not in shared:
            s = by_source[job.source]
            shared[job.source_key] = ModelPayload(s.model, s.transform, s.feature_layer, portable=exe.remote)
        for k in job.task_keys:
            if k not in shared:
                shared[k] = by_task[k.split(":", 1)[1]]
        if job.meta_key and job.meta_key not in shared:
            shared[job.meta_key] = _meta_for(meta, job.source)
    return shared


def _table(rows, sources, tasks, methods, by_source) -> pd.DataFrame:  # noqa: ANN001
    s_order = {s.name: i for i, s in enumerate(sources)}
    t_order = {t.name: i for i, t in enumerate(tasks)}
    m_order = {m: i for i, m in enumerate(methods)}
    rows = sorted(rows, key=lambda r: (s_order[r["source"]], t_order[r["target"]], m_order[r["method"]]))
    for r in rows:
        r["source_task"] = by_source[r["source"]].task or ""
        for c in ("accuracy", "f1"):
            v = r.get(c)
            r[c] = float("nan") if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        r["error"] = r.get("error") or ""
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype({"n_train": "int64", "n_test": "int64", "n_classes": "int64", "seed": "int64"})
