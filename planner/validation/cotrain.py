"""Measured co-training affinities and the grouping they imply (HOA + exact partition search).

From the rows of the networks of a :class:`~.cotrain_design.Design` (one row per member task of each
network, :data:`~.multitask.SUBSET_COLUMNS`):

- **alone**: L_s(t), the test cross-entropy of task t's single-task network under seed s (A_s(t) its
  test accuracy);
- **with a partner**: L_s(t | u), the mean test cross-entropy of t over the networks of seed s that hold
  both t and u (the pair {t, u} itself in the ``"pairs"`` design; the sampled groups holding both in the
  ``"subsets"`` design: the averaging estimator of Li et al., KDD 2023);
- **gain** g_s(u -> t) = L_s(t) - L_s(t | u): how much training with u *lowers* t's test loss (> 0:
  u helps t; < 0: sharing hurts t). It is in nats, so the gains of different tasks add up to a change
  of total loss, which is what the grouping minimizes. ``gain_relative`` = g / L_s(t) is written beside
  it for comparisons across tasks of different class counts.
- **pair gain** g(u -> t) = mean over seeds of g_s(u -> t), with standard error
  se = sd_s(g_s) / sqrt(S) (sample sd, NaN for one seed).

Grouping (:func:`measured_grouping`): the higher-order approximation (HOA) of Standley et al., "Which
tasks should be learned together in multi-task learning?", ICML 2020 -- a task's loss in a group is
approximated by the mean of its pair losses inside the group, so the predicted total loss of a
partition is sum_t L(t) - sum_G V(G) with V(G) = (1/(|G|-1)) sum_{u != t in G} g(u -> t) -- maximized
exactly by :func:`~transfergraph.planner.decisions.grouping.solve_grouping` with ``centered=False``
(subset DP for n <= 14, MILP beyond) under at most ``n_groups`` groups. A task for which every measured
partner has a negative pair gain ("sharing hurts") is kept alone: it is taken out before the search
(which then gets ``n_groups`` minus the number of such tasks, at least 1) and added back as a
singleton group.

Trust (:func:`chance_tasks`, :func:`hurt_resolved`): a task whose single-task network is at chance
(mean test loss alone >= (1 - :data:`CHANCE_TOLERANCE`) ln C, C its class count, or mean test accuracy
alone <= 1 / C) learned nothing measurable, so its gains are noise; "sharing hurts t" is resolved
beyond noise only when every partner u has g(u -> t) + 2 se < 0 (never with one seed: se is NaN).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.decisions._result import Decision
from transfergraph.planner.decisions.grouping import solve_grouping
from transfergraph.planner.validation.cotrain_design import Design
from transfergraph.planner.validation.multitask import subset_name

__all__ = ["COTRAIN_COLUMNS", "GAIN_COLUMNS", "CHANCE_TOLERANCE", "cotrain_table", "pair_gains", "sharing_hurts",
           "hurt_resolved", "chance_tasks", "gain_graph", "annotate_graph", "measured_grouping"]

COTRAIN_COLUMNS = ["task", "partner", "seed", "design", "n_networks", "test_loss_alone", "test_acc_alone",
                   "test_loss_with", "test_acc_with", "gain", "gain_relative", "val_loss_alone", "val_loss_with"]
GAIN_COLUMNS = ["task", "partner", "gain", "se", "n_seeds", "gain_relative", "test_loss_alone", "test_loss_with",
                "test_acc_alone", "test_acc_with"]


def cotrain_table(rows: Sequence[Mapping] | pd.DataFrame, design: Design) -> pd.DataFrame:
    """One row per (task, partner, seed) with both the single network of the task and at least one
    network holding the pair; :data:`COTRAIN_COLUMNS`, sorted by (task, partner, seed). Networks
    missing from ``rows`` (failed) are left out of the means; a pair without any is left out."""
    df = pd.DataFrame(list(rows) if not isinstance(rows, pd.DataFrame) else rows)
    members = {subset_name(g): g for g in design.groups}
    out = []
    if not len(df):
        return pd.DataFrame(out, columns=COTRAIN_COLUMNS)
    for seed, part in df.groupby("seed", sort=True):
        by = {(r.subset, r.task): r for r in part.itertuples(index=False)}
        alone = {g[0]: by.get((subset_name(g), g[0])) for g in design.groups if len(g) == 1}
        holding: dict[tuple[str, str], list] = {}
        for name, g in members.items():
            if len(g) < 2:
                continue
            for t in g:
                r = by.get((name, t))
                if r is None:
                    continue
                for u in g:
                    if u != t:
                        holding.setdefault((t, u), []).append(r)
        for (t, u), with_rows in sorted(holding.items()):
            a = alone.get(t)
            if a is None:
                continue
            loss_with = float(np.mean([r.test_loss for r in with_rows]))
            gain = float(a.test_loss) - loss_with
            out.append({"task": t, "partner": u, "seed": int(seed), "design": design.kind, "n_networks": len(with_rows),
                        "test_loss_alone": float(a.test_loss), "test_acc_alone": float(a.test_acc),
                        "test_loss_with": loss_with, "test_acc_with": float(np.mean([r.test_acc for r in with_rows])),
                        "gain": gain, "gain_relative": gain / float(a.test_loss) if a.test_loss > 0 else float("nan"),
                        "val_loss_alone": float(a.val_loss),
                        "val_loss_with": float(np.mean([r.val_loss for r in with_rows]))})
    table = pd.DataFrame(out, columns=COTRAIN_COLUMNS)
    return table.sort_values(["task", "partner", "seed"], kind="mergesort").reset_index(drop=True)


def pair_gains(cotrain: pd.DataFrame) -> pd.DataFrame:
    """Per (task, partner): mean gain over seeds and its standard error (:data:`GAIN_COLUMNS`)."""
    if not len(cotrain):
        return pd.DataFrame(columns=GAIN_COLUMNS)
    g = cotrain.groupby(["task", "partner"], sort=True)
    out = g.agg(gain=("gain", "mean"), sd=("gain", "std"), n_seeds=("gain", "size"),
                gain_relative=("gain_relative", "mean"), test_loss_alone=("test_loss_alone", "mean"),
                test_loss_with=("test_loss_with", "mean"), test_acc_alone=("test_acc_alone", "mean"),
                test_acc_with=("test_acc_with", "mean")).reset_index()
    out["se"] = out["sd"] / np.sqrt(out["n_seeds"])
    return out[GAIN_COLUMNS]


def sharing_hurts(gains: pd.DataFrame) -> list[str]:
    """Tasks for which every measured partner has a negative mean gain (training with anyone raised
    the task's test loss), sorted."""
    if not len(gains):
        return []
    worst = gains.groupby("task")["gain"].max()
    return sorted(str(t) for t, g in worst.items() if g < 0)


def hurt_resolved(task: str, gains: pd.DataFrame) -> bool:
    """True when every measured partner u of ``task`` raised its loss beyond noise: g(u -> t) + 2 se < 0 for
    all u (False with one seed, where se is NaN, and when ``task`` has no measured partner)."""
    rows = gains[gains.task == task]
    bound = rows["gain"].to_numpy(dtype=float) + 2 * rows["se"].to_numpy(dtype=float)
    return bool(len(rows)) and bool(np.all(np.isfinite(bound) & (bound < 0)))


#: relative tolerance of the chance test on the loss: at chance when loss alone >= (1 - tol) ln C
CHANCE_TOLERANCE = 0.05


def chance_tasks(gains: pd.DataFrame, n_classes: Mapping[str, int],
                 tolerance: float = CHANCE_TOLERANCE) -> dict[str, dict[str, float]]:
    """Tasks whose single-task network is at chance, from :func:`pair_gains` rows (their seed-mean
    ``test_loss_alone`` and ``test_acc_alone``) and each task's class count C.

    At chance: loss alone >= (1 - ``tolerance``) ln C (the cross-entropy of a uniform guess is ln C) or
    accuracy alone <= 1 / C. Returns ``{task: {"loss": L, "chance_loss": ln C, "acc": A, "chance_acc": 1/C}}``,
    tasks sorted; tasks missing from ``n_classes`` or with C < 2 are skipped.
    """
    out: dict[str, dict[str, float]] = {}
    if not len(gains):
        return out
    alone = gains.groupby("task")[["test_loss_alone", "test_acc_alone"]].mean()
    for t, r in alone.sort_index().iterrows():
        c = int(n_classes.get(str(t), 0) or 0)
        if c < 2:
            continue
        loss, acc, ln_c = float(r.test_loss_alone), float(r.test_acc_alone), float(np.log(c))
        if loss >= (1.0 - tolerance) * ln_c or acc <= 1.0 / c:
            out[str(t)] = {"loss": loss, "chance_loss": ln_c, "acc": acc, "chance_acc": 1.0 / c}
    return out


def chance_facts(chance: Mapping[str, Mapping[str, float]]) -> str:
    """The facts of :func:`chance_tasks` in words: ``"a loss 1.0950 vs ln C 1.0986, accuracy 0.330 vs 1/C 0.333"``,
    one clause per task, comma-separated."""
    return ", ".join(f"{t} loss {c['loss']:.4f} vs ln C {c['chance_loss']:.4f}, accuracy {c['acc']:.3f} vs "
                     f"1/C {c['chance_acc']:.3f}" for t, c in chance.items())


def gain_graph(tasks: Sequence[str], gains: pd.DataFrame) -> nx.DiGraph:
    """Task nodes (``kind="task"``) and an edge partner -> task per measured pair with ``cotrain_gain``,
    ``cotrain_se`` and ``weight`` = ``cotrain_gain`` (the solver's input); ``graph["metric"] = "cotrain_gain"``."""
    g = nx.DiGraph(metric="cotrain_gain")
    g.add_nodes_from(sorted(map(str, tasks)), kind="task")
    for r in gains.itertuples(index=False):
        if r.task in g and r.partner in g:
            g.add_edge(r.partner, r.task, weight=float(r.gain), cotrain_gain=float(r.gain), cotrain_se=float(r.se))
    return g


def annotate_graph(graph: nx.DiGraph, gains: pd.DataFrame, *, add_missing: bool) -> tuple[int, int]:
    """Set ``cotrain_gain`` and ``cotrain_se`` on the edges partner -> task of ``graph`` (in place).

    ``add_missing``: add an edge that the graph lacks (with only those two attributes); otherwise such a
    pair is skipped. Returns (edges annotated, pairs skipped because a node or the edge is missing).
    """
    done = skipped = 0
    for r in gains.itertuples(index=False):
        u, t = str(r.partner), str(r.task)
        if graph.has_edge(u, t) or (add_missing and u in graph and t in graph):
            if not graph.has_edge(u, t):
                graph.add_edge(u, t)
            graph.edges[u, t]["cotrain_gain"] = float(r.gain)
            graph.edges[u, t]["cotrain_se"] = float(r.se)
            done += 1
        else:
            skipped += 1
    return done, skipped


def measured_grouping(tasks: Sequence[str], gains: pd.DataFrame, *, n_groups: int,
                      max_group_size: int | None = None, time_limit: float = 60.0
                      ) -> tuple[list[list[str]], Decision | None, list[str]]:
    """HOA grouping of ``tasks`` from the measured pair gains (see the module doc).

    Returns
    -------
    (groups, decision, alone) : the partition (each group sorted, groups sorted by first name); the
    solver's :class:`Decision` over the tasks that share (None when fewer than 2 remain); the tasks
    kept alone because sharing hurts them.

    Raises
    ------
    InputError
        ``n_groups`` < 1 or fewer than 2 tasks.
    """
    tasks = sorted(map(str, tasks))
    if len(tasks) < 2:
        raise InputError(f"measured_grouping needs at least 2 tasks; got {tasks}.")
    if not isinstance(n_groups, (int, np.integer)) or n_groups < 1:
        raise InputError(f"n_groups of measured_grouping must be an integer >= 1; got {n_groups!r}.")
    alone = [t for t in sharing_hurts(gains) if t in tasks]
    rest = [t for t in tasks if t not in alone]
    decision = None
    groups = [[t] for t in alone]
    if len(rest) >= 2:
        k = max(1, int(n_groups) - len(alone))
        if max_group_size is not None:
            k = max(k, -(-len(rest) // max_group_size))
        sub = gain_graph(rest, gains[gains.task.isin(rest) & gains.partner.isin(rest)])
        decision = solve_grouping(sub, n_groups=k, max_group_size=max_group_size, centered=False,
                                  time_limit=time_limit)
        groups += [list(map(str, g)) for g in decision.solution]
    else:
        groups += [[t] for t in rest]
    return sorted((sorted(g) for g in groups), key=lambda g: g[0]), decision, alone
