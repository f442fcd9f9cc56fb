"""Run by test_cluster.py in its own process (it needs its own Ray): a 2-node
``ray.cluster_utils.Cluster`` with token auth; the worker node is removed (hard failure) right after
the first job finishes, and score() must still return every pair.

Usage: python cluster_job.py RAY_TMPDIR OUT_CSV
"""
import os
import sys
import time
import uuid

os.environ["RAY_TMPDIR"] = sys.argv[1]
os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN"] = uuid.uuid4().hex
os.environ.pop("RAY_ADDRESS", None)
os.makedirs(sys.argv[1], exist_ok=True)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ray.cluster_utils import Cluster  # noqa: E402

from scoring_support import sleepy, tiny_model, tiny_tasks  # noqa: E402
from planner import Source  # noqa: E402
from planner.executors.ray_executor import RayExecutor  # noqa: E402
from planner.scoring import score  # noqa: E402

start = time.time()
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
worker = cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
print(f"cluster up in {time.time() - start:.1f}s at {cluster.address}", flush=True)
events = []


class RemoveWorkerNode(RayExecutor):
    def run(self, fn, jobs, shared):
        for i, item in enumerate(super().run(fn, jobs, shared)):
            if i == 0:
                import ray

                nodes = {n["NodeID"][:8]: n["Alive"] for n in ray.nodes()}
                cluster.remove_node(worker, allow_graceful=False)
                events.append(f"removed worker node after the first job; nodes were {nodes}")
            yield item


sources = [Source(f"s{i}", tiny_model(i), transform=sleepy(0.6)) for i in range(5)]
t0 = time.time()
try:
    df = score(sources, tiny_tasks(), metrics=("leep", "h_score"), progress=False,
               executor=RemoveWorkerNode(address=cluster.address, max_retries=3))
    print(*events, sep="\n")
    print(f"scored {len(df)} rows in {time.time() - t0:.1f}s", flush=True)
    df.to_csv(sys.argv[2], index=False)
finally:
    import ray

    ray.shutdown()
    cluster.shutdown()
