"""How far to trust each decision of a plan: evidence levels and warnings that name the tasks involved.

Two entry points, each called with a few lines by the plan's producers:

- :func:`graph_trust` (from ``build_plan``): per-decision evidence ("proxy only" until a validation
  run on this data says otherwise), warnings when a target's best in-edge is near the label prior
  (normalized weight below :data:`NEAR_PRIOR`, not only <= 0) and when the graph has no task->task
  edge (groups and curricula then carry no information: every task looks alike).
- :func:`data_warnings` (from the job that has the data): a source whose score on its own task's
  training data is near chance (its model learned little: every edge out of it is noise), and
  sample overlap between a recommended source's training data and a target's samples (leakage: the
  score and any fine-tuning on that target are inflated by memorized samples), by base-sample
  provenance where known (shifted copies count) and by the bytes of each row otherwise
  (:mod:`transfergraph.planner.decisions.overlap`); and a warning for each check that could not run.

Weights are normalized LEEP/NCE scores: 0 = no better than predicting the label prior, 1 = perfect.
"""
from __future__ import annotations

from typing import Any, Sequence

import networkx as nx
import numpy as np

from transfergraph.planner.decisions._graph import task_nodes
from transfergraph.planner.decisions.curriculum import DEFAULT_CURRICULUM_OBJECTIVE
from transfergraph.planner.decisions.overlap import OVERLAP_MIN, _Digests, leakage_warnings, task_share

__all__ = ["NEAR_PRIOR", "OVERLAP_MIN", "EVIDENCE", "CURRICULUM_EVIDENCE", "graph_trust", "data_warnings",
           "sample_overlap"]

#: normalized weight under which an edge is "near the label prior"
NEAR_PRIOR = 0.1

#: what the product's own measurements say about each decision's proxy (benchmarks/RESULTS.md)
EVIDENCE = {
    "sources": "proxy only: LEEP ranks sources well in this project's validation runs (low selection regret); "
               "check with `transfergraph validate`",
    "groups": "proxy only, and it does NOT beat random partitions in this project's benchmark: transfer scores "
              "measure sequential transfer, not co-training. Round 1 (benchmarks/RESULTS.md, 3 suites, 5 seeds): "
              "beat random on one suite at 2 groups by under 1 accuracy point, inconclusive on two. On the one "
              "grouping suite that passes the reliability gate (fm_shared5b, 9 seeds, test loss) it gained +0.012 "
              "[+0.006, +0.018] nats but fails the bar because its objective does not rank partitions (Spearman "
              "+0.05 [-0.07, +0.18]); measured pairs (HOA, `transfergraph group`) beat random there (+0.010 "
              "[+0.003, +0.016] nats, Spearman +0.48, regret 0.41: useful) and TAG's lookahead affinity did not "
              "track the measured pair gains (Spearman +0.01 [-0.39, +0.41]). Run `transfergraph group CONFIG` "
              "to measure co-training on your tasks before committing compute",
}

_ROUND1 = ("in this project's continual-learning benchmark (benchmarks/RESULTS.md, \"Curriculum objectives that "
           "model forgetting\": naive learner, one head per task, suites D6s / B6 / F6s, 5 seeds, all 24 orders of "
           "4 tasks)")
_CHECK = "; check with `transfergraph validate --decisions`"

#: what stands behind each curriculum objective (seed-mean percentile of final accuracy among all orders)
CURRICULUM_EVIDENCE = {
    "periphery_core": "proxy only: chosen on benchmark tables: " + _ROUND1 + " the best objective on all three "
                      "suites and the only one to beat random orders anywhere: final accuracy above the random-order "
                      "mean by +0.058 [+0.035, +0.081] on D6s (percentile 91, Spearman +0.68: beats random), +0.051 "
                      "[+0.038, +0.066] on F6s (percentile 96, Spearman +0.34; inconclusive: noise ceiling 0.48) and "
                      "+0.037 [-0.012, +0.088] on B6 (percentile 81; fails the bar). Then judged on fresh suites that "
                      "pass the reliability gate (RESULTS \"Suites that can tell\", test loss primary): beats random "
                      "on fm_views4c (+0.534 [+0.372, +0.718] nats, percentile 87), fails the bar on fm_shared4c "
                      "(+0.223 nats, percentile 70 < 75), beats random on accuracy on both; and on 9 random "
                      "class-split suites it is WORSE than random orders (mean percentile 17 [8, 26] on test loss, "
                      "31 [17, 45] on accuracy): do not trust this order without `transfergraph validate "
                      "--decisions` on your own tasks" + _CHECK,
    "max_dissimilar_path": "proxy only: " + _ROUND1 + " it did not beat random orders on any suite (percentile 68 / "
                           "48 / 43); on the fresh gated suite fm_shared4c it beat random on test loss (+0.361 "
                           "[+0.292, +0.433] nats, percentile 91)" + _CHECK,
    "final_serves_all": "proxy only: " + _ROUND1 + " it did not beat random orders on any suite (percentile 60 / 54 / "
                        "73)" + _CHECK,
    "dissimilar_chain": "proxy only: chosen on the round-2 judged tables (benchmarks/RESULTS.md, \"Suites that can "
                        "tell\": naive learner, test loss primary, seed-mean percentile among all orders) as the "
                        "zero-cost objective with the best worst case over fm_shared4c (percentile 87), fm_views4c "
                        "(74) and the mean over 9 random class-split suites (75 [68, 81]): the least bad candidate, "
                        "not a proven winner (on fm_views4c its gain over random orders has a CI that includes 0); "
                        "its judgement on fresh suites: RESULTS \"Curriculum default, round 3\"" + _CHECK,
    "tree": "proxy only: `tree` says which model to start each task from (each task fine-tuned from a copy of an "
            "earlier model), a use not yet judged; as the order in which one model learns every task it ignores "
            "forgetting, and " + _ROUND1 + " it did not beat random orders on any suite (percentile 43 / 30 / 14)"
            + _CHECK,
    "chain": "proxy only: forward transfer between neighbours, forgetting ignored; " + _ROUND1 + " it did not beat "
             "random orders on any suite (percentile 33 / 38 / 10)" + _CHECK,
    "cumulative": "proxy only: forward transfer from every earlier task, forgetting ignored; " + _ROUND1 + " it did "
                  "not beat random orders on any suite (percentile 48 / 52 / 21)" + _CHECK,
}
EVIDENCE["curriculum"] = CURRICULUM_EVIDENCE[DEFAULT_CURRICULUM_OBJECTIVE]


def graph_trust(graph: nx.DiGraph, sources: dict[str, list], metric: str, *,
                curriculum_objective: str = DEFAULT_CURRICULUM_OBJECTIVE) -> tuple[dict[str, dict], list[str]]:
    """(evidence per decision, warnings) from the graph and the plan's ranked sources per target; the
    curriculum's evidence is that of ``curriculum_objective`` (:data:`CURRICULUM_EVIDENCE`)."""
    evidence = {name: {"level": "proxy only", "note": note} for name, note in EVIDENCE.items()}
    if curriculum_objective in CURRICULUM_EVIDENCE:
        evidence["curriculum"] = {"level": "proxy only", "objective": curriculum_objective,
                                  "note": CURRICULUM_EVIDENCE[curriculum_objective]}
    warnings = []
    for target, top in sorted(sources.items()):
        if top and top[0][1] is not None and 0 < top[0][1] < NEAR_PRIOR:
            warnings.append(
                f"weak transfer to target {target!r}: its best source {top[0][0]!r} has normalized {metric} "
                f"{top[0][1]:.3g} < {NEAR_PRIOR} (near the label prior); a classifier head retrained on its frozen "
                f"features should gain little over training from scratch (the score does not speak of full "
                f"fine-tuning, which can still transfer).")
    tasks = set(task_nodes(graph))
    if len(tasks) >= 2 and not any(u in tasks and v in tasks for u, v in graph.edges):
        warnings.append(
            f"no task->task edges among tasks {sorted(map(str, tasks))}: the groups and the curriculum carry no "
            "information (every order and grouping scores alike); score each task's own model on the other tasks.")
    return evidence, warnings


def sample_overlap(tasks: Sequence[Any]) -> dict[tuple[str, str], float]:
    """{(source task u, target t): share of t's training samples that are also u's training samples} (> 0 only).

    Base-row provenance when both tasks carry it (shifted copies count), else the bytes of each row;
    pairs that cannot be compared (samples on disk, no provenance) are left out.
    """
    digests, out = _Digests(), {}
    for u in tasks:
        for t in tasks:
            if u.name != t.name:
                got = task_share(u, t, digests)
                if got is not None and got[0] > 0:
                    out[(str(u.name), str(t.name))] = got[0]
    return out


def _own_task_chance(scores, metric: str) -> list[str]:
    if scores is None or "source_task" not in scores.columns:
        return []
    own = scores[(scores["metric"] == metric) & (scores["status"] == "ok")
                 & (scores["source_task"].astype(str) == scores["target"].astype(str))]
    out = []
    for r in own.sort_values("source").itertuples():
        if np.isfinite(r.normalized) and r.normalized < NEAR_PRIOR:
            out.append(f"source {r.source!r} is near chance on its own task {r.target!r} (normalized {metric} "
                       f"{r.normalized:.3g} < {NEAR_PRIOR}): its model learned little, so every edge out of task "
                       f"{r.target!r} is noise; train it longer or give it more data.")
    # a pairs_fraction run predicts (does not score) a source on its own task: the check has nothing to read
    unscored = scores[(scores["metric"] == metric) & (scores["status"] == "predicted")
                      & (scores["source_task"].astype(str) == scores["target"].astype(str))]
    if len(unscored):
        names = sorted(set(unscored["source"].astype(str)))
        out.append(f"own-task chance check not run for {len(names)} source(s) ({', '.join(map(repr, names[:10]))}"
                   f"{', ...' if len(names) > 10 else ''}): their own-task pairs were predicted, not scored "
                   "(pairs_fraction < 1); score without --pairs-fraction to check that each model learned its task.")
    return out


def data_warnings(plan: dict, *, scores=None, tasks: Sequence[Any] | None = None, sources: Sequence[Any] | None = None,
                  metric: str = "leep") -> list[str]:
    """Warnings that need the score table (own-task chance) and the tasks' samples (overlap).

    Overlap (:func:`transfergraph.planner.decisions.overlap.leakage_warnings`) is reported for every (source node,
    target) pair the plan recommends (ranked sources, the source set's assignment, curriculum parents)
    where at least :data:`OVERLAP_MIN` of the target's samples are in the training data of a model
    standing for that node (``sources``; None: the node's task itself). A check that cannot run
    (no score table; no tasks, as when re-planning from ``scores.csv``) adds a warning saying so.
    """
    warnings = _own_task_chance(scores, metric)
    if scores is None or "source_task" not in getattr(scores, "columns", ()):
        warnings.append("own-task chance check not run: it needs the score table with its source_task column "
                        "(re-planning from a graph has none); plan from scores.csv to run it.")
    if not tasks:
        warnings.append("sample-overlap (leakage) check not run: it needs the tasks' samples and the sources' "
                        "training data, which re-planning from a score table or graph does not have; the plan.json "
                        "of `transfergraph run` on the same config has its result.")
        return warnings
    return warnings + leakage_warnings(plan, tasks, sources)
