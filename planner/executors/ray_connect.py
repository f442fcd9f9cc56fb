"""Connecting the Ray executor: reuse a running Ray, pre-flight and join a cluster, or start an
embedded local Ray (the rules are listed in :mod:`transfergraph.planner.executors.ray_executor`).

:class:`RayConnection` holds the connection half of :class:`~.ray_executor.RayExecutor` (which
inherits it); ``_OWNED`` records the embedded Ray instance this process started, if any.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from transfergraph.planner.common.exceptions import ExecutorError
from transfergraph.planner.executors.job_cwd import current_dir, settle_job_cwd
from transfergraph.planner.executors.preflight import check_cluster, ensure_token_auth

__all__ = ["RayConnection", "owns_embedded_ray"]

_OWNED: dict[str, Any] = {"num_cpus": None}  # set while this module owns the embedded Ray instance


def _project_packages() -> list[str]:
    """The folder of the ``transfergraph`` package, self-contained, to ship to Ray workers.

    Jobs pickled on the driver reference classes of ``transfergraph`` (its ``planner`` and ``adapters``
    subpackages included). Installed from the wheel, the package folder holds both; in a development
    checkout (editable install) they live in the repository's ``planner/`` and ``adapters/`` folders and
    are mapped in by setuptools, so a copy that holds all three is staged once per content (keyed by the
    files' paths, sizes and modification times) under the user cache folder. Paths, not module
    objects: inside a ``ray job submit`` job Ray merges this runtime environment with the job's own by
    copying it, and module objects cannot be copied.
    """
    from importlib.util import find_spec

    def folder(name: str) -> Path:      # located, not imported: the core never imports the other layers
        spec = find_spec(name)
        assert spec is not None and spec.submodule_search_locations, name
        return Path(list(spec.submodule_search_locations)[0]).resolve()

    package = folder("transfergraph")
    parts = {"planner": folder("transfergraph.planner"), "adapters": folder("transfergraph.adapters")}
    if all(folder.parent == package for folder in parts.values()):
        return [str(package)]
    return [str(_staged_package(package, parts))]


def _staged_package(package: Path, parts: dict[str, Path]) -> Path:
    import shutil

    from transfergraph.planner.common.fingerprint import combine

    def files(root: Path):
        return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)

    stamps = [f"{name}/{path.relative_to(root)}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
              for name, root in [("", package), *parts.items()] for path in files(root)]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "transfergraph" / "ship"
    target = cache / combine("ship", *stamps)[:16] / "transfergraph"
    if not target.is_dir():
        staging = target.parent.with_name(target.parent.name + f".tmp{os.getpid()}")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(package, staging / "transfergraph", ignore=ignore, dirs_exist_ok=True)
        for name, root in parts.items():
            shutil.copytree(root, staging / "transfergraph" / name, ignore=ignore, dirs_exist_ok=True)
        try:
            os.replace(staging, target.parent)
        except OSError:          # another process staged the same content first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def owns_embedded_ray() -> bool:
    """True while this process runs an embedded Ray instance started by :class:`RayExecutor`
    (its Ray processes end with it only through ``ray.shutdown()``); False when connected to a
    cluster, whose processes are not ours to stop."""
    return _OWNED["num_cpus"] is not None


class RayConnection:
    """The connection half of :class:`~.ray_executor.RayExecutor` (attributes set by its ``__init__``:
    ``address``, ``workers``, ``ship_code``, ``runtime_env``, ``init_kwargs``, ``logs``,
    ``connect_timeout``, ``cluster``, ``_slots``)."""

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
            cwd, inode = current_dir()
            try:
                ray.init(address=address, runtime_env=env or None, **kwargs)
                settle_job_cwd(cwd, inode)  # a `ray job submit` driver's folder is re-created (job_cwd.py)
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
