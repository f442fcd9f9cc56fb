"""Solve times and gaps of the SPEC §3 decision solvers on random transferability graphs.

Instances: n tasks embedded around sqrt(n) latent clusters in R^8, n/20 external models;
w(s->t) = sigmoid(2 - |x_s - x_t|^2 / 8 + b_t - b_s / 2) + N(0, 0.05²), clipped to [0, 1]
(b ~ N(0,1) makes scores asymmetric), all edges present.

Usage::

    .venv/bin/python benchmarks/decisions.py            # full run (several minutes on 2 cores)
    .venv/bin/python benchmarks/decisions.py --quick    # small sizes, one seed (smoke test)

Prints a markdown report (machine, load, medians over seeds, ratios against baselines measured in the
same run). Times are wall-clock seconds; "from graph" includes reading the networkx graph into arrays.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import networkx as nx
import numpy as np

from transfergraph.planner.decisions import solve_curriculum, solve_grouping, solve_source_set
from transfergraph.planner.decisions._arborescence import max_spanning_arborescence
from transfergraph.planner.decisions.curriculum import _arrays


def instance(n: int, seed: int, *, dim: int = 8, noise: float = 0.05) -> nx.DiGraph:
    rng = np.random.default_rng(seed)
    n_models = max(1, n // 20)
    clusters = max(2, int(np.sqrt(n)))
    centers = rng.normal(size=(clusters, dim)) * 2
    X = centers[rng.integers(clusters, size=n)] + rng.normal(size=(n, dim))
    Y = rng.normal(size=(n_models, dim)) * 2
    bias = rng.normal(size=n)
    D = ((X[:, None] - X[None]) ** 2).sum(-1)
    S = 1 / (1 + np.exp(D / dim - 2 - bias[None, :] + 0.5 * bias[:, None]))
    S = np.clip(S + noise * rng.normal(size=(n, n)), 0, 1)
    Dm = ((Y[:, None] - X[None]) ** 2).sum(-1)
    Sm = np.clip(1 / (1 + np.exp(Dm / dim - 1.5 - bias[None, :])) + noise * rng.normal(size=(n_models, n)), 0, 1)
    tasks = [f"task{i:04d}" for i in range(n)]
    models = [f"model{j:03d}" for j in range(n_models)]
    g = nx.DiGraph()
    g.add_nodes_from(tasks, kind="task")
    g.add_nodes_from(models, kind="model")
    ii, jj = np.nonzero(~np.eye(n, dtype=bool))
    g.add_weighted_edges_from(zip([tasks[i] for i in ii], [tasks[j] for j in jj], S[ii, jj].tolist()))
    g.add_weighted_edges_from((models[j], tasks[i], float(Sm[j, i])) for j in range(n_models) for i in range(n))
    return g


def machine() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, loadavg {os.getloadavg()}"


def med(xs) -> float:
    return float(statistics.median(xs))


def fmt(x, digits=3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def pct(x) -> str:
    return "–" if x is None else f"{100 * x:.3f}%"


def solver_seconds(d) -> float:
    return d.seconds - d.details.get("graph_read_seconds", 0.0)


def run_jobs(n: int, seeds, jobs: dict) -> dict:
    """Build each seed's graph once and run every job on it: {label: [Decision per seed]}."""
    out = {label: [] for label in jobs}
    for s in seeds:
        g = instance(n, s)
        for label, job in jobs.items():
            out[label].append(job(g))
    return out


def row(label: str, n: int, ds, *, exact_ref: bool) -> str:
    times = [d.seconds for d in ds]
    solver = [solver_seconds(d) for d in ds]
    gaps = [d.gap for d in ds]
    opt = sum(d.optimal for d in ds)
    heur = [(d.value - d.details["heuristic_value"]) / abs(d.value)
            for d in ds if d.optimal and "heuristic_value" in d.details and d.value]
    worst = pct(max(heur)) if (exact_ref and heur) else "–"
    med_gap = pct(med(gaps)) if all(x is not None for x in gaps) else "–"
    return (f"| {label} | {n} | {ds[0].method} | {fmt(med(solver))} | {fmt(med(times))} | {fmt(max(times))} | "
            f"{opt}/{len(ds)} | {med_gap} | {worst} |")


def source_job(method: str):
    def job(g):
        n_src = g.number_of_nodes()  # every node has out-edges in these instances
        return solve_source_set(g, budget=max(1, int(np.ceil(np.sqrt(n_src)))), method=method)
    return job


def nx_baseline(sizes, seeds):
    rows = []
    for n in sizes:
        ours, theirs = [], []
        for s in seeds:
            tasks, W, E, w_ext, _ = _arrays(instance(n, s))
            M = np.full((n + 1, n + 1), -np.inf)
            M[0, 1:] = w_ext
            M[1:, 1:] = np.where(E, W, -np.inf)
            t0 = time.perf_counter()
            par = max_spanning_arborescence(M)
            ours.append(time.perf_counter() - t0)
            v_ours = float(sum(M[par[v], v] for v in range(1, n + 1)))
            G = nx.DiGraph()
            ii, jj = np.nonzero(np.isfinite(M))
            G.add_weighted_edges_from((int(i), int(j), float(M[i, j])) for i, j in zip(ii, jj) if j != 0 and i != j)
            t0 = time.perf_counter()
            T = nx.maximum_spanning_arborescence(G)
            theirs.append(time.perf_counter() - t0)
            v_nx = sum(d["weight"] for _, _, d in T.edges(data=True))
            assert abs(v_ours - v_nx) <= 1e-9 * max(1.0, abs(v_nx)), (v_ours, v_nx)
        rows.append(f"| {n} | {fmt(med(ours), 4)} | {fmt(med(theirs), 3)} | {med(theirs) / med(ours):.0f}x | equal |")
    return rows


def arborescence_only(n: int, seeds):
    ts = []
    for s in seeds:
        tasks, W, E, w_ext, _ = _arrays(instance(n, s))
        M = np.full((n + 1, n + 1), -np.inf)
        M[0, 1:] = w_ext
        M[1:, 1:] = np.where(E, W, -np.inf)
        t0 = time.perf_counter()
        max_spanning_arborescence(M)
        ts.append(time.perf_counter() - t0)
    return med(ts), max(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and one seed")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    seeds = range(1 if args.quick else args.seeds)
    big = 200 if args.quick else 1000
    small = 60 if args.quick else 200
    print(f"Machine: {machine()}\n")
    print("| decision | n tasks | method | median s (solver, arrays in) | median s (from graph) | max s (from graph) | "
          "proven optimal | median reported gap (to bound) | worst heuristic gap vs exact |")
    print("|---|---|---|---|---|---|---|---|---|")
    exact_runs = [
        (small, {"source set, b=ceil(sqrt(#sources))": source_job("milp")}),
        (20, {"grouping k=7, cap 4": lambda g: solve_grouping(g, n_groups=7, max_group_size=4)}),
    ]
    if not args.quick:
        exact_runs += [
            (14, {"grouping k=4, no cap (auto: dp)": lambda g: solve_grouping(g, n_groups=4),
                  "grouping k=4, no cap (milp, baseline)": lambda g: solve_grouping(g, n_groups=4, method="milp")}),
            (40, {"grouping k=14, cap 3": lambda g: solve_grouping(g, n_groups=14, max_group_size=3)}),
        ]
    for n, jobs in exact_runs:
        for label, ds in run_jobs(n, seeds, jobs).items():
            print(row(label, n, ds, exact_ref=True), flush=True)
    jobs = {
        "source set, b=ceil(sqrt(#sources))": source_job("heuristic"),
        f"grouping k={big // 10}, no cap": lambda g: solve_grouping(g, n_groups=big // 10, method="heuristic"),
        f"grouping k={big // 20}, cap 40": lambda g: solve_grouping(
            g, n_groups=big // 20, max_group_size=40, method="heuristic"),
        "curriculum tree": lambda g: solve_curriculum(g, objective="tree"),
        "curriculum chain": lambda g: solve_curriculum(g, objective="chain"),
        "curriculum cumulative": lambda g: solve_curriculum(g, objective="cumulative"),
    }
    for label, ds in run_jobs(big, seeds, jobs).items():
        print(row(label, big, ds, exact_ref=False), flush=True)
    m, mx = arborescence_only(big, seeds)
    print(f"\nDense Chu–Liu/Edmonds alone (arrays in, no graph reading), n={big}: median {m:.3f} s, max {mx:.3f} s\n")
    print("| n tasks | ours (s) | networkx maximum_spanning_arborescence (s) | ratio | optimum |")
    print("|---|---|---|---|---|")
    for line in nx_baseline([50, 100] if args.quick else [50, 100], seeds):
        print(line, flush=True)
    if not args.quick:  # networkx grows ~n^3 here: one seed at n=200
        for line in nx_baseline([200], range(1)):
            print(line, flush=True)
    print(f"\nLoad at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
