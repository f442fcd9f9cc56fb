"""Drain an executor: every job's rows, durably cached as they arrive, one progress tick per pair.

Shared by scoring and validation, whose jobs both return a list of rows (one per pair and metric or
method: :class:`~transfergraph.planner.scoring.rows.ScoreRow` s for scoring, dicts for validation)
and both expose ``n_pairs``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence, TypeVar

from transfergraph.planner.executors import Executor
from transfergraph.planner.storage.cache import ScoreCache
from transfergraph.planner.scoring.errors import error_text

Row = TypeVar("Row")

__all__ = ["collect_rows"]


def collect_rows(
    exe: Executor,
    run_job: Callable[..., list[Row]],
    jobs: Sequence[Any],
    shared: Mapping[Any, Any],
    *,
    failed_rows: Callable[[Any, str], list[Row]],
    store: ScoreCache | None,
    n_cached: int,
    progress: bool,
    desc: str,
    extra: Mapping[str, Any] | None = None,
) -> list[Row]:
    """Run ``run_job`` over ``jobs`` on ``exe`` and return all their rows in completion order.

    A job whose execution raised (a worker or node that died past its retries, a Ray error) becomes
    ``failed_rows(job, error)``, so one bad job never ends the run. Each job's rows get ``extra``
    set (dict rows: keys; dataclass rows: fields) and are appended to ``store`` (fsynced; a
    dataclass row as its ``cache_record()``) before the next result is awaited, so an interrupted
    run keeps everything it finished. The bar counts (source, target) pairs, as the log
    lines do (a job's ``n_pairs``; ``n_cached`` pairs were read back), whatever the metrics per pair.
    """
    from tqdm.auto import tqdm

    rows: list[Row] = []
    total = n_cached + sum(j.n_pairs for j in jobs)
    with tqdm(total=total, initial=n_cached, disable=not progress, unit="pair", desc=desc) as bar:
        if not jobs:
            return rows
        for job, result in exe.run(run_job, jobs, shared):
            if isinstance(result, BaseException):
                result = failed_rows(job, error_text(result, f"{exe.name} executor: "))
            if extra:
                result = [{**r, **extra} if isinstance(r, Mapping) else replace(r, **extra) for r in result]
            if store is not None:
                store.append(r if isinstance(r, Mapping) else r.cache_record() for r in result)
            rows.extend(result)
            bar.update(job.n_pairs)
    return rows
