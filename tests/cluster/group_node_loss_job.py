"""Driver run by test_group_node_loss.py (a process of its own): train the co-training networks of three
toy tasks on the cluster at ADDRESS, SIGKILL the worker node's raylet (RAYLET_PID) as soon as a network is
training on that node, and cache every finished network in CACHE_DIR. Prints one JSON line: what was
trained, the executor's resubmissions and the rows (cpu_seconds left out).

Usage: python group_node_loss_job.py ADDRESS RAYLET_PID CACHE_DIR LOG_FILE
"""
import json
import os
import signal
import sys
import tempfile
import threading
import time

from cluster_support import connect_driver
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget
from transfergraph.planner.validation.cotrain_design import design_networks
from transfergraph.planner.validation.cotrain_runner import NetworkCache, run_networks


class MarkingTrunk:
    """A small conv trunk; on a Ray worker, building it first leaves ``<node id>-<pid>`` in ``mark_dir`` and
    waits ``pause`` seconds (so the driver can kill the node while the network is training there)."""

    def __init__(self, mark_dir, pause):
        self.mark_dir, self.pause = mark_dir, pause

    def __call__(self):
        from torch import nn

        if self.mark_dir is not None:
            import ray

            if ray.is_initialized() and ray.get_runtime_context().get_node_id():
                node = ray.get_runtime_context().get_node_id()
                open(os.path.join(self.mark_dir, f"{node}-{os.getpid()}"), "w").close()
                time.sleep(self.pause)
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def toy_data():
    import torch

    gen = torch.Generator().manual_seed(3)

    def task(name, shift):
        x = torch.randn(24, 1, 6, 6, generator=gen) + shift
        y = torch.arange(24) % 2
        return TaskArrays(name, 2, x, y, x[:8].clone(), y[:8].clone(), x[8:].clone(), y[8:].clone())

    return [task("a", 0.0), task("b", 0.4), task("c", -0.4)]


JOBS = design_networks(["a", "b", "c"], seeds=[0, 1]).jobs(TrainBudget(steps=3, batch=4, n_evals=1))


def strip(rows):
    return [{k: v for k, v in r.items() if k != "cpu_seconds"} for r in rows]


if __name__ == "__main__":
    address, raylet_pid, cache_dir, log_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    killed: dict = {}
    exe, _, worker_node = connect_driver(address, log_file)
    mark_dir = tempfile.mkdtemp(prefix="tg-gmarks-")

    def kill_when_busy():
        end = time.time() + 60
        while time.time() < end and not any(f.startswith(worker_node) for f in os.listdir(mark_dir)):
            time.sleep(0.05)
        os.kill(raylet_pid, signal.SIGKILL)
        killed["at"] = time.time()

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    done = run_networks(JOBS, toy_data(), MarkingTrunk(mark_dir, 1.0), executor=exe, cache=NetworkCache(cache_dir))
    killer.join(1)
    print(json.dumps({"killed": "at" in killed, "retries": exe.stats.retries, "errors": exe.stats.system_failures,
                      "trained": done.trained, "failed": done.failed, "rows": strip(done.rows)}), flush=True)
