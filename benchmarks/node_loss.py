"""Node loss on a real two-node Ray cluster, and the cost of the connection pre-flight check.

Starts a head (127.0.0.1) and a worker node (127.0.0.2) with ``ray start`` (token auth on), then
RUNS times: scores five slow tiny sources plus one that raises (tests/cluster/node_loss_job.py),
SIGKILLs the worker node's raylet while a job computes there, and reads how long after the kill
the resubmitted jobs succeeded; a fresh worker node joins before the next run. Then it times the
pre-flight check (transfergraph.planner.executors.preflight.check_cluster) against ``ray.init`` + ``ray.shutdown``
of the same driver. Prints one JSON object. Run inside the loopback-only namespace:

    LOOPBACK=1 bash scripts/loopback.sh .venv/bin/python benchmarks/node_loss.py [RUNS]
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))

from cluster_support import TwoNodeCluster  # noqa: E402

_PREFLIGHT = r"""
import json, statistics, sys, time
from transfergraph.planner.executors.preflight import check_cluster
import ray
checks, inits = [], []
for _ in range(7):
    t = time.perf_counter(); info = check_cluster(sys.argv[1]); checks.append(time.perf_counter() - t)
for _ in range(3):
    t = time.perf_counter(); ray.init(address=sys.argv[1], log_to_driver=False, logging_level="error")
    inits.append(time.perf_counter() - t); ray.shutdown()
print(json.dumps({"check_s": checks, "init_s": inits, "nodes": info.nodes}))
"""


def _alive_nodes(cluster: TwoNodeCluster) -> int:
    code = ("import sys; from transfergraph.planner.executors.preflight import check_cluster; "
            "print(check_cluster(sys.argv[1]).nodes)")
    out = subprocess.run([sys.executable, "-c", code, cluster.address], env=cluster.driver_env(),
                         capture_output=True, text=True, timeout=60)
    return int(out.stdout.strip() or 0)


def main(runs: int) -> dict:
    results = []
    with TwoNodeCluster() as cluster:
        for run in range(runs):
            if run:  # wait until the GCS declares the killed node dead, then a fresh one joins
                deadline = time.time() + 120
                while _alive_nodes(cluster) > 1 and time.time() < deadline:
                    time.sleep(1)
                cluster.add_worker()
                deadline = time.time() + 60
                while _alive_nodes(cluster) < 2 and time.time() < deadline:
                    time.sleep(1)
            with tempfile.TemporaryDirectory() as tmp:
                proc = subprocess.run(
                    [sys.executable, str(ROOT / "tests/cluster/node_loss_job.py"), cluster.address,
                     str(cluster.worker_raylet_pid()), os.path.join(tmp, "s.csv"), os.path.join(tmp, "ray.log")],
                    env=cluster.driver_env(), capture_output=True, text=True, timeout=300)
            if proc.returncode:
                raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
            stats = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(stats)
            print(json.dumps(stats), file=sys.stderr, flush=True)
        pre = subprocess.run([sys.executable, "-c", _PREFLIGHT, cluster.address], env=cluster.driver_env(),
                             capture_output=True, text=True, timeout=300)
        preflight = json.loads(pre.stdout.strip().splitlines()[-1])
    first = [min(r["recovery_s"]) for r in results if r["recovery_s"]]
    last = [max(r["recovery_s"]) for r in results if r["recovery_s"]]
    return {
        "runs": runs, "load_avg_1min": os.getloadavg()[0],
        "resubmissions": [r["retries"] for r in results], "errors": [r["errors"] for r in results],
        "kill_to_first_recovery_s_median": statistics.median(first) if first else None,
        "kill_to_all_recovered_s_median": statistics.median(last) if last else None,
        "kill_to_all_recovered_s": last, "run_seconds": [r["seconds"] for r in results],
        "preflight_check_s_median": statistics.median(preflight["check_s"]),
        "ray_init_s_median": statistics.median(preflight["init_s"]),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3), indent=1))
