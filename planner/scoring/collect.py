"""Drain an executor: every job's rows, durably cached as they arrive, one progress tick per pair.

Shared by scoring and validation, whose jobs both return a list of row dicts (one per pair and metric
or method) and both expose ``n_pairs``.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from transfergraph.planner.storage.cache import ScoreCache
from transfergraph.planner.scoring.jobs import error_text

__all__ = ["collect_rows"]


def collect_rows(
    exe: Any,
    run_job: Callable[..., list[dict[str, Any]]],
    jobs: Sequence[Any],
    shared: Mapping[str, Any],
    *,
    failed_rows: Callable[[Any, str], list[dict[str, Any]]],
    store: ScoreCache | None,
    n_cached: int,
    progress: bool,
    desc: str,
    extra: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run ``run_job`` over ``jobs`` on ``exe`` and return all their rows in completion order.

    A job whose execution raised (a worker or node that died past its retries, a Ray error) becomes
    ``failed_rows(job, error)``, so one bad job never ends the run. Each job's rows get ``extra``
    added and are appended to ``store`` (fsynced) before the next result is awaited, so an
    interrupted run keeps everything it finished. The bar counts (source, target) pairs, as the log
    lines do (a job's ``n_pairs``; ``n_cached`` pairs were read back), whatever the metrics per pair.
    """
    from tqdm.auto import tqdm

    rows: list[dict[str, Any]] = []
    total = n_cached + sum(j.n_pairs for j in jobs)
    with tqdm(total=total, initial=n_cached, disable=not progress, unit="pair", desc=desc) as bar:
        if not jobs:
            return rows
        for job, result in exe.run(run_job, jobs, shared):
            if isinstance(result, BaseException):
                result = failed_rows(job, error_text(result, f"{exe.name} executor: "))
            for r in result:
                r.update(extra or {})
            if store is not None:
                store.append(result)
            rows.extend(result)
            bar.update(job.n_pairs)
    return rows
