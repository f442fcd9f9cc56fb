"""Peak memory of one scoring job whose outputs come from the forward-output store: streamed metrics
(``transfergraph.planner.scoring.streamed``) against the in-memory path, at several target sizes n.

One source (``Linear(8, d) -> ReLU -> Linear(d, Z)``, features = the d ReLU outputs) and one target of
n samples with ``--classes`` classes; the job computes LEEP, NCE, H-score, the shrinkage H-score and LogME.
A first ``run_job`` forwards the samples into a fresh store (not measured); each measured run then
scores from the store with ``tracemalloc`` tracing (NumPy reports its array buffers to it), and
reports the peak of traced memory above what was allocated before the call, and the wall time.
Both paths give bitwise the same scores, LogME's to 1e-12 relative (checked on every run). Median of
``--repeats`` runs.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/streamed_metrics_memory.py --n 20000 80000 --z 10 --d 128 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc

import numpy as np

METRICS = ("leep", "nce", "h_score", "reg_h_score", "logme")


def make_job(n: int, z: int, d: int, classes: int, store_dir: str, seed: int = 0):
    """A (job, payload, pool) triple scoring one n-sample target from a store under ``store_dir``."""
    import torch
    from torch import nn

    from transfergraph.planner.metrics import REGISTRY
    from transfergraph.planner.scoring.jobs import Job, TargetSpec
    from transfergraph.planner.scoring.keys import PoolKey, SourceKey
    from transfergraph.planner.scoring.payload import ModelPayload

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    pool = (rng.standard_normal((n, 8)) + labels[:, None] * 0.3).astype(np.float32)
    model = nn.Sequential(nn.Linear(8, d), nn.ReLU(), nn.Linear(d, z))
    target = TargetSpec("t", index=np.arange(n), labels=labels, metrics=tuple((m, None) for m in METRICS),
                        keys=(None,) * len(METRICS))
    job = Job(source="m", source_key=SourceKey(0), pool_key=PoolKey(0), targets=(target,),
              metric_objects={m: REGISTRY[m] for m in METRICS}, union=np.arange(n), batch_size=1024,
              store_dir=store_dir, store_key="k")
    return job, ModelPayload(model, None, None, portable=False), pool


def measure(job, payload, pool, streamed: bool) -> tuple[float, float, list]:
    """(peak traced MB above the start, seconds, rows) of one ``run_job`` from the store."""
    from transfergraph.planner.scoring import streamed as streamed_mod
    from transfergraph.planner.scoring.jobs import run_job

    streamed_mod.ENABLED = streamed
    try:
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        rows = run_job(job, payload, pool)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
        streamed_mod.ENABLED = True
    return peak / 2**20, seconds, rows


def run(n: int, z: int, d: int, classes: int, repeats: int) -> dict:
    from transfergraph.planner.scoring.jobs import run_job

    with tempfile.TemporaryDirectory() as store_dir:
        job, payload, pool = make_job(n, z, d, classes, store_dir)
        first = run_job(job, payload, pool)  # forward into the store (not measured)
        assert all(r.status == "ok" for r in first), [r.error for r in first]
        out: dict = {"n": n, "z": z, "d": d, "classes": classes}
        for label, streamed in (("streamed", True), ("in_memory", False)):
            runs = [measure(job, payload, pool, streamed) for _ in range(repeats)]
            for _, _, rows in runs:
                for r, f in zip(rows, first):
                    assert r.metric == f.metric and (r.score == f.score if r.metric != "logme"
                                                     else abs(r.score - f.score) <= 1e-12 * abs(f.score))
            out[f"{label}_peak_mb"] = statistics.median(r[0] for r in runs)
            out[f"{label}_seconds"] = statistics.median(r[1] for r in runs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[20000, 80000])
    parser.add_argument("--z", type=int, default=10)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for n in args.n:
        print(json.dumps(run(n, args.z, args.d, args.classes, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
