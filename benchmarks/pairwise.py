"""Pairwise scoring at scale (issue 4): 6 sources x 120 targets cut from 2 shared 28x28 pools.

Measures, in one run (medians over ``--repeats``, the variants interleaved within each repeat so that they share the load
of the machine):

(a) ``score(..., executor="ray")`` wall time / wall time of plain forward passes of every source over
    the distinct samples (1 torch thread, no hooks, no metrics: the physical floor of the job), both
    in the benchmark process and inside one Ray task (the same process kind that runs the jobs);
(b) the same ratio for the naive approach: one Ray task per (source, target) pair, each forwarding
    its target's samples (no content dedupe), 2 workers;
(c) 1 vs 2 Ray workers (parallel efficiency = T1 / (2 T2));
(d) peak driver memory during ``score()`` over the RSS just before it, against the size of the
    pools plus the models.

Targets are class subsets of random size cut (as copies) from Fashion-MNIST train (pool 1) and test
(pool 2) when the IDX files are present, else from random 28x28 data of the same size.
Run: ``scripts/in_netns.sh .venv/bin/python benchmarks/pairwise.py [--repeats 3] [--out FILE]``
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from transfergraph.planner import Source, Task
from transfergraph.planner.executors.ray_executor import RayExecutor
from transfergraph.planner.scoring import score

torch.set_num_threads(1)


class SmallCNN(nn.Module):
    def __init__(self, n_out: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(32 * 7 * 7, 64), nn.ReLU(),
        )
        self.head = nn.Linear(64, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def load_pools(n1: int, n2: int, seed: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    from transfergraph.adapters.datasets import fashion_mnist_available, load_fashion_mnist

    rng = np.random.default_rng(seed)
    if fashion_mnist_available():
        pools = []
        for split, n in (("train", n1), ("test", n2)):
            x, y = load_fashion_mnist(split=split)
            idx = np.sort(rng.choice(len(x), n, replace=False))
            pools.append((np.ascontiguousarray(x[idx]), y[idx]))
        return pools, "Fashion-MNIST (train/test subsets)"
    pools = [(rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)) for n in (n1, n2)]
    return pools, "random 28x28 (Fashion-MNIST not found)"


def make_targets(pools, n_targets: int, seed: int) -> list[Task]:
    rng = np.random.default_rng(seed)
    tasks = []
    for t in range(n_targets):
        x, y = pools[t % len(pools)]
        classes = rng.choice(10, size=int(rng.integers(2, 6)), replace=False)
        candidates = np.flatnonzero(np.isin(y, classes))
        n = int(min(len(candidates), rng.integers(200, 801)))
        idx = np.sort(rng.choice(candidates, n, replace=False))
        tasks.append(Task(f"t{t:03d}", x[idx].copy(), y[idx]))
    return tasks


def make_sources(n: int) -> list[Source]:
    out = []
    for i in range(n):
        torch.manual_seed(i)
        out.append(Source(f"s{i}", SmallCNN(10).eval()))
    return out


def plain_forward_seconds(sources, distinct: np.ndarray, batch: int = 256, channels_last: bool = True) -> float:
    """Every source over the distinct samples, batch by batch, nothing else. ``channels_last``: the batches
    in NHWC memory order (as score() feeds conv models on the CPU; 2x faster here) or the default NCHW."""
    start = time.perf_counter()
    with torch.no_grad():
        for s in sources:
            for lo in range(0, len(distinct), batch):
                x = torch.from_numpy(np.ascontiguousarray(distinct[lo:lo + batch]))
                if channels_last:
                    x = torch.empty_like(x, memory_format=torch.channels_last).copy_(x)
                s.model(x)
    return time.perf_counter() - start


def plain_forward_in_ray_worker(sources, distinct: np.ndarray):
    """A callable running the same plain forward loop inside one Ray task (the kind of process that
    runs score()'s jobs); each call returns its driver-side wall time (submission and result included)."""
    import ray

    from transfergraph.planner.scoring.payload import ModelPayload

    def loop(payloads, x):
        from transfergraph.planner.runtime.allocator import keep_large_buffers

        keep_large_buffers()  # as score()'s jobs do: the plain loop at its best too
        torch.set_num_threads(1)
        models = [p.load() for p in payloads]
        return plain_forward_seconds([Source(f"m{i}", m) for i, m in enumerate(models)], x)

    remote = ray.remote(num_cpus=1)(loop)
    payloads = ray.put([ModelPayload(s.model, None, None, portable=True) for s in sources])
    x = ray.put(distinct)
    ray.get(remote.remote(payloads, x))  # start-up: worker process, imports

    def run_once() -> float:
        t0 = time.perf_counter()
        ray.get(remote.remote(payloads, x))
        return time.perf_counter() - t0

    return run_once


class PeakMemory:
    """Samples /proc/self/status every 10 ms: peak VmRSS, RssAnon, RssShmem (bytes)."""

    FIELDS = ("VmRSS", "RssAnon", "RssShmem")

    def __init__(self) -> None:
        self.base = self.read()
        self.peak = dict(self.base)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @classmethod
    def read(cls) -> dict[str, int]:
        out = {}
        with open("/proc/self/status") as fh:
            for line in fh:
                key = line.split(":", 1)[0]
                if key in cls.FIELDS:
                    out[key] = int(line.split()[1]) * 1024
        return out

    def _loop(self) -> None:
        while not self._stop.is_set():
            for k, v in self.read().items():
                self.peak[k] = max(self.peak[k], v)
            time.sleep(0.01)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for k, v in self.read().items():
            self.peak[k] = max(self.peak[k], v)


def naive_per_pair_seconds(sources, tasks, workers: int) -> float:
    """One Ray task per (source, target): forward the target's own samples, then LEEP."""
    import ray

    from transfergraph.planner.runtime.forward import forward
    from transfergraph.planner.metrics import REGISTRY
    from transfergraph.planner.scoring.payload import ModelPayload

    leep = REGISTRY["leep"]

    def pair(payload, x, labels):
        from transfergraph.planner.runtime.allocator import keep_large_buffers

        keep_large_buffers()
        torch.set_num_threads(1)
        out = forward(payload.load(), x, want_features=False)
        from scipy.special import log_softmax

        return leep(log_softmax(out.logits.astype(np.float64), axis=1), labels, log_probs=True)

    remote = ray.remote(num_cpus=1, max_retries=3)(pair)
    start = time.perf_counter()
    models = [ray.put(ModelPayload(s.model, None, None, portable=True)) for s in sources]
    data = [ray.put(t.inputs) for t in tasks]
    work = [(m, t) for m in range(len(sources)) for t in range(len(tasks))]
    work.reverse()
    in_flight, results = {}, []
    while work or in_flight:
        while work and len(in_flight) < 2 * workers:
            m, t = work.pop()
            in_flight[remote.remote(models[m], data[t], tasks[t].labels)] = (m, t)
        [ref], _ = ray.wait(list(in_flight), num_returns=1)
        in_flight.pop(ref)
        results.append(ray.get(ref))
    assert len(results) == len(sources) * len(tasks)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool-size", type=int, nargs=2, default=(6000, 4000))
    parser.add_argument("--targets", type=int, default=120)
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="append a Markdown report here")
    args = parser.parse_args()
    from transfergraph.planner.runtime.allocator import keep_large_buffers

    # The in-process plain forward gets the same malloc setting as the workers (planner/runtime/allocator.py),
    # so that no baseline pays page faults that the engine does not.
    keep_large_buffers()
    pools, data_name = load_pools(*args.pool_size, seed=0)
    tasks = make_targets(pools, args.targets, seed=1)
    sources = make_sources(args.sources)
    distinct = np.unique(np.concatenate([t.inputs for t in tasks]).reshape(-1, 784), axis=0).reshape(-1, 1, 28, 28)
    pool_bytes = distinct.nbytes
    model_bytes = sum(p.numel() * p.element_size() for s in sources for p in s.model.parameters())
    task_bytes = sum(t.inputs.nbytes for t in tasks)
    print(f"data: {data_name}; {len(tasks)} targets, {sum(t.n_samples for t in tasks)} target samples "
          f"({task_bytes / 2**20:.0f} MiB), {len(distinct)} distinct ({pool_bytes / 2**20:.1f} MiB); "
          f"{len(sources)} sources ({model_bytes / 2**20:.2f} MiB)", flush=True)
    load = lambda: open("/proc/loadavg").read().split()[:3]  # noqa: E731
    loads = [load()]

    import ray

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    t_init = time.perf_counter() - t0
    ex1, ex2 = RayExecutor(workers=1), RayExecutor(workers=2)  # on one 2-CPU Ray: 1 or 2 tasks at a time
    t0 = time.perf_counter()
    with PeakMemory() as mem:  # the first score() in this process, after ray.init: its own memory only
        reference = score(sources, tasks, metrics=("leep",), executor=ex1, progress=False)
    cold1 = time.perf_counter() - t0
    assert (reference.status == "ok").all(), reference.error.unique()[:3]
    t0 = time.perf_counter()
    df = score(sources, tasks, metrics=("leep",), executor=ex2, progress=False)  # starts the 2nd worker
    cold2 = time.perf_counter() - t0
    assert np.array_equal(df.score.to_numpy(), reference.score.to_numpy())
    in_worker_once = plain_forward_in_ray_worker(sources, distinct)
    print(f"ray.init {t_init:.2f}s; first score() 1 worker {cold1:.2f}s, first 2-worker score() {cold2:.2f}s",
          flush=True)
    # Interleaved repeats, so that every variant sees the same (changing) load on the shared machine.
    fwd, fwd_nchw, in_worker, timings = [], [], [], {"warm1": [], "warm2": []}
    for r in range(args.repeats):
        fwd_nchw.append(plain_forward_seconds(sources, distinct, channels_last=False))
        fwd.append(plain_forward_seconds(sources, distinct))
        in_worker.append(in_worker_once())
        for key, ex in (("warm1", ex1), ("warm2", ex2)):
            t0 = time.perf_counter()
            df = score(sources, tasks, metrics=("leep",), executor=ex, progress=False)
            timings[key].append(time.perf_counter() - t0)
            assert np.array_equal(df.score.to_numpy(), reference.score.to_numpy())
        loads.append(load())
        print(f"repeat {r}: plain NCHW {fwd_nchw[-1]:.2f}s, plain {fwd[-1]:.2f}s, plain in worker {in_worker[-1]:.2f}s, "
              f"score 1 worker {timings['warm1'][-1]:.2f}s, 2 workers {timings['warm2'][-1]:.2f}s", flush=True)
    t_fwd = statistics.median(fwd)
    timings["cold1"], timings["cold2"] = [t_init + cold1], [cold2]
    t_naive = naive_per_pair_seconds(sources, tasks, workers=2)
    loads.append(load())
    print(f"naive per-pair (2 workers): {t_naive:.2f}s", flush=True)
    ray.shutdown()

    w1, w2 = statistics.median(timings["warm1"]), statistics.median(timings["warm2"])
    t_fwd_w = statistics.median(in_worker)
    t_nchw = statistics.median(fwd_nchw)
    rows = [
        ("plain forward, 1 thread, all sources over distinct samples, channels-last batches", t_fwd, 1.0),
        ("the same with default NCHW batches (what a plain loop does unless told)", t_nchw, t_nchw / t_fwd),
        ("same plain forward inside one Ray task (1 worker, warm)", t_fwd_w, t_fwd_w / t_fwd),
        ("score(executor=ray) 1 worker, warm", w1, w1 / t_fwd),
        ("score(executor=ray) 2 workers, warm", w2, w2 / t_fwd),
        ("score(executor=ray) 1 worker, cold (ray.init + first call, starts a worker)", timings["cold1"][0],
         timings["cold1"][0] / t_fwd),
        ("score(executor=ray) first 2-worker call (starts the 2nd worker)", timings["cold2"][0],
         timings["cold2"][0] / t_fwd),
        ("naive: one Ray task per pair, 2 workers", t_naive, t_naive / t_fwd),
    ]
    inc = {k: mem.peak[k] - mem.base[k] for k in mem.base}
    ref_bytes = pool_bytes + model_bytes
    lines = [
        f"### pairwise scoring: {len(sources)} sources x {len(tasks)} targets ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"Command: `scripts/in_netns.sh .venv/bin/python benchmarks/pairwise.py --repeats {args.repeats}`",
        f"Machine: {os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()}, "
        f"torch {torch.__version__}; loadavg (1/5/15 min) during the run: {', '.join('/'.join(l) for l in loads)}",
        f"Data: {data_name}; {sum(t.n_samples for t in tasks)} target samples ({task_bytes / 2**20:.0f} MiB) "
        f"over {len(distinct)} distinct samples ({pool_bytes / 2**20:.1f} MiB); models {model_bytes / 2**20:.2f} MiB.",
        "",
        "| run | wall s (median) | / plain forward (in-process) | / plain forward (in a Ray worker) |",
        "|---|---|---|---|",
        *[f"| {name} | {sec:.2f} | {ratio:.2f} | {sec / t_fwd_w:.2f} |" for name, sec, ratio in rows],
        "",
        f"Parallel efficiency 1 -> 2 workers (warm): T1 / (2 T2) = {w1 / (2 * w2):.0%} "
        f"(speed-up {w1 / w2:.2f}x; the 2 cores are shared with other jobs, see loadavg).",
        f"Peak driver memory during the first score() (1 worker, Ray already initialized) above the RSS before the call: "
        f"RSS +{inc['VmRSS'] / 2**20:.0f} MiB (private +{inc['RssAnon'] / 2**20:.0f} MiB, "
        f"shared-memory object store pages +{inc['RssShmem'] / 2**20:.0f} MiB) vs pools + models "
        f"{ref_bytes / 2**20:.1f} MiB: {inc['VmRSS'] / ref_bytes:.2f}x (private only {inc['RssAnon'] / ref_bytes:.2f}x).",
        f"All runs gave bitwise identical scores. Repeats: plain forward {[round(v, 2) for v in fwd]}, "
        f"NCHW {[round(v, 2) for v in fwd_nchw]}, "
        f"plain forward in a Ray worker {[round(v, 2) for v in in_worker]}, "
        f"warm 1 worker {[round(v, 2) for v in timings['warm1']]}, warm 2 workers {[round(v, 2) for v in timings['warm2']]}.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(report + "\n")


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
