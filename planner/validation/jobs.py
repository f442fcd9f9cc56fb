"""The unit of validation work and the plain function that runs it (no Ray here).

- ``retrain_head``: one job per source carrying all its targets, so the source forwards the union
  of their distinct samples once (:func:`~transfergraph.planner.validation.head_retraining.retrain_head_many`).
  The job always pools *all* the source's targets of the run, also those already cached, so the
  forward pass (hence every number) is the same whether a run is fresh or resumed.
- ``fine_tune`` and ``meta_transfer``: one job per (source, target) pair.

:func:`run_job` returns one row per computed pair; a failure inside a batched job fails only the
pairs it affects. An exception escaping it is turned into failed rows by the engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.scoring.jobs import error_text
from transfergraph.planner.inputs.task import Source
from transfergraph.planner.validation.fine_tuning import fine_tune
from transfergraph.planner.validation.meta_adaptation import meta_transfer
from transfergraph.planner.validation.head_retraining import retrain_head_many

__all__ = ["ValidationJob", "run_job", "METHODS"]

#: Transfer methods known to the engine, in report order.
METHODS = ("retrain_head", "fine_tune", "meta_transfer")


@dataclass
class ValidationJob:
    """Run ``method`` for ``source`` on ``targets`` (names), with per-target seeds and cache keys.

    ``pool`` lists every target whose samples the forward pass includes (retrain_head only;
    a superset of ``targets``). ``shared_keys``: the source payload, then one key per pool task
    (or per target), then the meta-model key when ``method == "meta_transfer"``.
    """

    method: str
    source: str
    source_task: str | None
    targets: list[str]
    seeds: list[int]
    keys: list[str | None]
    pool: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    source_key: str = ""
    task_keys: list[str] = field(default_factory=list)
    meta_key: str | None = None

    @property
    def shared_keys(self) -> tuple[str, ...]:
        return (self.source_key, *self.task_keys) + ((self.meta_key,) if self.meta_key else ())

    @property
    def n_pairs(self) -> int:
        return len(self.targets)


def _row(job: ValidationJob, i: int, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": job.source, "target": job.targets[i], "method": job.method,
        "accuracy": float(result.get("accuracy", float("nan"))), "f1": float(result.get("f1", float("nan"))),
        "seconds": float(result.get("seconds", 0.0)), "n_train": int(result.get("n_train", 0)),
        "n_test": int(result.get("n_test", 0)), "n_classes": int(result.get("n_classes", 0)),
        "seed": job.seeds[i], "status": result.get("status", "ok"), "error": result.get("error", ""),
        "key": job.keys[i],
    }


def failed_rows(job: ValidationJob, error: str) -> list[dict[str, Any]]:
    """One failed row per target of ``job``, all with ``error``."""
    return [_row(job, i, {"status": "failed", "error": error}) for i in range(len(job.targets))]


def run_job(job: ValidationJob, payload: Any, *rest: Any) -> list[dict[str, Any]]:
    """Run one job; ``payload`` is the source's :class:`~transfergraph.planner.scoring.payload.ModelPayload`,
    ``rest`` the tasks named by ``job.task_keys`` (then the meta-model). Never raises for one pair."""
    meta_model = rest[-1] if job.meta_key else None
    tasks = rest[:-1] if job.meta_key else rest
    try:
        source = Source(job.source, payload.load(), task=job.source_task, transform=payload.transform,
                        feature_layer=payload.feature_layer)
    except Exception as exc:  # noqa: BLE001
        return failed_rows(job, error_text(exc))
    if job.method == "retrain_head":
        by_name = {t.name: t for t in tasks}
        pool_tasks = [by_name[n] for n in job.pool]
        fit = [job.pool.index(n) for n in job.targets]
        results = retrain_head_many(source, pool_tasks, fit=fit, **job.options)
        return [_row(job, i, {**results[k], "error": _clip(results[k]["error"])}) for i, k in enumerate(fit)]
    rows = []
    for i, task in enumerate(tasks):
        try:
            if job.method == "fine_tune":
                result = fine_tune(source, task, seed=job.seeds[i], **job.options)
            elif job.method == "meta_transfer":
                result = meta_transfer(source, task, meta_model=meta_model, seed=job.seeds[i], **job.options)
            else:
                raise InputError(f"method of a validation job must be one of {sorted(METHODS)}; got {job.method!r}.")
        except Exception as exc:  # noqa: BLE001 - recorded per pair, the run goes on
            result = {"status": "failed", "error": error_text(exc)}
        rows.append(_row(job, i, result))
    return rows


def _clip(text: str) -> str:
    return text if len(text) <= 500 else text[:497] + "..."
