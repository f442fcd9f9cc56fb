"""Driver run by test_cluster.py (it needs a process of its own): score tiny sleepy sources on the
cluster at ADDRESS and SIGKILL the worker node's raylet (RAYLET_PID) as soon as a job is computing
on that node. Writes the score table to OUT_CSV and one JSON line of executor statistics to stdout.

Usage: python node_loss_job.py ADDRESS RAYLET_PID OUT_CSV LOG_FILE
"""
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scoring"))

from cluster_support import connect_driver, kill_raylet_when_busy  # noqa: E402
from node_loss_sources import sources_and_tasks  # noqa: E402
from transfergraph.planner.scoring import score  # noqa: E402

address, raylet_pid, out_csv, log_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
killed: dict = {}

exe, nodes, worker_node = connect_driver(address, log_file)
mark_dir = tempfile.mkdtemp(prefix="tg-marks-")
sources, tasks = sources_and_tasks(mark_dir=mark_dir)
killer = threading.Thread(target=kill_raylet_when_busy, args=(raylet_pid, worker_node, mark_dir, killed),
                          daemon=True)
killer.start()
t0 = time.time()
df = score(sources, tasks, metrics=("leep", "h_score"), executor=exe, progress=False)
df.to_csv(out_csv, index=False)
killer.join(1)
print(json.dumps({
    "nodes_at_start": nodes, "killed": "at" in killed, "retries": exe.stats.retries,
    "errors": exe.stats.system_failures, "failed_nodes": len(exe.stats.failed_nodes), "seconds": time.time() - t0,
    "recovery_s": [t - killed["at"] for t in exe.stats.recovered_at if "at" in killed], "describe": exe.describe(),
}), flush=True)
