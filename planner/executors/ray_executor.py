"""The Ray executor: jobs as ``num_cpus=1`` Ray tasks, on an embedded local Ray or a cluster.

This is the only module that imports ``ray`` (lazily, inside functions). Connection rules:

1. Ray already initialized in this process (e.g. a test fixture) -> reuse it.
2. An address (argument, else ``$RAY_ADDRESS``) -> connect to that cluster with Ray's token
   authentication, after the pre-flight check of :mod:`.preflight` (token present and accepted,
   GCS answering within ``connect_timeout`` seconds, same Ray and Python versions): each cause
   gets its own :class:`~planner.exceptions.ExecutorError` within seconds, instead of Ray's long
   connection retries. The project's packages this process has imported (``planner``, and
   ``adapters`` and ``transfergraph`` when loaded) are shipped to the workers with
   ``runtime_env={"py_modules": ...}`` unless ``ship_code=False``.
3. Otherwise -> an embedded local Ray (``address="local"``: never attaches by accident to a cluster
   someone else started), ``num_cpus=workers`` (default: all CPUs), no dashboard, token auth left on.
   It lives until :meth:`RayExecutor.close` or the end of the process, and is reused by later runs.

Execution: every shared object is ``ray.put`` once and passed as a top-level argument (zero-copy
NumPy on the workers); at most ``max_in_flight`` tasks are pending (default ``2 x`` the parallel
slots); results are taken with ``ray.wait`` (at most ``0.2 s`` per wait, so Ctrl-C is seen at once)
in completion order (:mod:`.ray_dispatch`). A job that fails for a system reason (its worker
process or node died, its result was lost) is resubmitted by the :class:`~.retry.RetryPolicy`
(backoff, deadline, preferring another node than the failed one); Ray's own immediate task retries
(``max_retries``) are off by default. Any other error is yielded for that job only. Ray's own console output is routed by :class:`.RayLogs`.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..arguments import check_bool, check_scalar
from ..exceptions import ExecutorError, InputError
from .preflight import ClusterInfo, auth_token_available, check_cluster, ensure_token_auth
from .ray_logs import RayLogs
from .ray_dispatch import DispatchStats, dispatch
from .retry import RetryPolicy

__all__ = ["RayExecutor", "RetryPolicy", "auth_token_available", "ensure_token_auth", "owns_embedded_ray"]

_OWNED: dict[str, Any] = {"num_cpus": None}  # set while this module owns the embedded Ray instance
_POLL_S = 0.2  # longest blocking wait on Ray: Ctrl-C and due resubmissions are seen within it

def _project_packages() -> list[str]:
    """Folders of the project's top-level packages this process has imported (``planner`` always).

    Jobs pickled on the driver can only reference classes from packages the driver has loaded, so
    shipping those is enough; ``planner`` never imports the application layer to find them. Paths,
    not module objects: inside a ``ray job submit`` job Ray merges this runtime environment with
    the job's own by copying it, and module objects cannot be copied.
    """
    import sys

    import planner

    mods = [planner] + [sys.modules[n] for n in ("adapters", "transfergraph") if n in sys.modules]
    return [os.path.dirname(os.path.abspath(m.__file__)) for m in mods]


def owns_embedded_ray() -> bool:
    """True while this process runs an embedded Ray instance started by :class:`RayExecutor`
    (its Ray processes end with it only through ``ray.shutdown()``); False when connected to a
    cluster, whose processes are not ours to stop."""
    return _OWNED["num_cpus"] is not None


def _limit_threads(threads: int | None) -> None:
    if threads:
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:  # pragma: no cover - torch is a hard dependency
            pass


def _call(fn: Callable[..., Any], threads: int | None, job: Any, *shared: Any) -> Any:
    from ..allocator import keep_large_buffers

    keep_large_buffers()  # a worker process is ours: no page faults on every activation buffer
    _limit_threads(threads)
    return fn(job, *shared)


class RayExecutor:
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
        When connecting to a cluster, send the project's imported packages (``planner``, and
        ``adapters``/``transfergraph`` when loaded) to its workers via ``runtime_env={"py_modules": ...}`` (not needed when they are installed on every node).
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
    ) -> None:
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise InputError(f"address must be a Ray address string like '127.0.0.1:6379'; got {address!r}.")
        for arg, value, low in (("workers", workers, 1), ("max_retries", max_retries, 0),
                                ("max_in_flight", max_in_flight, 1)):
            if value is None and arg != "max_retries":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{arg} of RayExecutor must be an integer >= {low}; got {value!r}.")
        if gpus_per_task is not None:
            if isinstance(gpus_per_task, bool) or not isinstance(gpus_per_task, (int, float)) or gpus_per_task < 0:
                raise InputError(f"gpus_per_task of RayExecutor must be a number >= 0; got {gpus_per_task!r}.")
            num_gpus = gpus_per_task
        if isinstance(num_gpus, bool) or not isinstance(num_gpus, (int, float)) or num_gpus < 0:
            raise InputError(f"num_gpus of RayExecutor must be a number >= 0; got {num_gpus!r}.")
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
        self.ship_code = ship_code
        self.runtime_env = dict(runtime_env or {})
        self.init_kwargs = dict(init_kwargs or {})
        self._slots: int | None = None
        self._remote: dict[int, Any] = {}

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, workers={self.workers!r})"

    # -- connection -------------------------------------------------------------------------
    def _target_address(self) -> str | None:
        return self.address or os.environ.get("RAY_ADDRESS") or None

    def connect(self) -> Any:
        """Initialize (or reuse) Ray per the module's rules; returns the ``ray`` module."""
        address = self._target_address()
        if address is not None:
            ensure_token_auth(address)  # before importing Ray: a missing token is reported at once
        import ray

        if ray.is_initialized():
            if _OWNED["num_cpus"] is not None and address is None and self.workers not in (None, _OWNED["num_cpus"]):
                ray.shutdown()  # our own embedded instance, started with another worker count
                _OWNED["num_cpus"] = None
            else:
                self._check_same_cluster(ray, address)
                self._slots = self._cluster_slots(ray)
                return ray
        if address is not None:
            self._connect_cluster(ray, address)
        else:
            self._start_local(ray)
        return ray

    def _check_same_cluster(self, ray: Any, address: str | None) -> None:
        if address is None or address in ("auto", "local") or address.startswith("ray://"):
            return
        try:
            current = ray.get_runtime_context().gcs_address
        except Exception:  # noqa: BLE001 - cannot tell: keep the running session
            return
        if current and current.rsplit(":", 1)[-1] != address.rsplit(":", 1)[-1]:
            raise ExecutorError(
                f"Ray is already initialized in this process (cluster {current}); cannot also connect to "
                f"{address!r}. Call ray.shutdown() first or drop the address."
            )

    def _cluster_slots(self, ray: Any) -> int:
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        return min(self.workers, cpus) if self.workers else cpus

    def _connect_cluster(self, ray: Any, address: str) -> None:
        env = dict(self.runtime_env)
        if self.ship_code:
            env["py_modules"] = list(env.get("py_modules", [])) + _project_packages()
        kwargs = {**self.logs.init_kwargs(), **self.init_kwargs}
        with self.logs.capture():
            self.cluster = check_cluster(address, timeout=self.connect_timeout)
            try:
                ray.init(address=address, runtime_env=env or None, **kwargs)
            except Exception as exc:  # noqa: BLE001 - ConnectionError, AuthenticationError, ...
                raise ExecutorError(
                    f"Cannot connect to the Ray cluster at {address!r}: {type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:400]}. Check that `ray start --head` runs there, that the "
                    "address (HOST:PORT of the GCS) is right, and that this machine has the cluster's token."
                ) from exc
        self._slots = self._cluster_slots(ray)

    def _start_local(self, ray: Any) -> None:
        num_cpus = self.workers or os.cpu_count() or 1
        kwargs = {"include_dashboard": False, "configure_logging": True, **self.logs.init_kwargs(), **self.init_kwargs}
        try:
            with self.logs.capture():
                ray.init(address="local", num_cpus=num_cpus, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise ExecutorError(
                f"Cannot start an embedded Ray instance: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}"
            ) from exc
        _OWNED["num_cpus"] = num_cpus
        self._slots = num_cpus

    def close(self) -> None:
        """Shut down the embedded Ray instance if this module started it (a cluster is left alone)."""
        import sys

        if _OWNED["num_cpus"] is None or "ray" not in sys.modules:
            return
        import ray

        if ray.is_initialized():
            ray.shutdown()
        _OWNED["num_cpus"] = None

    # -- execution --------------------------------------------------------------------------
    def _remote_call(self, ray: Any) -> Any:
        key = id(ray)
        if key not in self._remote:
            self._remote[key] = ray.remote(
                num_cpus=1, num_gpus=self.num_gpus, max_retries=self.max_retries
            )(_call)
        return self._remote[key]

    def run(
        self, fn: Callable[..., Any], jobs: Iterable[Any], shared: Mapping[str, Any]
    ) -> Iterator[tuple[Any, Any]]:
        """Yield ``(job, result | exception)`` in completion order (see the package docstring)."""
        ray = self.connect()
        remote = self._remote_call(ray)
        refs: dict[str, Any] = {}
        cap = self.max_in_flight or 2 * (self._slots or 1)
        if self.workers and _OWNED["num_cpus"] is None:
            cap = min(cap, self.workers)  # a cluster or reused Ray: cap running tasks at `workers`

        def submit(job: Any, options: dict) -> Any:
            args = []
            for k in getattr(job, "shared_keys", ()):
                if k not in refs:
                    refs[k] = ray.put(shared[k])
                args.append(refs[k])
            task = remote.options(**options) if options else remote
            return task.remote(fn, self.threads_per_task, job, *args)

        yield from dispatch(ray, submit, list(jobs), cap=cap, policy=self.retry, stats=self.stats, poll=_POLL_S)

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
