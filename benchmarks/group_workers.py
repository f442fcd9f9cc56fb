"""Wall time of `transfergraph group`'s networks in process vs on an embedded Ray (benchmarks/RESULTS.md).

Trains the co-training networks of a config (every single task and pair, ``--seeds`` seeds) with
:func:`transfergraph.planner.validation.cotrain_runner.run_networks`: on the local executor, then on an
embedded Ray with ``--workers`` workers (start, first run on fresh workers, second run on warm ones), for
``--rounds`` interleaved rounds; checks the rows are identical and prints one JSON line per round and the
medians. Run it inside scripts/loopback.sh on the development machines:

    bash scripts/loopback.sh python benchmarks/group_workers.py configs/tiny.yaml --steps 400 --seeds 3
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from transfergraph.config import load_config
    from transfergraph.jobs.group import TrunkFactory
    from transfergraph.jobs.suite import build_tasks
    from transfergraph.planner.executors import get_executor
    from transfergraph.planner.validation._training_core import TrainBudget, prepare_tasks
    from transfergraph.planner.validation.cotrain_design import design_networks
    from transfergraph.planner.validation.cotrain_runner import run_networks

    cfg = load_config(args.config)
    data = prepare_tasks(build_tasks(cfg), split_seed=cfg.seed)
    t = cfg.models.training
    trunk = TrunkFactory(t.arch, int(data[0].train_x.shape[1]), t.width, t.feature_dim)
    jobs = design_networks([d.name for d in data], seeds=range(args.seeds)).jobs(TrainBudget(steps=args.steps))

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "cpu_seconds"} for r in rows]

    def timed(executor):
        t0 = time.perf_counter()
        out = run_networks(jobs, data, trunk, executor=executor)
        cpu = sum({(r["seed"], r["subset"]): r["cpu_seconds"] for r in out.rows}.values())
        return time.perf_counter() - t0, cpu, strip(out.rows)

    rounds = []
    for r in range(args.rounds):
        local_s, local_cpu, ref = timed(get_executor("local"))
        ray_exec = get_executor("ray", workers=args.workers)
        t0 = time.perf_counter()
        ray_exec.connect()
        start_s = time.perf_counter() - t0
        cold_s, ray_cpu, rows = timed(ray_exec)
        warm_s, _, _ = timed(ray_exec)
        ray_exec.close()
        rounds.append({"round": r, "networks": len(jobs), "local_s": local_s, "local_cpu_s": local_cpu,
                       "ray_start_s": start_s, "ray_cold_s": cold_s, "ray_warm_s": warm_s, "ray_cpu_s": ray_cpu,
                       "identical": rows == ref, "load": os.getloadavg()[0]})
        print(json.dumps(rounds[-1]), flush=True)
    print(json.dumps({k: statistics.median(x[k] for x in rounds)
                      for k in ("local_s", "ray_start_s", "ray_cold_s", "ray_warm_s", "local_cpu_s", "ray_cpu_s")}))


if __name__ == "__main__":
    main()
