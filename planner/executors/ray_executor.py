"""The Ray executor: jobs as ``num_cpus=1`` Ray tasks, on an embedded local Ray or a cluster.

This is the only module that imports ``ray`` (lazily, inside functions). Connection rules:

1. Ray already initialized in this process (e.g. a test fixture) -> reuse it.
2. An address (argument, else ``$RAY_ADDRESS``) -> connect to that cluster with Ray's token
   authentication, after the pre-flight check of :mod:`.preflight` (token present and accepted,
   GCS answering within ``connect_timeout`` seconds, same Ray and Python versions): each cause
   gets its own :class:`~transfergraph.planner.common.exceptions.ExecutorError` within seconds, instead of Ray's long
   connection retries. The ``transfergraph`` package folder (its ``planner`` and ``adapters``
   subpackages included) is shipped to the workers with ``runtime_env={"py_modules": ...}`` unless
   ``ship_code=False``.
3. Otherwise -> an embedded local Ray (``address="local"``: never attaches by accident to a cluster
   someone else started), ``num_cpus=workers`` (default: all CPUs), no dashboard, token auth left on.
   It lives until :meth:`RayExecutor.close` or the end of the process, and is reused by later runs.

Execution: every shared object is ``ray.put`` once and passed as a top-level argument (zero-copy
NumPy on the workers); at most ``max_in_flight`` tasks are pending (default ``2 x`` the parallel
slots); results are taken with ``ray.wait`` (at most ``0.2 s`` per wait, so Ctrl-C is seen at once)
in completion order (:mod:`.ray_dispatch`). Small jobs of one source share a task
(:mod:`.batching`: the model payload is unpickled and loaded once per task, each job still fails
only itself; off with ``batching=False``). A job that fails for a system reason (its worker
process or node died, its result was lost) is resubmitted by the :class:`~.retry.RetryPolicy`
(backoff, deadline, preferring another node than the failed one); Ray's own immediate task retries
(``max_retries``) are off by default. Any other error is yielded for that job only. Ray's own console output is routed by :class:`.RayLogs`.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Hashable, Iterable, Iterator, Mapping

from transfergraph.planner.common.arguments import check_bool, check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.runtime.threads import torch_threads
from transfergraph.planner.executors.preflight import ClusterInfo, auth_token_available, ensure_token_auth
from transfergraph.planner.executors.ray_connect import _OWNED, RayConnection, owns_embedded_ray
from transfergraph.planner.executors.batching import Batch, plan_batches, run_batch
from transfergraph.planner.executors.ray_logs import RayLogs
from transfergraph.planner.executors.ray_dispatch import DispatchStats, dispatch
from transfergraph.planner.executors.retry import RetryPolicy

__all__ = ["RayExecutor", "RetryPolicy", "auth_token_available", "ensure_token_auth", "owns_embedded_ray"]

_POLL_S = 0.2  # longest blocking wait on Ray: Ctrl-C and due resubmissions are seen within it


def _call(fn: Callable[..., Any], threads: int | None, job: Any, *shared: Any) -> Any:
    from transfergraph.planner.runtime.allocator import keep_large_buffers

    keep_large_buffers()  # a worker process is ours: no page faults on every activation buffer
    with torch_threads(threads):
        return fn(job, *shared)


def _call_batch(fn: Callable[..., Any], threads: int | None, batch: Batch, *shared: Any) -> list[Any]:
    from transfergraph.planner.runtime.allocator import keep_large_buffers

    keep_large_buffers()
    with torch_threads(threads):
        return run_batch(fn, batch, *shared)


def _split(unit: Any) -> list[Any] | None:
    return list(unit.jobs) if isinstance(unit, Batch) else None


class RayExecutor(RayConnection):
    """Run jobs as Ray tasks.

    Parameters
    ----------
    address : str, optional
        Cluster address (``"HOST:PORT"``, ``"auto"``, ``"ray://..."``). Default: ``$RAY_ADDRESS`` when
        set, else an embedded local Ray.
    workers : int, optional
        Embedded Ray: its number of CPUs (default: all). Existing cluster or reused Ray: the most
        tasks running at once. Default there: every CPU of the cluster.
    max_retries : int
        Ray's own immediate re-runs of a task whose worker process or node died (Python exceptions
        are not retried). Default 0: every system failure goes through ``retry`` instead, which
        backs off, avoids the failed node and is counted in :attr:`stats`.
    max_in_flight : int, optional
        Most tasks submitted and not yet collected (default: 2 x parallel slots).
    ship_code : bool
        When connecting to a cluster, send the ``transfergraph`` package folder (its ``planner`` and
        ``adapters`` subpackages included) to its workers via ``runtime_env={"py_modules": ...}`` (not
        needed when it is installed on every node).
    runtime_env : dict, optional
        Extra Ray runtime environment (merged; e.g. ``{"py_modules": [my_models]}`` for model classes
        that are not installed on the cluster).
    init_kwargs : dict, optional
        Extra keyword arguments for ``ray.init``.
    num_gpus : float
        GPUs reserved per task (e.g. 0.25 to share one GPU between 4 tasks). Ray hides the GPUs from
        tasks that reserve none, so models saved on CUDA then run on the workers' CPUs.
    gpus_per_task : float, optional
        The same as ``num_gpus`` (the name used by ``score()``'s docs, the config and the CLI);
        overrides it when given.
    retry : RetryPolicy, optional
        Resubmission of jobs that failed for a system reason (default ``RetryPolicy()``: backoff from
        0.5 s to 8 s, deadline 300 s after a job's first system failure); see :mod:`.retry`.
    connect_timeout : float
        Seconds the pre-flight check of a cluster address may take (see :mod:`.preflight`).
    log_file : path, optional
        File that receives Ray's own console output (see :class:`.RayLogs`); None keeps Ray's
        warnings on the console.
    verbose : bool
        Show all of Ray's output (worker logs included) on the console.
    batching : bool
        Run jobs that share a ``batch_key`` (scoring: the same source) several to a task, within
        the bounds of :func:`.batching.plan_batches` (default True). Results are the same either way.

    Attributes
    ----------
    stats : DispatchStats
        Resubmissions made, nodes that failed, system errors seen (over all runs).
    cluster : ClusterInfo or None
        What the pre-flight check found (cluster addresses only).
    """

    name = "ray"
    remote = True
    threads_per_task: int | None = 1

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        max_retries: int = 0,
        max_in_flight: int | None = None,
        ship_code: bool = True,
        runtime_env: dict | None = None,
        init_kwargs: dict | None = None,
        num_gpus: float = 0,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        log_file: str | os.PathLike | None = None,
        verbose: bool = False,
        gpus_per_task: float | None = None,
        batching: bool = True,
    ) -> None:
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise InputError(f"address must be a Ray address string like '127.0.0.1:6379'; got {address!r}.")
        workers = check_scalar(workers, "workers", int, caller="RayExecutor", min_val=1, allow_none=True)
        max_retries = check_scalar(max_retries, "max_retries", int, caller="RayExecutor", min_val=0)
        max_in_flight = check_scalar(max_in_flight, "max_in_flight", int, caller="RayExecutor", min_val=1, allow_none=True)
        num_gpus = check_scalar(num_gpus, "num_gpus", float, caller="RayExecutor", min_val=0)
        if gpus_per_task is not None:
            num_gpus = check_scalar(gpus_per_task, "gpus_per_task", float, caller="RayExecutor", min_val=0)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InputError(f"retry of RayExecutor must be a RetryPolicy or None; got {type(retry).__name__}.")
        self.connect_timeout = check_scalar(connect_timeout, "connect_timeout", float, caller="RayExecutor",
                                            min_val=0, include_boundaries="neither")
        self.retry = retry or RetryPolicy()
        self.logs = RayLogs(log_file, verbose=check_bool(verbose, "verbose", caller="RayExecutor"))
        self.stats = DispatchStats()
        self.cluster: ClusterInfo | None = None
        self.num_gpus = num_gpus
        self.address = address
        self.workers = workers
        self.max_retries = max_retries
        self.max_in_flight = max_in_flight
        self.ship_code = check_bool(ship_code, "ship_code", caller="RayExecutor")
        self.batching = check_bool(batching, "batching", caller="RayExecutor")
        self.last_tasks = 0  # tasks the last run() planned for its jobs (batches count once)
        self.runtime_env = dict(runtime_env or {})
        self.init_kwargs = dict(init_kwargs or {})
        self._slots: int | None = None
        self._remote: dict[int, Any] = {}

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, workers={self.workers!r})"

    # -- execution --------------------------------------------------------------------------
    def _remote_call(self, ray: Any, fn: Callable[..., Any] = _call) -> Any:
        key = (id(ray), fn.__name__)
        if key not in self._remote:
            self._remote[key] = ray.remote(
                num_cpus=1, num_gpus=self.num_gpus, max_retries=self.max_retries
            )(fn)
        return self._remote[key]

    def run(
        self, fn: Callable[..., Any], jobs: Iterable[Any], shared: Mapping[Hashable, Any]
    ) -> Iterator[tuple[Any, Any]]:
        """Yield ``(job, result | exception)`` in completion order (see the package docstring)."""
        ray = self.connect()
        remote, remote_batch = self._remote_call(ray), self._remote_call(ray, _call_batch)
        refs: dict[Hashable, Any] = {}
        cap = self.max_in_flight or 2 * (self._slots or 1)
        if self.workers and _OWNED["num_cpus"] is None:
            cap = min(cap, self.workers)  # a cluster or reused Ray: cap running tasks at `workers`
        jobs = list(jobs)
        units = plan_batches(jobs, min(self._slots or 1, cap)) if self.batching else jobs
        self.last_tasks = len(units)

        def submit(job: Any, options: dict) -> Any:
            args = []
            for k in getattr(job, "shared_keys", ()):
                if k not in refs:
                    refs[k] = ray.put(shared[k])
                args.append(refs[k])
            task = remote_batch if isinstance(job, Batch) else remote
            task = task.options(**options) if options else task
            return task.remote(fn, self.threads_per_task, job, *args)

        for unit, result in dispatch(ray, submit, units, cap=cap, policy=self.retry, stats=self.stats,
                                     poll=_POLL_S, split=_split):
            if not isinstance(unit, Batch):
                yield unit, result
            elif isinstance(result, BaseException):  # the whole task failed and was not rerun
                for job in unit.jobs:
                    yield job, result
            else:
                yield from zip(unit.jobs, result)

    def describe(self) -> str:
        """One line for reports: executor, address, Ray version, alive nodes, resubmissions made."""
        import sys

        ray = sys.modules.get("ray")
        version = getattr(ray, "__version__", "?")
        where = self.cluster.address if self.cluster else (self._target_address() or "embedded local Ray")
        nodes = "?"
        try:
            if ray is not None and ray.is_initialized():
                nodes = str(sum(1 for n in ray.nodes() if n.get("Alive")))
        except Exception:  # noqa: BLE001 - the description is best effort
            pass
        failed = f", failed nodes {len(self.stats.failed_nodes)}" if self.stats.failed_nodes else ""
        return (f"ray (address {where}, Ray {version}, {nodes} nodes alive at the end, "
                f"{self.stats.retries} job resubmissions after system failures{failed})")
