"""Random transferability graphs and brute-force oracles for the decision tests."""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np


def random_graph(n_tasks: int, seed: int, *, n_models: int = 1, p_missing: float = 0.2,
                 negative: bool = False, coarse: bool = False) -> nx.DiGraph:
    """Tasks t0.., models m0..; weights in [0,1] (or [-0.3, 1] with ``negative``), some edges missing.

    ``coarse`` rounds weights to 0.1 so that ties are frequent.
    """
    rng = np.random.default_rng(seed)
    g = nx.DiGraph()
    g.add_nodes_from((f"t{i}" for i in range(n_tasks)), kind="task")
    g.add_nodes_from((f"m{j}" for j in range(n_models)), kind="model")

    def w() -> float:
        x = rng.random() * (1.3 if negative else 1.0) - (0.3 if negative else 0.0)
        return float(np.round(x, 1) if coarse else x)

    for i in range(n_tasks):
        for j in range(n_tasks):
            if i != j and rng.random() >= p_missing:
                g.add_edge(f"t{i}", f"t{j}", weight=w(), leep=-1.0)
        for j in range(n_models):
            if rng.random() >= p_missing:
                g.add_edge(f"m{j}", f"t{i}", weight=0.6 * w(), leep=-1.0)
    return g


def weight(g: nx.DiGraph, u, v) -> float | None:
    return g.edges[u, v]["weight"] if g.has_edge(u, v) and u != v else None


def tasks_of(g: nx.DiGraph) -> list[str]:
    return sorted(n for n, k in g.nodes(data="kind") if k == "task")


def brute_source_set(g: nx.DiGraph, budget: int) -> float:
    tasks = tasks_of(g)
    sources = sorted({u for u, v in g.edges() if v in tasks})
    best = 0.0
    for b in range(0, min(budget, len(sources)) + 1):
        for B in itertools.combinations(sources, b):
            total = 0.0
            for t in tasks:
                ws = [weight(g, s, t) for s in B if weight(g, s, t) is not None]
                total += max([0.0] + ws)
            best = max(best, total)
    return best


def set_partitions(items: list):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in set_partitions(rest):
        yield [[first]] + p
        for i in range(len(p)):
            yield p[:i] + [[first] + p[i]] + p[i + 1:]


def brute_grouping(g: nx.DiGraph, n_groups: int, cap: int | None, centered: bool) -> float:
    tasks = tasks_of(g)
    n = len(tasks)

    def w(u, t):
        x = weight(g, u, t)
        return 0.0 if x is None else x

    med = {t: float(np.median([w(u, t) for u in tasks if u != t])) if centered and n > 1 else 0.0
           for t in tasks}
    best = -np.inf
    for p in set_partitions(tasks):
        if len(p) > n_groups or (cap is not None and max(map(len, p)) > cap):
            continue
        total = 0.0
        for G in p:
            if len(G) > 1:
                total += sum(w(u, t) - med[t] for u in G for t in G if u != t) / (len(G) - 1)
        best = max(best, total)
    return best


def order_value(g: nx.DiGraph, order, objective: str) -> float:
    """Independent evaluation of the three curriculum objectives (written from SPEC §3 / the docs)."""
    models = [n for n, k in g.nodes(data="kind") if k == "model"]

    def w_ext(t):
        ws = [weight(g, m, t) for m in models if weight(g, m, t) is not None]
        return max(ws) if ws else 0.0

    def w0(u, t):
        x = weight(g, u, t)
        return 0.0 if x is None else x

    if objective == "tree":
        return sum(max([w_ext(t)] + [weight(g, u, t) for u in order[:k] if weight(g, u, t) is not None])
                   for k, t in enumerate(order))
    if objective == "chain":
        return w_ext(order[0]) + sum(w0(order[k - 1], order[k]) for k in range(1, len(order)))
    return sum(w0(order[j], order[k]) for k in range(len(order)) for j in range(k))


def brute_order(g: nx.DiGraph, objective: str, start=None) -> float:
    tasks = tasks_of(g)
    return max(order_value(g, p, objective)
               for p in itertools.permutations(tasks) if start is None or p[0] == start)

from pathlib import Path as _Path

ROOT = _Path(__file__).resolve().parents[2]


def overlapping_demo_config():
    """configs/demo.yaml with ``data.disjoint`` off: every task, model and the meta backbone cut from one
    pool of digits (the demo's design before it drew disjoint shares): a rich leakage fixture."""
    import yaml

    from transfergraph.config import parse_config

    raw = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    raw["data"]["disjoint"] = False
    raw["models"]["external"] = [m for m in raw["models"]["external"] if "samples_from" not in m]
    return parse_config(raw)
