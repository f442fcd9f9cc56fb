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
    "groups": "proxy only: do not rely on these groups. Train each task separately if you can afford one model per "
              "task, or run `transfergraph validate CONFIG --decisions` with validate.decisions.tasks set to your "
              "tasks (at most 8: it trains every partition of them) and use plan.json measured_partition; past 8 "
              "tasks `transfergraph group CONFIG` measures pairs instead. Why: in this project's benchmark the "
              "zero-cost grouping does NOT beat random partitions. On four grouping suites whose measurements "
              "reproduce across seeds (9-24 seeds, test loss, at most 2 groups) it beat random partitions on 1 and "
              "failed on 3, on each of which its ranking of partitions was indistinguishable from none (e.g. "
              "Spearman +0.05 [-0.07, +0.18]); the other affinities did no better (`mutual`, chosen beforehand and "
              "judged on three fresh suites: 1 of 3, not adopted; `symmetric`: 1 of 4; without centring, "
              "--no-centered: 2 of 4). Measured pair gains (HOA) were useful on 2 of the 4 suites and TAG's "
              "lookahead affinity tracked the measured gains on none. What held on all four: one network for every "
              "task ranked below the random-partition mean (percentile 0-33), while training every task alone and "
              "the partition chosen on validation accuracy among every one trained did better (percentile 93-97). "
              "Details: benchmarks/RESULTS.md, sections 7e-7f, in the source repository.",
}

_ROUND1 = ("in this project's continual-learning benchmark (benchmarks/RESULTS.md, \"Curriculum objectives that "
           "model forgetting\": naive learner, one head per task, suites D6s / B6 / F6s, 5 seeds, all 24 orders of "
           "4 tasks)")
_CHECK = "; check with `transfergraph validate --decisions`"

_ROUND3 = ("judged on the fresh gated suites fm_split4c / fm_views4d / fm_shared4d (benchmarks/RESULTS.md, \"Curriculum "
           "default, round 3\": naive learner, final mean test loss, seed-mean percentile among all 24 orders; "
           "50 = the random-order mean)")

_ROUND4 = ("round 4 (benchmarks/RESULTS.md \"Curriculum round 4\": fresh gated suites fm_shared4e / fm_views4e / "
           "fm_split4e and 10 fresh random class-split suites, same measure)")

#: what stands behind each curriculum objective (round 1: final accuracy; rounds 2-3: test loss primary)
CURRICULUM_EVIDENCE = {
    "dissimilar_chain": "proxy only: do not rely on this order for one model learning every task; run `transfergraph "
                        "validate CONFIG --decisions` and use plan.json measured_curriculum (the order chosen on "
                        "validation among every order trained). Why: it does NOT meet this project's bar for beating "
                        "random orders. It is the plan's default, "
                        "chosen on the round-2 tables (best worst case over fm_shared4c 87, fm_views4c 74 and 9 random "
                        "class-split suites 75 [68, 81]) and frozen before it was " + _ROUND3 + ": beats random on "
                        "1 of 3 (fm_split4c: +0.288 [+0.036, +0.483] nats, percentile 80) and fails the bar on "
                        "fm_views4d (percentile 51) and fm_shared4d (47); on the mean over 11 fresh random class-split "
                        "suites it beats random orders on test loss (percentile 61 [54, 68]), not on accuracy (50 "
                        "[42, 58]); " + _ROUND4 + ": 52 / 74 / 46, beats random on none, random-split mean 59 "
                        "[46, 70]. Across three rounds no zero-cost objective did "
                        "better (the round-4 candidate final_serves_all: none of 3); the order measured on your data (plan.json measured_curriculum after `transfergraph "
                        "validate --decisions`, every order of up to 6 tasks trained) beat random orders on every fresh "
                        "suite of rounds 3 and 4 (test accuracy +0.081 to +0.105 over the random-order mean when chosen "
                        "on validation accuracy, as measured_curriculum is)" + _CHECK,
    "periphery_core": "proxy only: chosen on " + _ROUND1 + " (best objective on all three: final accuracy +0.058 "
                      "[+0.035, +0.081] on D6s, percentile 91); then on round-2 gated suites it beat random on "
                      "fm_views4c (percentile 87), failed on fm_shared4c (70) and was WORSE than random on 9 random "
                      "class-split suites (mean percentile 17 [8, 26]); " + _ROUND3 + ": 46 / 62 / 87, beats random "
                      "on 1 of 3 (fm_shared4d); " + _ROUND4 + ": 43 / 64 / 58, none, random-split mean 42 [32, 55]"
                      + _CHECK,
    "max_dissimilar_path": "proxy only: " + _ROUND1 + " it did not beat random orders on any suite (percentile 68 / "
                           "48 / 43); round 2: beat random on fm_shared4c (percentile 91), not on fm_views4c (48); "
                           + _ROUND3 + ": 71 / 75 / 33, beats random on none; " + _ROUND4 + ": 52 / 70 / 58, none"
                           + _CHECK,
    "final_serves_all": "proxy only: " + _ROUND1 + " it did not beat random orders on any suite (percentile 60 / 54 / "
                        "73); round 2: 52 (fm_shared4c) / 91 (fm_views4c) / 78 [61, 90] (random splits); " + _ROUND3
                        + ": 88 / 64 / 76, beats random on 1 of 3 (fm_split4c); chosen on those seven tables as the "
                        "round-4 candidate (best worst case, 52), then " + _ROUND4 + ": 53 / 61 / 58, beats random on "
                        "none, random-split mean 58 [44, 73]: not adopted" + _CHECK,
    "tree": "proxy only: `tree` says which model to start each task from (each task fine-tuned from a copy of an "
            "earlier model), a use not yet judged; as the order in which one model learns every task it ignores "
            "forgetting and is WORSE than random orders: " + _ROUND1 + " percentile 43 / 30 / 14; round 2: 25 / 9 and "
            "27 [17, 38] on random splits; " + _ROUND3 + ": 28 / 16 / 28; " + _ROUND4 + ": 30 / 8 / 27" + _CHECK,
    "chain": "proxy only: forward transfer between neighbours, forgetting ignored; " + _ROUND1 + " it did not beat "
             "random orders on any suite (percentile 33 / 38 / 10); round 2: 19 / 22 and 30 [19, 41] on random "
             "splits" + _CHECK,
    "cumulative": "proxy only: forward transfer from every earlier task, forgetting ignored; " + _ROUND1 + " it did "
                  "not beat random orders on any suite (percentile 48 / 52 / 21); round 2: 51 / 29 and 12 [6, 19] on "
                  "random splits" + _CHECK,
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
