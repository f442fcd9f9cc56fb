"""Keep a ``ray job submit`` driver's working directory valid after it connects to the cluster.

A job submitted with ``--working-dir`` runs its entrypoint inside the job's unpacked working
directory (``.../runtime_resources/working_dir_files/_ray_pkg_<hash>``). When the driver then calls
``ray.init``, Ray sets up the job's runtime environment for its workers and, since Ray replaces a
cached ``working_dir`` instead of reusing it (ray-project/ray#49313), deletes that directory and
unpacks it again at the same path, about 0.1 s after ``ray.init`` returns (measured here on Ray
2.60). The driver is left in a deleted directory: ``getcwd()`` fails with ``ENOENT``, relative paths
stop resolving, and the first library that asks for the current directory fails -- torch's bundled
oneMKL, loaded on the first ``import torch`` after connecting, dies with "Intel oneMKL FATAL
ERROR: Cannot load .../libtorch_cpu.so" (traced with strace: ``getcwd() = -1 ENOENT`` just before
the message). That was the failure of the first job on a fresh cluster (later jobs had imported
torch before connecting, or raced differently).

:func:`settle_job_cwd` is called right after connecting: inside a Ray job whose runtime environment
has a ``working_dir``, it waits (up to ``timeout`` seconds) for the directory to be replaced and
changes into the new one at the same path. Elsewhere it returns at once.
"""
from __future__ import annotations

import json
import os
import time

__all__ = ["current_dir", "job_has_working_dir", "settle_job_cwd"]


def job_has_working_dir(environ: dict[str, str] | None = None) -> bool:
    """True inside a Ray job (``ray job submit``) whose runtime environment has a ``working_dir``."""
    raw = (environ if environ is not None else os.environ).get("RAY_JOB_CONFIG_JSON_ENV_VAR", "")
    try:
        config = json.loads(raw) if raw else {}
    except ValueError:
        return False
    return bool((config.get("runtime_env") or {}).get("working_dir"))


def settle_job_cwd(cwd: str | None, inode: int | None, *, timeout: float = 5.0, poll: float = 0.05) -> str:
    """After ``ray.init`` in a job: wait until ``cwd`` (the directory the driver started in, with inode
    ``inode``) is replaced, then ``chdir`` into the replacement. Returns what happened:
    ``"not a job"``, ``"replaced"``, ``"unchanged"`` (not replaced within ``timeout``) or
    ``"missing"`` (deleted and not re-created: the process then works from its home folder)."""
    if cwd is None or inode is None or not job_has_working_dir():
        return "not a job"
    deadline = time.monotonic() + timeout
    while True:
        try:
            now = os.stat(cwd).st_ino
        except FileNotFoundError:
            now = None
        if now is not None and now != inode:
            os.chdir(cwd)
            return "replaced"
        if time.monotonic() >= deadline:
            break
        time.sleep(poll)
    try:
        os.getcwd()
        return "unchanged"
    except FileNotFoundError:
        os.chdir(os.path.expanduser("~"))
        return "missing"


def current_dir() -> tuple[str | None, int | None]:
    """(path, inode) of the current directory, or (None, None) when it is already gone."""
    try:
        cwd = os.getcwd()
        return cwd, os.stat(cwd).st_ino
    except FileNotFoundError:
        return None, None
