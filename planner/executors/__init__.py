"""Executors: run one plain function over many jobs, in process or on Ray.

The interface is small and generic, so that scoring and validation (or any other engine) share it.
An executor has

- ``name`` : str -- ``"local"`` or ``"ray"``.
- ``remote`` : bool -- True when jobs run in other processes, so jobs and shared objects are
  serialized (send models as NumPy weights, not live modules; see ``transfergraph.planner.scoring.payload``).
- ``threads_per_task`` : int or None -- torch threads a job should use (1 on Ray, where each task
  holds one CPU; None = leave the process setting alone).
- ``run(fn, jobs, shared) -> Iterator[tuple[job, result | BaseException]]`` -- calls
  ``fn(job, *[shared[k] for k in job.shared_keys])`` once per job (``shared_keys`` defaults to
  ``()``; keys are any hashable values, e.g. scoring's typed ``SourceKey``/``PoolKey``) and
  yields ``(job, result)`` as jobs finish (local: in order; Ray: completion order, so sort your
  results). Every shared object is sent to the workers once (``ray.put``) and reaches
  ``fn`` as a top-level argument (zero-copy, read-only NumPy arrays on Ray). When a job cannot be
  completed -- ``fn`` raised, or its worker or node died more often than the retries allow -- the
  exception is yielded in place of the result: ``run`` never raises for one job's failure.
  Jobs with the same optional ``batch_key`` may share one remote task (weighed by their optional
  ``batch_cost``; :mod:`.batching`); each still gets its own result or exception.
  It raises :class:`~transfergraph.planner.common.exceptions.ExecutorError` when it cannot start or reach its workers.
- ``close()`` -- release what the executor started (an embedded Ray instance).

``fn``, jobs and shared objects must be picklable (cloudpickle) for remote executors, and ``fn``
must be deterministic: results may not depend on which worker ran a job or in which order.
Use :func:`get_executor` to build one from a user-facing spec: it always returns an executor
object (:class:`LocalExecutor` for ``"local"``), never the spec string.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable, Iterator, Mapping, Protocol, runtime_checkable

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "get_executor", "EXECUTOR_NAMES"]

EXECUTOR_NAMES = ("local", "ray")


@runtime_checkable
class Executor(Protocol):
    """What :func:`transfergraph.planner.score` (and other engines) need from an executor; see the module doc."""

    name: str
    remote: bool
    threads_per_task: int | None

    def run(
        self, fn: Callable[..., Any], jobs: Iterable[Any], shared: Mapping[Hashable, Any]
    ) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None: ...


def __getattr__(name: str) -> Any:
    if name == "RayExecutor":  # lazy: importing transfergraph.planner.executors must not import ray
        from transfergraph.planner.executors.ray_executor import RayExecutor

        return RayExecutor
    raise AttributeError(name)


def get_executor(spec: str | Executor = "local", *, address: str | None = None,
                 workers: int | None = None) -> Executor:
    """Build an executor from a spec.

    Parameters
    ----------
    spec : "local", "ray" or an executor object
        An object with ``run`` and ``close`` is returned unchanged (``address``/``workers`` must then
        be None). ``"ray"`` gives a :class:`RayExecutor`: an embedded local Ray, or the cluster at
        ``address`` / ``$RAY_ADDRESS``.
    address : str, optional
        Ray cluster address (``"HOST:PORT"``); only with ``spec="ray"``.
    workers : int, optional
        Parallel tasks (Ray: CPUs of the embedded instance, or a cap on tasks in flight on a cluster).

    Raises
    ------
    InputError
        For an unknown spec or options that do not apply to it.
    """
    workers = check_scalar(workers, "workers", int, caller="get_executor", min_val=1, allow_none=True)
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise InputError(f"address must be a Ray address string like '127.0.0.1:6379'; got {address!r}.")
    if isinstance(spec, str):
        if spec == "local":
            if address is not None:
                raise InputError(
                    f"address applies to the 'ray' executor only; got executor='local' with address={address!r}."
                )
            return LocalExecutor()
        if spec == "ray":
            from transfergraph.planner.executors.ray_executor import RayExecutor

            return RayExecutor(address=address, workers=workers)
        raise InputError(f"executor must be one of {list(EXECUTOR_NAMES)} or an executor object; got {spec!r}.")
    if callable(getattr(spec, "run", None)) and callable(getattr(spec, "close", None)):
        if address is not None or workers is not None:
            raise InputError(
                "address and workers configure a new executor; pass them to the executor object itself, "
                f"not together with executor={spec!r}."
            )
        return spec
    raise InputError(
        f"executor must be one of {list(EXECUTOR_NAMES)} or an object with run() and close(); "
        f"got {type(spec).__name__}."
    )
