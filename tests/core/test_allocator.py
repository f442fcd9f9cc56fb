"""transfergraph.planner.runtime.allocator: our own processes keep activation buffers in the heap instead of page-faulting
them in on every layer of every batch. Each case runs in a fresh interpreter: the setting is per process."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's"
)

# Forward a 2-conv CNN over 256-image batches; report the minor page faults of the last pass.
_PROBE = """
import json, resource, sys
import numpy as np, torch
from torch import nn
from transfergraph.planner.runtime.allocator import keep_large_buffers
from transfergraph.planner.runtime.forward import forward
applied = keep_large_buffers()
torch.set_num_threads(1); torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
x = np.random.default_rng(0).random((1024, 1, 28, 28), dtype=np.float32)
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    out = forward(model, x, want_features=False)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"applied": applied, "faults": faults, "sum": float(out.logits.astype("float64").sum())}))
"""


def _probe(**env) -> dict:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "TRANSFERGRAPH_KEEP_HEAP"}
    full.update(env)
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=full, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@glibc
def test_forward_stops_page_faulting_its_buffers_and_numbers_do_not_change():
    # The baseline pins glibc's default 128 KiB mmap threshold: left alone, glibc sometimes raises it
    # dynamically after a large free, so an untuned process faults 10^4-10^5 times per pass on most runs
    # and a few hundred on some (measured: 392), which would make this comparison a coin toss.
    tuned, plain = _probe(), _probe(MALLOC_MMAP_THRESHOLD_=str(128 * 1024))
    assert tuned["applied"] is True and plain["applied"] is False
    # glibc's default: every multi-MB activation is mapped and faulted in again (~5 x 10^4 faults per pass)
    assert plain["faults"] > 2000, plain
    assert tuned["faults"] < plain["faults"] / 10, (tuned, plain)
    assert tuned["sum"] == plain["sum"]  # where memory comes from never changes a number


@glibc
def test_the_users_own_malloc_settings_win():
    assert _probe(MALLOC_MMAP_THRESHOLD_="1048576")["applied"] is False
    assert _probe(MALLOC_TRIM_THRESHOLD_="1048576")["applied"] is False
    assert _probe(TRANSFERGRAPH_KEEP_HEAP="0")["applied"] is False  # the documented opt-out


def test_importing_planner_does_not_touch_the_allocator():
    done = subprocess.run(
        [sys.executable, "-c", "import transfergraph.planner, transfergraph.planner.scoring, transfergraph.planner.runtime.allocator as a; print(a._STATE['applied'])"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"


@glibc
def test_ray_workers_run_jobs_with_the_setting(ray_session):
    from transfergraph.planner.executors import RayExecutor

    def state(job):
        from transfergraph.planner.runtime.allocator import _STATE

        return _STATE["applied"]

    results = dict(RayExecutor(workers=2).run(state, [1, 2, 3], {}))
    assert set(results.values()) == {True}
