"""`ray job submit` end to end against a real two-node cluster (head with its job server on 127.0.0.1,
worker node on 127.0.0.2, token auth): the job runs `transfergraph run CONFIG --out DIR` from the
uploaded working directory, succeeds on the FIRST job of a fresh cluster (the driver's working
directory is re-created by Ray after it connects: planner/executors/job_cwd.py), writes every output,
and the teardown (scripts/ray_down.sh) leaves no process of the cluster behind.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cluster_support import RAY, TwoNodeCluster

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.skipif(
    not os.environ.get("TG_IN_NETNS"), reason="starts a Ray cluster: run inside scripts/loopback.sh")]
ray_default = pytest.importorskip("ray.dashboard.modules.job.sdk", reason="needs ray[default] (the cluster extra)")


def _pids_holding(folder: str) -> list[int]:
    """Processes with a file open under ``folder`` (every Ray process keeps its logs there open)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}").startswith(folder + "/"):
                    out.append(int(entry))
                    break
            except OSError:
                continue
    return out


def test_ray_job_submit_runs_the_config_and_writes_the_outputs(tmp_path):
    work = tmp_path / "job"                       # the working directory the job uploads
    (work / "configs").mkdir(parents=True)
    cfg = {"name": "job-submit", "seed": 3, "data": {"dataset": "digits", "image_size": 8},
           "tasks": [{"name": f"t{i}", "classes": [i, i + 1, i + 2], "n_per_class": 30} for i in range(3)],
           "models": {"training": {"epochs": 1, "width": 4, "feature_dim": 8}},
           "scoring": {"metrics": ["leep", "h_score"], "executor": "ray"}, "plan": {"metric": "leep"}}
    (work / "configs" / "job.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    env_path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    cluster = TwoNodeCluster(port=6420, job_server=True)
    cluster.env["PATH"] = env_path                # the job's entrypoint finds the `transfergraph` script
    with cluster:
        env = cluster.driver_env()
        env.update(PATH=env_path, RAY_AUTH_MODE="token")
        for _ in range(12):  # the head's job agent can start after the dashboard answers: Ray's 500 says "try again"
            done = subprocess.run([RAY, "job", "submit", "--address", cluster.dashboard, "--working-dir", str(work),
                                   "--", "transfergraph", "run", "configs/job.yaml", "--executor", "ray",
                                   "--out", str(out)],
                                  env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
            if "No available agent to submit job" not in done.stdout + done.stderr:
                break  # nothing is submitted when no agent is there, so a retry cannot run the job twice
            time.sleep(5)
        log = done.stdout[-4000:] + done.stderr[-2000:]
        assert done.returncode == 0, log
        assert "oneMKL" not in log
        listed = subprocess.run([RAY, "job", "list", "--address", cluster.dashboard], env=env,
                                capture_output=True, text=True, timeout=120)
        assert "SUCCEEDED" in listed.stdout, listed.stdout[-2000:] + listed.stderr[-2000:]
        wrong = dict(env, RAY_AUTH_TOKEN="0" * 32)
        refused = subprocess.run([RAY, "job", "list", "--address", cluster.dashboard], env=wrong,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0
    scores = pd.read_csv(out / "scores.csv", dtype={"source": str, "target": str, "source_task": str})
    assert len(scores) == 3 * 3 * 2 and set(scores.status) == {"ok"}
    plan = json.loads((out / "plan.json").read_text())
    assert set(plan["sources"]) == {"t0", "t1", "t2"}
    for name in ("graph.graphml", "report.md", "run.json"):
        assert (out / name).is_file(), name
    assert _pids_holding(cluster.tmpdir) == []     # teardown found every process, DashboardAgent included
