"""Ray-specific behaviour: worker-count determinism, order invariance, token auth (node failure on a real
two-node cluster: tests/cluster/test_cluster.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transfergraph.planner.scoring import score

from scoring_support import COLS, sleepy, tiny_model, tiny_sources, tiny_tasks

METRICS = ("leep", "h_score")


def same(a, b):
    pd.testing.assert_frame_equal(a[COLS], b[COLS], check_exact=True)  # bitwise, as the README promises


@pytest.mark.ray
def test_worker_counts_and_input_order_do_not_change_the_table(ray_session):
    from transfergraph.planner import Source
    from transfergraph.planner.executors import RayExecutor

    # more jobs than workers: several sources, each job slowed a little so they overlap
    sources = tiny_sources() + [Source("slow", tiny_model(7), transform=sleepy(0.2))]
    tasks = tiny_tasks()
    local = score(sources, tasks, metrics=METRICS, progress=False)
    one = score(sources, tasks, metrics=METRICS, executor=RayExecutor(workers=1), progress=False)
    two = score(sources[::-1], tasks[::-1], metrics=METRICS, executor=RayExecutor(workers=2), progress=False)
    same(one, local)
    same(two, local)
    assert np.array_equal(one.score.to_numpy(), two.score.to_numpy(), equal_nan=True)


def _clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH") and k != "RAY_ADDRESS"}
    env["HOME"] = str(home)
    return env


_CONNECT = textwrap.dedent("""
    import os, time
    from transfergraph.planner.common.exceptions import ExecutorError
    from transfergraph.planner.executors import get_executor
    t = time.time()
    try:
        get_executor("ray", address="127.0.0.1:6390").connect()
    except ExecutorError as exc:
        print("ERROR", round(time.time() - t, 2), exc)
    else:
        print("CONNECTED")
""")


def test_connecting_without_a_token_fails_fast_with_instructions(tmp_path):
    start = time.time()
    proc = subprocess.run([sys.executable, "-c", _CONNECT], capture_output=True, text=True, timeout=120,
                          env=_clean_env(tmp_path))
    assert proc.stdout.startswith("ERROR"), proc.stdout + proc.stderr[-2000:]
    assert "ray get-auth-token" in proc.stdout and "RAY_AUTH_TOKEN" in proc.stdout
    assert "127.0.0.1:6390" in proc.stdout
    # it fails before contacting anything: far below the 20 s connection timeout (10 s leaves room for a
    # loaded machine: the old 2 s bound failed at 2.7-4.75 s under load average 20)
    assert float(proc.stdout.split()[1]) < 10.0
    assert time.time() - start < 60


def test_token_file_switches_token_mode_on(tmp_path):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("0123456789abcdef0123456789abcdef")
    code = ("import os; from transfergraph.planner.executors.ray_executor import ensure_token_auth; "
            "ensure_token_auth('10.1.2.3:6379'); print(os.environ.get('RAY_AUTH_MODE'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=_clean_env(tmp_path))
    assert proc.stdout.strip().splitlines()[-1] == "token", proc.stderr[-2000:]
    env = _clean_env(tmp_path)
    env["RAY_AUTH_MODE"] = "disabled"  # an explicit user choice is respected, never overridden
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.stdout.strip().splitlines()[-1] == "disabled"
