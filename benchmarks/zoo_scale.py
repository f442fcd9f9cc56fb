"""Zoo-scale benchmark: ~100 source checkpoints x ~100 targets cut from a 60,898-image pool, through
``transfergraph run``, against the unique-forward limit measured in the same session.

Phases (each in its own process, so that memory and time are that phase's own):

- ``generate``: the pool, the zoo and the configs (``benchmarks/_zoo_gen.py``; resumable).
- ``limit``: the unique-forward limit: every distinct sample of the config's targets read once
  (same readers, same shifts as the run) and forwarded through every source once, by a plain
  ``torch.no_grad()`` loop with the run's batch size, in ``--procs`` processes of one torch thread each
  (the run's Ray workers each use one thread), models dealt to the processes by their measured cost.
  Reports the wall time (slowest process), the read (I/O) and forward seconds and CPU seconds.
- ``run``: ``transfergraph run CONFIG --out OUT`` (a subprocess; the Ray executor of the config, or
  ``--address``), sampling every 0.5 s the peak RSS (``VmHWM``) and CPU time of the driver and of every
  process under it (Ray's workers ``ray::*``/``default_worker``, and its own services); phase times from
  the log lines and from the output files' modification times (``scores.csv`` is written when scoring
  ends, then ``graph.graphml``, ``plan.json``, ``report.md``).
  With ``--again`` it then deletes the pair cache (``OUT/cache/scores.v*.jsonl``) and runs the same
  command again: the forward-output store serves every model output, so the second scoring time is
  metrics + store reads + scheduling, and the difference is the forward time inside the run.
- ``run --cluster``: the same on a two-node ``ray start`` cluster (``tests/cluster/cluster_support.py``:
  head on 127.0.0.1, worker node on 127.0.0.2, token auth, 1 CPU each), the cluster's processes sampled too.
- ``driver``: the steps of ``transfergraph run`` in this process (tasks, sources, scores read back from a
  finished run's cache, graph, plan, report) with the resident memory after each step and its own peak.
- ``all``: generate, then for each size ``SxT`` the limit and the run (with ``--again``), and a JSON of it all.

Usage (inside the loopback namespace; Ray needs it on the development machines)::

    nice -n 5 bash scripts/loopback.sh .venv/bin/python benchmarks/zoo_scale.py all \\
        --dir runs/zoo_scale --sizes 10x10,32x32,100x100 --per-class 12 --json runs/zoo_scale/results.json

The 100x100 run's ``scores.csv`` is copied to ``DIR/scores.csv`` (every pair scored: the ground truth
of the predicted-pairs benchmark).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _zoo_gen as gen  # noqa: E402

#: relative forward cost of each architecture (measured at 28 x 28, one thread): deals models to processes
COST = {("small_cnn", 8): 1.0, ("small_cnn", 16): 2.5, ("torchvision:shufflenet_v2_x0_5", None): 2.1,
        ("torchvision:squeezenet1_1", None): 4.3}


def _status_kb(pid: int, key: str) -> int | None:
    try:
        m = re.search(rf"{key}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return None
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------- limit
def _limit_worker(args: tuple[str, list[int], int, int]) -> dict:
    """One process of the limit: read the distinct samples of every pool once, forward its models."""
    config_path, model_ids, batch_size, threads = args
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import numpy as np
    import torch

    from transfergraph.config import load_config
    from transfergraph.jobs.suite import build_sources, build_tasks
    from transfergraph.planner.inputs.lazy import LazyInputs

    torch.set_num_threads(threads)
    config = load_config(config_path)
    t0 = time.perf_counter()
    tasks = build_tasks(config)
    all_sources = build_sources(config, tasks)
    sources = [all_sources[i] for i in model_ids]
    setup = time.perf_counter() - t0
    pools: dict[str, tuple] = {}
    for t in tasks:
        reader, rows = pools.get(t.inputs.identity, (t.inputs.reader, []))
        rows.append(t.inputs.rows)
        pools[t.inputs.identity] = (reader, rows)
    cpu0, t1 = time.process_time(), time.perf_counter()
    data = []
    for reader, rows in pools.values():  # decode every distinct sample once (same reader, same shifts)
        union = np.unique(np.concatenate(rows))
        data.append(torch.from_numpy(np.ascontiguousarray(LazyInputs(reader, union).read_rows(union),
                                                          dtype=np.float32)))
    io = time.perf_counter() - t1
    per_model = {}
    with torch.no_grad():
        for s in sources:
            t2 = time.perf_counter()
            for x in data:
                for b in range(0, len(x), batch_size):
                    xb = x[b:b + batch_size]
                    s.model(s.transform(xb) if s.transform is not None else xb)
            per_model[s.name] = time.perf_counter() - t2
    return {"setup_s": setup, "io_s": io, "forward_s": sum(per_model.values()), "wall_s": time.perf_counter() - t1,
            "cpu_s": time.process_time() - cpu0, "per_model_s": per_model,
            "n_distinct": int(sum(len(x) for x in data)), "n_pools": len(data),
            "peak_rss_mb": (_status_kb(os.getpid(), "VmHWM") or 0) / 1024}


def phase_limit(config_path: Path, procs: int, batch_size: int) -> dict:
    """The unique-forward limit of ``config_path`` in ``procs`` one-thread processes."""
    from transfergraph.config import load_config

    config = load_config(config_path)
    specs = [gen.model_spec(int(m.name[1:])) for m in config.models.external]
    order = sorted(range(len(specs)), key=lambda i: -COST[(specs[i]["arch"], specs[i]["width"])])
    shares: list[list[int]] = [[] for _ in range(procs)]
    load = [0.0] * procs
    for i in order:  # greedy: the next costliest model to the least loaded process
        k = load.index(min(load))
        shares[k].append(i)
        load[k] += COST[(specs[i]["arch"], specs[i]["width"])]
    jobs = [(str(config_path), sorted(s), batch_size, 1) for s in shares if s]
    if len(jobs) == 1:
        results = [_limit_worker(jobs[0])]
    else:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(len(jobs)) as pool:
            results = pool.map(_limit_worker, jobs)
    return {"phase": "limit", "procs": len(jobs), "batch_size": batch_size,
            "wall_s": max(r["wall_s"] for r in results), "io_s": max(r["io_s"] for r in results),
            "forward_s": max(r["forward_s"] for r in results), "cpu_s": sum(r["cpu_s"] for r in results),
            "setup_s": max(r["setup_s"] for r in results), "n_distinct": results[0]["n_distinct"],
            "n_pools": results[0]["n_pools"], "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "per_proc": [{k: v for k, v in r.items() if k != "per_model_s"} for r in results],
            "per_model_s": {k: v for r in results for k, v in r["per_model_s"].items()}}


# ------------------------------------------------------------------------------------------------ run
class _Sampler(threading.Thread):
    """Peak RSS (VmHWM) and CPU seconds of a process and everything under it, every ``period`` s."""

    def __init__(self, pid: int, period: float = 0.5, extra_pids=None) -> None:
        super().__init__(daemon=True)
        self.pid, self.period, self.stop = pid, period, threading.Event()
        self.extra_pids = extra_pids  # () -> pids outside the driver's tree (a cluster's processes)
        self.peak: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.kind: dict[int, str] = {}

    def _kind(self, p) -> str:
        if p.pid == self.pid:
            return "driver"
        try:
            name, cmd = p.name(), " ".join(p.cmdline())
        except Exception:  # noqa: BLE001 - gone
            return "other"
        if "default_worker.py" in cmd:  # a worker before it renames itself
            return "worker"
        if name.startswith("ray::") and not any(s in name for s in ("IDLE", "DashboardAgent", "RuntimeEnvAgent")):
            return "worker"  # ray::_call (a task running); an idle worker stays a service until it runs one
        return "ray_service"

    def run(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        while not self.stop.is_set():
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for pid in (self.extra_pids() if self.extra_pids else ()):
                try:
                    procs.append(psutil.Process(pid))
                except psutil.NoSuchProcess:
                    pass
            for p in procs:
                hwm = _status_kb(p.pid, "VmHWM")
                if hwm is None:
                    continue
                self.peak[p.pid] = max(self.peak.get(p.pid, 0), hwm)
                if p.pid not in self.kind or self.kind[p.pid] == "ray_service":
                    self.kind[p.pid] = self._kind(p)
                try:
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
                except Exception:  # noqa: BLE001 - gone
                    pass
            self.stop.wait(self.period)

    def summary(self) -> dict:
        by: dict[str, list[int]] = {}
        for pid, k in self.kind.items():
            by.setdefault(k, []).append(pid)
        return {"driver_peak_mb": max((self.peak[p] for p in by.get("driver", [])), default=0) / 1024,
                "worker_peak_mb": max((self.peak[p] for p in by.get("worker", [])), default=0) / 1024,
                "n_workers": len(by.get("worker", [])),
                "ray_service_peak_mb": max((self.peak[p] for p in by.get("ray_service", [])), default=0) / 1024,
                "cpu_s": {k: sum(self.cpu.get(p, 0.0) for p in v) for k, v in by.items()}}


def _one_run(config_path: Path, out: Path, extra: list[str], env: dict | None = None, extra_pids=None) -> dict:
    cmd = [str(Path(sys.executable).parent / "transfergraph"), "run", str(config_path), "--out", str(out), *extra]
    t0 = time.time()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
    sampler = _Sampler(proc.pid, extra_pids=extra_pids)
    sampler.start()
    marks: dict[str, float] = {}
    tail: list[str] = []
    for line in proc.stderr:
        now = time.time() - t0
        for key, pat in (("building", "] building "), ("scoring", "] scoring "), ("wrote", "] wrote ")):
            if pat in line and key not in marks:
                marks[key] = now
        tail = (tail + [line.rstrip()[-300:]])[-30:]
    rc = proc.wait()
    end = time.time() - t0
    sampler.stop.set()
    sampler.join()
    files = {}
    for name in ("scores.csv", "graph.graphml", "plan.json", "report.md"):
        if (out / name).is_file():
            files[name] = (out / name).stat().st_mtime - t0
    res = {"rc": rc, "wall_s": end, "marks_s": marks, "files_s": files, **sampler.summary()}
    if rc not in (0, 1):
        res["stderr_tail"] = tail
    if "scores.csv" in files and "scoring" in marks:
        res["scoring_s"] = files["scores.csv"] - marks["scoring"]
        res["setup_s"] = marks["scoring"]
    if {"scores.csv", "graph.graphml", "plan.json", "report.md"} <= set(files):
        res["graph_s"] = files["graph.graphml"] - files["scores.csv"]
        res["plan_s"] = files["plan.json"] - files["graph.graphml"]
        res["report_s"] = files["report.md"] - files["plan.json"]
    return res


def _score_stats(out: Path) -> dict:
    import pandas as pd

    df = pd.read_csv(out / "scores.csv")
    pairs = df[["source", "target"]].drop_duplicates()
    return {"n_rows": len(df), "n_pairs": len(pairs), "ok": int((df["status"] == "ok").sum()),
            "failed": int((df["status"] == "failed").sum()), "cached": int(df["cached"].sum()),
            "sum_row_seconds": float(df["seconds"].sum()),
            "errors": df.loc[df["status"] == "failed", "error"].drop_duplicates().head(3).tolist()}


def phase_run(config_path: Path, out: Path, *, again: bool, extra: list[str], cluster: bool = False) -> dict:
    """``transfergraph run`` on a fresh ``out`` (and again from the store with ``again``); with ``cluster``
    on a two-node ``ray start`` cluster (``tests/cluster/cluster_support.py``: loopback addresses, token
    auth; run inside ``scripts/loopback.sh``), its processes sampled as well."""
    if out.exists():
        shutil.rmtree(out)
    if cluster:
        sys.path.insert(0, str(ROOT / "tests" / "cluster"))
        from cluster_support import TwoNodeCluster, ray_pids

        with TwoNodeCluster(port=6470, worker_cpus=1) as c:
            first = _one_run(config_path, out, ["--address", c.address, *extra], env=c.driver_env(),
                             extra_pids=lambda: ray_pids(c.tmpdir))
        first.update(_score_stats(out) if (out / "scores.csv").is_file() else {})
        return {"phase": "run", "cluster": "two-node ray start (head 1 CPU @127.0.0.1, worker 1 CPU @127.0.0.2)",
                "config": str(config_path), "first": first}
    first = _one_run(config_path, out, extra)
    first.update(_score_stats(out) if (out / "scores.csv").is_file() else {})
    res = {"phase": "run", "config": str(config_path), "first": first}
    if again and (out / "scores.csv").is_file():
        for f in (out / "cache").glob("scores.v*.jsonl"):
            f.unlink()
        shutil.copyfile(out / "scores.csv", out / "scores.first.csv")
        for name in ("scores.csv", "graph.graphml", "plan.json", "report.md"):
            (out / name).unlink(missing_ok=True)
        second = _one_run(config_path, out, extra)
        if (out / "scores.csv").is_file():
            import pandas as pd

            second.update(_score_stats(out))
            keys = ["source", "target", "metric"]
            both = pd.read_csv(out / "scores.first.csv").merge(pd.read_csv(out / "scores.csv"), on=keys)
            second["max_abs_diff_vs_first"] = float((both["score_x"] - both["score_y"]).abs().max())
        res["again"] = second
    return res


# --------------------------------------------------------------------------------------------- driver
def phase_driver(config_path: Path, cache: Path, out: Path) -> dict:
    """Where the driver's memory goes: the steps of ``transfergraph run`` in this process, every pair read
    back from ``cache`` (a finished run's ``OUT/cache``: no model runs), with the resident memory after
    each step and each step's own peak (``VmHWM`` reset before it through ``/proc/self/clear_refs``)."""
    import ctypes

    import networkx as nx

    from transfergraph.config import load_config
    from transfergraph.jobs.planning import plan_options
    from transfergraph.jobs.suite import build_sources, build_tasks
    from transfergraph.planner.decisions import build_plan
    from transfergraph.planner.decisions.trust import data_warnings
    from transfergraph.planner.graph import build_graph
    from transfergraph.planner.report import write_report
    from transfergraph.planner.scoring import score

    config = load_config(config_path)
    out.mkdir(parents=True, exist_ok=True)
    steps: list[dict] = []
    state: dict = {}

    def step(name, fn):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
        t = time.perf_counter()
        state[name] = fn()
        steps.append({"step": name, "seconds": time.perf_counter() - t,
                      "rss_after_mb": _status_kb(os.getpid(), "VmRSS") / 1024,
                      "peak_during_mb": _status_kb(os.getpid(), "VmHWM") / 1024})

    steps.append({"step": "imports", "rss_after_mb": _status_kb(os.getpid(), "VmRSS") / 1024})
    step("tasks", lambda: build_tasks(config))
    step("sources", lambda: build_sources(config, state["tasks"]))
    step("scores", lambda: score(state["sources"], state["tasks"], metrics=tuple(config.scoring.metrics),
                                 executor="local", cache=str(cache), progress=False, seed=config.seed,
                                 batch_size=config.scoring.batch_size))
    options = plan_options(config)

    def graph():
        g = build_graph(state["scores"], metric=options.metric)
        nx.write_graphml(g, out / "graph.graphml")
        state["scores"].to_csv(out / "scores.csv", index=False)
        return g

    def plan():
        made = build_plan(state["graph"], options)
        made.warnings += data_warnings(made.to_json(), scores=state["scores"], tasks=state["tasks"],
                                       sources=state["sources"], metric=options.metric)
        (out / "plan.json").write_text(json.dumps(made.to_json()))
        return made

    step("graph", graph)
    step("plan", plan)
    summary = {"name": config.name, "n_tasks": len(state["tasks"]), "n_sources": len(state["sources"]),
               "executor": "local (every pair read back from the cache)"}
    step("report", lambda: write_report(out, graph=state["graph"], plan=state["plan"].to_json(),
                                        scores=state["scores"], summary=summary, seconds=0.0))
    return {"phase": "driver", "config": str(config_path), "n_rows": len(state["scores"]),
            "n_cached": int(state["scores"]["cached"].sum()), "steps": steps}


# ------------------------------------------------------------------------------------------------ all
def _sub(args: list[str]) -> dict:
    """Run this script's phase ``args`` in a fresh process; return its JSON."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args, "--json", "-"],
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"phase {args} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("phase", choices=("generate", "limit", "run", "driver", "all"))
    p.add_argument("--dir", type=Path, default=ROOT / "runs" / "zoo_scale")
    p.add_argument("--models", type=int, default=100)
    p.add_argument("--targets", type=int, default=100)
    p.add_argument("--sizes", default="10x10,32x32,100x100", help="SxT,... (all)")
    p.add_argument("--per-class", type=int, default=12)
    p.add_argument("--steps", type=int, default=100, help="training steps per source model")
    p.add_argument("--train-procs", type=int, default=2)
    p.add_argument("--procs", type=int, default=2, help="limit: processes (the run's Ray workers)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--metrics", default="leep,nce,logme")
    p.add_argument("--config", type=Path)
    p.add_argument("--out", type=Path)
    p.add_argument("--again", action="store_true")
    p.add_argument("--cache", type=Path, help="driver: a finished run's OUT/cache")
    p.add_argument("--cluster", action="store_true", help="run: on a two-node `ray start` cluster")
    p.add_argument("--address", default=None, help="run: a Ray cluster address (else the embedded Ray)")
    p.add_argument("--executor", choices=("ray", "local"), default="ray", help="generate: the config's executor")
    p.add_argument("--pool-size", type=int, default=None,
                   help="generate: only this many Fashion-MNIST images in the pool (tiny tier; default all 60,000)")
    p.add_argument("--json", default=None, help="write the result here ('-': the last line of stdout)")
    a = p.parse_args(argv)
    metrics = tuple(a.metrics.split(","))
    if a.phase == "generate":
        gen.ensure_pool(a.dir, a.pool_size)
        gen.ensure_models(a.dir, a.models, steps=a.steps, procs=a.train_procs)
        result = {"phase": "generate", "config": str(gen.write_config(a.dir, a.models, a.targets, a.per_class,
                                                                      metrics=metrics, batch_size=a.batch_size,
                                                                      workers=a.procs, executor=a.executor))}
    elif a.phase == "limit":
        result = phase_limit(a.config, a.procs, a.batch_size)
    elif a.phase == "driver":
        result = phase_driver(a.config, a.cache, a.out)
    elif a.phase == "run":
        extra = ["--address", a.address] if a.address else []
        result = phase_run(a.config, a.out, again=a.again, extra=extra, cluster=a.cluster)
    else:
        sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
        gen.ensure_pool(a.dir)
        gen.ensure_models(a.dir, max(s for s, _ in sizes), steps=a.steps, procs=a.train_procs)
        result = {"phase": "all", "load_start": os.getloadavg(), "sizes": []}
        for s, t in sizes:
            cfg = gen.write_config(a.dir, s, t, a.per_class, metrics=metrics, batch_size=a.batch_size,
                                   workers=a.procs)
            out = a.dir / "out" / cfg.stem
            entry = {"size": f"{s}x{t}", "pairs": s * t, "config": str(cfg), "load_before": os.getloadavg()}
            entry["limit"] = _sub(["limit", "--config", str(cfg), "--procs", str(a.procs),
                                   "--batch-size", str(a.batch_size)])
            entry["run"] = _sub(["run", "--config", str(cfg), "--out", str(out), "--again"])
            entry["load_after"] = os.getloadavg()
            result["sizes"].append(entry)
            if s * t == a.models * a.targets and (out / "scores.csv").is_file():
                shutil.copyfile(out / "scores.csv", a.dir / "scores.csv")
            if a.json and a.json != "-":
                Path(a.json).write_text(json.dumps(result, indent=1))
    text = json.dumps(result)
    if a.json == "-":
        print(text)
    elif a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    else:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
