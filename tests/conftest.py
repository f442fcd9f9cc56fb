"""Shared test fixtures.

``ray_session``: ONE embedded Ray instance for the whole test session (RAY.md §5: ~5 s per
``ray.init``), 2 CPUs, a small object store, no dashboard, token auth left on, in a private
per-session ``RAY_TMPDIR`` (removed afterwards) so that leftovers are easy to find and nothing
attaches to another Ray on the machine.
Tests that need a Ray of their own (multi-node clusters) run it in a subprocess.
Anything that starts Ray must run inside ``scripts/in_netns.sh`` on the development/CI machines.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest

# Before Ray starts: private session dirs and address file; no usage reporting.
# One directory per test session (short: Ray's socket paths must stay under 107 bytes), so that
# concurrent sessions on one machine never share session dirs and leftovers are easy to attribute.
_OWN_TMPDIR = "RAY_TMPDIR" not in os.environ
os.environ.setdefault("RAY_TMPDIR", os.path.join(tempfile.gettempdir(), f"tg-ray-{os.getpid()}"))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def ray_session():
    """The ``ray`` module, initialized once per session (reused if something already started it)."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        yield ray
        return
    os.makedirs(os.environ["RAY_TMPDIR"], exist_ok=True)
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        log_to_driver=False,
        logging_level="warning",
    )
    try:
        session_dir = ray._private.worker._global_node.get_session_dir_path()
    except Exception:  # noqa: BLE001 - private API: cleanup is best effort
        session_dir = None
    try:
        yield ray
    finally:
        ray.shutdown()
        if _OWN_TMPDIR:
            shutil.rmtree(os.environ["RAY_TMPDIR"], ignore_errors=True)  # ~0.2 MB of logs per session
        elif session_dir and os.path.realpath(session_dir).startswith(os.path.realpath(os.environ["RAY_TMPDIR"])):
            shutil.rmtree(session_dir, ignore_errors=True)


def pytest_unconfigure(config):
    """Stop a Ray that a test started without the fixture (e.g. ``executor="ray"``), then remove
    this session's private ``RAY_TMPDIR``."""
    import sys

    ray = sys.modules.get("ray")
    if ray is not None and getattr(ray, "is_initialized", lambda: False)():
        ray.shutdown()
    if _OWN_TMPDIR:
        shutil.rmtree(os.environ["RAY_TMPDIR"], ignore_errors=True)
