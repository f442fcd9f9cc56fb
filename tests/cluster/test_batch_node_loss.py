"""Batched scoring jobs on a real two-node Ray cluster whose worker node is SIGKILLed while it computes a
batch (several jobs of one source in one task): the lost batch's jobs are rerun, every pair ends ok, and
the table equals a local run bit for bit. Runs inside scripts/loopback.sh, like test_cluster.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cluster_support import TwoNodeCluster

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.skipif(
    not os.environ.get("TG_IN_NETNS"), reason="starts a Ray cluster: run inside scripts/loopback.sh")]


def test_a_batch_lost_with_its_node_is_rerun_and_the_table_equals_local(tmp_path):
    sys.path.insert(0, str(HERE))
    from batch_node_loss_sources import N_SOURCES, sources_and_tasks

    from transfergraph.planner.scoring import score

    out = tmp_path / "scores.csv"
    with TwoNodeCluster(port=6393) as cluster:
        proc = subprocess.run([sys.executable, str(HERE / "batch_node_loss_job.py"), cluster.address,
                               str(cluster.worker_raylet_pid()), str(out), str(tmp_path / "ray.log")],
                              env=cluster.driver_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["nodes_at_start"] == 2 and stats["killed"], stats
    assert stats["tasks"] == N_SOURCES and stats["jobs"] == 3 * N_SOURCES, stats  # each task: a source's 3 jobs
    assert stats["retries"] >= 1, stats  # the kill hit a computing task, hence a batch
    got = pd.read_csv(out, keep_default_na=False, na_values={"score": [""], "normalized": [""]})
    sources, tasks = sources_and_tasks(sleep=0.0)  # the sleep changes the time taken, not the scores
    ref = score(sources, tasks, metrics=("leep", "nce"), progress=False)
    assert (got.status == "ok").all(), got[got.status != "ok"].error.tolist()
    assert len(got) == len(ref)
    for col in ("source", "target", "metric"):
        assert got[col].tolist() == ref[col].astype(str).tolist()
    assert np.array_equal(got.score.to_numpy(), ref.score.to_numpy())  # bitwise
    assert np.array_equal(got.normalized.to_numpy(), ref.normalized.to_numpy())
