"""Shared test fixtures.

``ray_session``: ONE embedded Ray instance for the whole test session (RAY.md §5: ~5 s per
``ray.init``), 2 CPUs, a small object store, no dashboard, token auth left on, in a private
``RAY_TMPDIR`` so that leftovers are easy to find and nothing attaches to another Ray on the machine.
Tests that need a Ray of their own (multi-node clusters) run it in a subprocess.
Anything that starts Ray must run inside ``scripts/in_netns.sh`` on the development/CI machines.
"""
from __future__ import annotations

import os
import tempfile

import pytest

# Before Ray starts: private session dirs and address file; no usage reporting.
os.environ.setdefault("RAY_TMPDIR", os.path.join(tempfile.gettempdir(), "transfergraph-ray-tests"))
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
        yield ray
    finally:
        ray.shutdown()
