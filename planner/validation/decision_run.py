"""Run the decision validations end to end: ground-truth tables -> planner graphs -> arms -> rows.

For every seed: the all-subsets table (:func:`subset_table`) gives the singleton networks; the planner
scores them with LEEP on every other task's training split (:func:`transfergraph.planner.score`, the same call a
user's run makes) and builds the transfer graph; the grouping and curriculum decisions are taken on
that graph and judged against the tables (:func:`grouping_rows`, :func:`curriculum_rows`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from transfergraph.planner.decisions._grouping_exact import partition_value
from transfergraph.planner.decisions.affinity import affinity_graph
from transfergraph.planner.decisions.curriculum import CURRICULUM_OBJECTIVES, curriculum_value, solve_curriculum
from transfergraph.planner.decisions.grouping import affinity_matrix, solve_grouping
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget
from transfergraph.planner.validation.continual import orders_table
from transfergraph.planner.validation.curriculum_eval import curriculum_rows, order_measures
from transfergraph.planner.validation.decision_stats import noise_ceiling, spearman
from transfergraph.planner.validation.grouping_eval import grouping_rows, hoa_graph, partition_table
from transfergraph.planner.validation.multitask import subset_table

__all__ = ["DecisionValidation", "leep_graph", "grouping_planners", "curriculum_planners", "validate_decisions",
           "pair_signal", "GROUPING_VARIANTS", "grouping_arm"]

#: grouping planner arms: name -> (affinity kind, centered); "planner" is the product's default
GROUPING_VARIANTS = {"planner": ("transfer", True), "planner_uncentered": ("transfer", False),
                     "planner_mutual": ("mutual", True), "planner_symmetric": ("symmetric", True)}


def grouping_arm(affinity: str, centered: bool) -> str:
    """The arm name of the grouping variant (affinity kind, centred) in the validation tables: its
    :data:`GROUPING_VARIANTS` name, else ``planner_<affinity>[_uncentered]``."""
    for arm, variant in GROUPING_VARIANTS.items():
        if variant == (affinity, bool(centered)):
            return arm
    return f"planner_{affinity}" + ("" if centered else "_uncentered")


@dataclass
class DecisionValidation:
    """Everything measured: the arm rows, Spearman tables, noise ceilings and the raw tables."""

    grouping: pd.DataFrame
    grouping_spearman: pd.DataFrame
    curriculum: pd.DataFrame
    curriculum_spearman: pd.DataFrame
    ceilings: dict = field(default_factory=dict)
    subsets: pd.DataFrame | None = None
    orders: pd.DataFrame | None = None
    graphs: dict = field(default_factory=dict)
    pairs: pd.DataFrame | None = None


def leep_graph(singles: dict, data: Sequence[TaskArrays], *, seed: int = 0) -> nx.DiGraph:
    """Transfer graph of the singleton networks: LEEP of task u's network on task t's training split."""
    from transfergraph.planner.graph import build_graph
    from transfergraph.planner.scoring import score
    from transfergraph.planner.inputs.task import Source, Task

    tasks = [Task(t.name, t.train_x.contiguous().numpy(), t.train_y.numpy()) for t in data if t.name in singles]
    sources = [Source(f"{name}.net", net, task=name) for name, net in sorted(singles.items())]
    scores = score(sources, tasks, metrics=("leep",), executor="local", progress=False, seed=seed)
    return build_graph(scores, metric="leep")


def grouping_planners(graphs: dict, tasks: Sequence[str], k: int, variants=None) -> dict:
    """{arm: {seed: (groups, A)}}: each variant's partition on each seed's graph and its affinity matrix."""
    out: dict = {}
    names = sorted(tasks)
    for arm, (kind, centered) in (variants or GROUPING_VARIANTS).items():
        for seed, g in graphs.items():
            sub = affinity_graph(g.subgraph(names).copy(), kind)
            groups = solve_grouping(sub, n_groups=k, centered=centered).solution
            out.setdefault(arm, {})[seed] = (groups, affinity_matrix(sub, names, centered=centered))
    return out


def curriculum_planners(graphs: dict, tasks: Sequence[str], objectives: Sequence[str] | None = None):
    """({objective: {seed: (order, J)}}, {seed: chain J}) for every objective of ``objectives``
    (default: all of :data:`~transfergraph.planner.decisions.CURRICULUM_OBJECTIVES`: tree, chain,
    cumulative and the three that model forgetting)."""
    planners, anti = {}, {}
    for seed, g in graphs.items():
        sub = g.subgraph(sorted(tasks)).copy()
        for obj in (objectives or CURRICULUM_OBJECTIVES):
            order = solve_curriculum(sub, objective=obj).solution
            planners.setdefault(obj, {})[seed] = (order, lambda o, s=sub, ob=obj: curriculum_value(s, list(o), objective=ob))
        anti[seed] = lambda o, s=sub: curriculum_value(s, list(o), objective="chain")
    return planners, anti


def _ordered_pairs(graph: nx.DiGraph, tasks: Sequence[str]) -> np.ndarray:
    """Uncentred a(u->t) over the n(n-1) ordered pairs (u != t), in one fixed order."""
    A = affinity_matrix(graph, tasks, centered=False)
    return A[~np.eye(len(tasks), dtype=bool)]


def pair_signal(graphs: dict, subsets: pd.DataFrame, tasks: Sequence[str]) -> pd.DataFrame:
    """Does the planner's graph carry the pairwise signal a grouping needs?

    Truth: the measured pair gains g(u->t) = acc_val(t | {t, u}) - acc_val(t | {t}) of the seed-mean
    all-subsets table (:func:`hoa_graph`), over the n(n-1) ordered pairs. For each seed's planner graph
    and each affinity of :data:`GROUPING_VARIANTS`: Spearman between a(u->t) and g(u->t) (rows with
    ``affinity`` = the variant's kind). The row ``affinity="pair_gain_reliability"`` holds the
    split-half noise ceiling of the pair gains across seeds (the best any predictor of them can do).
    Returns DataFrame(seed, affinity, spearman); seed -1 for the reliability row.
    """
    names = sorted(tasks)
    truth = _ordered_pairs(hoa_graph(subsets, names), names)
    rows = []
    for seed, g in sorted(graphs.items()):
        for kind in dict.fromkeys(kind for kind, _ in GROUPING_VARIANTS.values()):
            pred = _ordered_pairs(affinity_graph(g.subgraph(names).copy(), kind), names)
            rows.append({"seed": seed, "affinity": kind, "spearman": spearman(pred, truth)})
    per_seed = [_ordered_pairs(hoa_graph(subsets[subsets.seed == s], names), names) for s in sorted(subsets.seed.unique())]
    rows.append({"seed": -1, "affinity": "pair_gain_reliability", "spearman": noise_ceiling(np.array(per_seed))})
    return pd.DataFrame(rows, columns=["seed", "affinity", "spearman"])


def _grouping_ceiling(subsets: pd.DataFrame, tasks, k) -> float:
    seeds = sorted(subsets.seed.unique())
    per_seed = [partition_table(subsets[subsets.seed == s], tasks, k)[2] for s in seeds]
    return noise_ceiling(np.array(per_seed))


def _curriculum_ceiling(orders: pd.DataFrame, tasks, measure) -> float:
    seeds = sorted(orders.seed.unique())
    return noise_ceiling(np.array([order_measures(orders[orders.seed == s], tasks)[1][measure] for s in seeds]))


def validate_decisions(data: Sequence[TaskArrays], *, seeds: Sequence[int], trunk: Callable[[], object],
                       grouping_budget: TrainBudget, curriculum_budget: TrainBudget, k_values=(2, 3),
                       n_group: int | None = None, n_curr: int | None = None, learners=("naive",),
                       cache: str | Path | dict | None = None, curriculum_seeds: Sequence[int] | None = None,
                       log: Callable[[str], None] | None = None, grouping_variants: dict | None = None) -> DecisionValidation:
    """Train (or read back from ``cache``) every table and judge every arm; see the module docstring.

    ``curriculum_seeds``: seeds of the curricula (default ``seeds``; a seed not in ``seeds`` trains only
    the singleton networks its planner graph needs).
    ``cache``: a folder (tables under ``grouping/`` and ``curriculum/``) or {"grouping": dir, "curriculum": dir}.
    ``n_group`` / ``n_curr``: the first tasks of ``data`` used for grouping (<= 8) / curricula (<= 6).
    ``grouping_variants``: {arm: (affinity kind, centred)} judged as zero-cost groupings (default
    :data:`GROUPING_VARIANTS`).
    Raises InputError: fewer than 2 tasks or too many for the exhaustive tables.
    """
    n_group = len(data) if n_group is None else n_group
    n_curr = min(len(data), 5) if n_curr is None else n_curr
    if not 2 <= n_group <= 8 or not 2 <= n_curr <= 6 or n_curr > n_group or n_group > len(data):
        raise InputError(f"decision validation needs 2 <= n_curr <= n_group <= min(8, tasks); got n_group={n_group}, "
                         f"n_curr={n_curr} with {len(data)} tasks.")
    caches = dict(cache) if isinstance(cache, dict) else \
        {part: None if cache is None else Path(cache) / part for part in ("grouping", "curriculum")}
    gdata, cdata = list(data[:n_group]), list(data[:n_curr])
    tables, graphs = [], {}
    c_seeds = list(seeds) if curriculum_seeds is None else list(curriculum_seeds)
    for s in list(seeds) + [s for s in c_seeds if s not in seeds]:
        tab, singles = subset_table(gdata, seed=s, budget=grouping_budget, trunk=trunk, log=log,
                                    cache=caches["grouping"], max_size=None if s in seeds else 1)
        tables.append(tab)
        graphs[s] = leep_graph(singles, gdata, seed=s)
    subsets = pd.concat(tables, ignore_index=True)
    subsets = subsets[subsets.seed.isin(list(seeds))]
    gnames = [t.name for t in gdata]
    g_rows, g_corr, ceilings = [], [], {}
    for k in k_values:
        if k >= n_group:
            continue
        r, c = grouping_rows(subsets, k=k, planners=grouping_planners(graphs, gnames, k, grouping_variants))
        g_rows.append(r)
        g_corr.append(c)
        ceilings[f"grouping_k{k}"] = _grouping_ceiling(subsets, gnames, k)
    cnames = [t.name for t in cdata]
    c_rows, c_corr, order_tabs = [], [], []
    planners, anti = curriculum_planners(graphs, cnames)
    for learner in learners:
        tab = pd.concat([orders_table(cdata, seed=s, budget=curriculum_budget, trunk=trunk, replay=learner == "replay",
                                      log=log, cache=caches["curriculum"]) for s in c_seeds],
                        ignore_index=True)
        order_tabs.append(tab)
        r, c = curriculum_rows(tab, planners=planners, anti=anti, learner=learner)
        c_rows.append(r)
        c_corr.append(c)
        for m in ("acc", "fwt_ft", "bwt"):
            ceilings[f"curriculum_{learner}_{m}"] = _curriculum_ceiling(tab, cnames, m)
    pairs = pair_signal({s: graphs[s] for s in seeds}, subsets, gnames)
    return DecisionValidation(pd.concat(g_rows, ignore_index=True), pd.concat(g_corr, ignore_index=True),
                              pd.concat(c_rows, ignore_index=True), pd.concat(c_corr, ignore_index=True),
                              ceilings, subsets, pd.concat(order_tabs, ignore_index=True), graphs, pairs)
