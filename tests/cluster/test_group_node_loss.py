"""`transfergraph group`'s runner on a real two-node Ray cluster whose worker node is SIGKILLed while it
trains a network: every network still finishes, the lost ones are resubmitted, and the rows equal a
local run bit for bit. Runs inside scripts/loopback.sh, like test_cluster.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_support import TwoNodeCluster

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.skipif(
    not os.environ.get("TG_IN_NETNS"), reason="starts a Ray cluster: run inside scripts/loopback.sh")]


def test_killed_worker_node_costs_only_its_networks(tmp_path):
    sys.path.insert(0, str(HERE))
    from group_node_loss_job import JOBS, MarkingTrunk, strip, toy_data

    from transfergraph.planner.executors import get_executor
    from transfergraph.planner.validation.cotrain_runner import run_networks

    with TwoNodeCluster(port=6391) as cluster:
        proc = subprocess.run([sys.executable, str(HERE / "group_node_loss_job.py"), cluster.address,
                               str(cluster.worker_raylet_pid()), str(tmp_path / "cache"), str(tmp_path / "ray.log")],
                              env=cluster.driver_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["killed"] and got["retries"] >= 1 and got["failed"] == [], {k: got[k] for k in got if k != "rows"}
    assert sorted(got["trained"]) == sorted(j.key for j in JOBS)  # each network finished once, lost ones resubmitted
    assert len(list((tmp_path / "cache").rglob("*.json"))) == len(JOBS)
    local = run_networks(JOBS, toy_data(), MarkingTrunk(None, 0.0), executor=get_executor("local"))
    assert got["rows"] == strip(local.rows)  # bitwise: JSON floats round-trip exactly
