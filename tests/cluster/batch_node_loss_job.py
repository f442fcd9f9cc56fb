"""Driver run by test_batch_node_loss.py (it needs a process of its own): score the sources of
batch_node_loss_sources.py on the cluster at ADDRESS (jobs batched, 3 to a task) and SIGKILL the worker
node's raylet (RAYLET_PID) as soon as a task computes there. Writes the score table to OUT_CSV and one
JSON line of executor statistics to stdout.

Usage: python batch_node_loss_job.py ADDRESS RAYLET_PID OUT_CSV LOG_FILE
"""
import json
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch_node_loss_sources import SHAPES, sources_and_tasks  # noqa: E402
from cluster_support import connect_driver, kill_raylet_when_busy  # noqa: E402
from transfergraph.planner.scoring import score  # noqa: E402

address, raylet_pid, out_csv, log_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
killed: dict = {}

exe, nodes, worker_node = connect_driver(address, log_file)
mark_dir = tempfile.mkdtemp(prefix="tg-marks-")
sources, tasks = sources_and_tasks(mark_dir=mark_dir)
killer = threading.Thread(target=kill_raylet_when_busy, args=(raylet_pid, worker_node, mark_dir, killed),
                          daemon=True)
killer.start()
df = score(sources, tasks, metrics=("leep", "nce"), executor=exe, progress=False)
df.to_csv(out_csv, index=False)
killer.join(1)
print(json.dumps({
    "nodes_at_start": nodes, "killed": "at" in killed, "retries": exe.stats.retries,
    "errors": exe.stats.system_failures, "tasks": exe.last_tasks, "jobs": len(sources) * len(SHAPES),
}), flush=True)
