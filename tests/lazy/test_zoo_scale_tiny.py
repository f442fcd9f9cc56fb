"""The tiny tier of ``benchmarks/zoo_scale.py``: its generator, its unique-forward limit and its
``transfergraph run`` phase at 6 models x 6 targets (local executor, a 2,000-image pool), so the
benchmark cannot rot. Needs the Fashion-MNIST IDX files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from transfergraph.adapters.datasets import fashion_mnist_available

pytestmark = [pytest.mark.slow, pytest.mark.fmnist,
              pytest.mark.skipif(not fashion_mnist_available(), reason="Fashion-MNIST IDX files not installed")]

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "zoo_scale.py"


def _phase(*args: str) -> dict:
    out = subprocess.run([sys.executable, str(BENCH), *args, "--json", "-"], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_zoo_scale_tiny_tier(tmp_path):
    gen = _phase("generate", "--dir", str(tmp_path), "--models", "6", "--targets", "6", "--per-class", "4",
                 "--steps", "3", "--train-procs", "1", "--pool-size", "2000", "--executor", "local",
                 "--metrics", "leep,nce")
    config = Path(gen["config"])
    pool_y = np.load(tmp_path / "pool_y.npy")
    assert len(pool_y) == 2000 + 898 and set(np.unique(pool_y)) == set(range(20))
    assert sorted(p.name for p in (tmp_path / "models").glob("*.pt")) == [f"m{i:03d}.pt" for i in range(6)]

    # the generator is resumable: a second call keeps every file as it is
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "models").glob("*.pt")}
    _phase("generate", "--dir", str(tmp_path), "--models", "6", "--targets", "6", "--per-class", "4",
           "--steps", "3", "--train-procs", "1", "--pool-size", "2000", "--executor", "local",
           "--metrics", "leep,nce")
    assert {p: p.stat().st_mtime_ns for p in before} == before

    limit = _phase("limit", "--config", str(config), "--procs", "1", "--batch-size", "64")
    assert set(limit["per_model_s"]) == {f"m{i:03d}" for i in range(6)}
    assert limit["n_distinct"] > 0 and limit["forward_s"] > 0

    run = _phase("run", "--config", str(config), "--out", str(tmp_path / "out"), "--again")
    first, again = run["first"], run["again"]
    assert first["rc"] == 0 and first["n_pairs"] == 36 and first["ok"] == 36 * 2 and first["failed"] == 0
    assert {"graph_s", "plan_s", "report_s", "scoring_s"} <= set(first)
    assert first["driver_peak_mb"] > 0
    # the second run scores every pair again from the forward-output store: same scores
    assert again["rc"] == 0 and again["ok"] == 36 * 2 and again["max_abs_diff_vs_first"] == 0.0
