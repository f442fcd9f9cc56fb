"""The report's first screen: what to do next, in three lines, from the plan.

Line 1 says which source to fine-tune for each target (and where the full ranking is; its example is a
target whose first source no leakage warning names, and it counts the targets whose first source one does),
line 2 which warnings to read before acting (counted by kind), line 3 how far the groups, the curriculum
and the source ranking can be trusted and which command measures them (or that the groups and curriculum
carry no information when the graph has no task->task edge; or, when ``validate --decisions`` measured them on
one seed, that its measurements are provisional and how to rerun). Pure: reads the plan's JSON mapping only.
"""
from __future__ import annotations

from typing import Any, Mapping

from transfergraph.planner.report.leak_notes import leaky_edge
from transfergraph.planner.validation.decision_verdicts import (MIN_CI_SEEDS, SEEDS_KEY, SUGGESTED_SEEDS, measured_seeds,
                                                                seeds_text)

__all__ = ["next_steps_lines"]

_KINDS = (("sample overlap", "leakage"), ("near chance", "weak source model"), ("flagged", "flagged scores"),
          ("near the label prior", "near-prior source"), ("no task->task", "no task->task edges"),
          ("not run", "check not run"), ("are predicted, not scored", "predicted pairs"),
          ("scores are meaningless", "degenerate model output"), ("sharing hurts", "train alone"),
          ("sharing may hurt", "train alone (provisional)"), ("networks at chance", "co-training at chance"),
          ("are at chance (", "decision networks at chance"),
          ("co-training gains measured with", "co-training on one seed"),
          ("(sources_from)", "sources restricted"))


def _warning_counts(warnings: list[Any]) -> str:
    counts: dict[str, int] = {}
    for w in warnings:
        text = str(w)
        kind = next((name for key, name in _KINDS if key in text), "other")
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def next_steps_lines(plan: Mapping[str, Any]) -> list[str]:
    """``## What to do next`` and three bullet lines (empty list when the plan has no sources)."""
    sources = plan.get("sources") or {}
    if not sources:
        return []
    ranked = {t: s for t, s in sources.items() if s}
    source_set = plan.get("source_set") if isinstance(plan.get("source_set"), dict) else {}
    assignment = source_set.get("assignment") or {}
    # the example: a target whose first source no leakage warning names, preferably the one the source set keeps
    example = min(sorted(ranked.items()), default=None,
                  key=lambda item: (leaky_edge(plan, item[1][0][0], item[0]), assignment.get(item[0]) != item[1][0][0]))
    first = (f"**Fine-tune** each target from its first recommended source ({len(ranked)} of {len(sources)} targets "
             "have one; ranking in `topk.csv` and the decisions below")
    if example:
        target, node = example[0], example[1][0][0]
        model = ((plan.get("source_models") or {}).get(str(target)) or {}).get(str(node))
        first += f"; e.g. `{target}` from `{node}`" + (f" (model `{model}`)" if model else "")
    n_leaky = sum(leaky_edge(plan, top[0][0], target) for target, top in ranked.items())
    if n_leaky:
        first += (f"; a leakage warning names the first source of {n_leaky} target(s) (an inflated score): "
                  "fix the overlap or take the next source")
    chosen = [str(name) for name in (source_set.get("chosen") or [])]
    if chosen:
        shown = ", ".join(f"`{name}`" for name in chosen[:5]) + (", ..." if len(chosen) > 5 else "")
        budget = source_set.get("budget")
        of_budget = f" of a budget of {budget}" if budget and budget != len(chosen) else ""
        first += (f"; `source_set` keeps the {len(chosen)} source(s){of_budget} that serve all targets best: "
                  f"{shown}).")
    else:
        first += ")."
    warnings = list(plan.get("warnings") or [])
    second = (f"**Read the {len(warnings)} warning(s)** in `plan.json` before acting ({_warning_counts(warnings)})."
              if warnings else "**No warnings**: no leakage, weak source or flagged score was found in the plan's inputs.")
    evidence = plan.get("evidence") or {}
    levels = {k: (evidence.get(k) or {}).get("level", "proxy only") for k in ("groups", "curriculum")}
    sources_level = (evidence.get("sources") or {}).get("level", "proxy only")
    ranking = ("`transfergraph validate CONFIG` checks the source ranking on your data." if sources_level.startswith("proxy")
               else f"the source ranking is {sources_level} (see the evidence section).")
    all_proxy = all(level.startswith("proxy") for level in levels.values())
    if all_proxy and any(str(w).startswith("no task->task edges") for w in warnings):
        third = ("**Groups and curriculum carry no information** here: there is no task->task edge (every grouping "
                 "and order scores alike); give each task its own model (config `models.per_task: true`, or "
                 f"`Source(..., task=NAME)`) to plan them; {ranking}")
    elif all_proxy:
        third = ("**Groups and curriculum are proxy only** here: measure them with `transfergraph group CONFIG` "
                 "(trains each task alone and with each partner) or `transfergraph validate CONFIG --decisions` "
                 f"before training by them; {ranking}")
    else:
        shaky = bool((evidence.get("groups") or {}).get("provisional"))  # `transfergraph group`'s caveats
        third = ("**Groups**: " + levels["groups"] + (" (provisional: see its caveats)" if shaky else "")
                 + "; **curriculum**: " + levels["curriculum"]
                 + " (see the evidence section")
        seeds = measured_seeds(plan)
        if seeds is not None and seeds < MIN_CI_SEEDS:
            third += (f"; measured on {seeds_text(seeds)}, so provisional: rerun `transfergraph validate CONFIG "
                      f"--decisions` with {SEEDS_KEY} >= {SUGGESTED_SEEDS}")
        third += f"); {ranking}"
    return ["## What to do next", "", f"1. {first}", f"2. {second}", f"3. {third}", ""]
