"""Warnings about the inputs found by ``transfergraph run``, carried into a re-plan of the same run.

``transfergraph plan`` re-plans from ``scores.csv`` or ``graph.graphml`` alone: it loads neither the models
nor the tasks' samples nor the sources' training data, so it cannot repeat the checks that need them (its
plan says the sample-overlap check did not run). The ``plan.json`` that ``run`` wrote beside the input did
run them; their warnings are facts about the inputs (a source model, a (source, target) pair), not about
that plan's decisions, so every re-plan carries them, each marked as found by that run and not re-checked:

- ``sample overlap ...``: a source trained on a target's samples (leakage);
- ``sample-overlap check not run for ...``: a task or source whose provenance the run could not compare;
- ``models....``: a configured model, named by its config entry (``models.external[1] (name): the model
  loaded from ... gives the same logits for every input ...``).

The warnings a re-plan computes again from the table or graph (weak transfer, near chance on its own task,
failed pairs, the decisions' own) are not carried: the re-plan writes its own. A re-plan from ``graph.graphml``
has no score table to repeat the own-task chance check on, so it also carries the run's
``source '...' is near chance on its own task ...`` warnings (:data:`TABLE_WARNINGS`).
"""
from __future__ import annotations

from pathlib import Path

from transfergraph.planner.common.io import read_json_object

__all__ = ["carried_input_warnings", "carried_leakage_warnings", "INPUT_WARNINGS", "TABLE_WARNINGS", "CARRIED_MARK"]

#: the words a carried warning ends with (a warning already carrying them is not marked twice)
CARRIED_MARK = "found by `transfergraph run` in"

#: how the warnings about the run's inputs begin (see the module doc); the generic
#: "sample-overlap (leakage) check not run" of a re-plan itself is not among them
INPUT_WARNINGS = ("sample overlap", "sample-overlap check not run for ", "models.")
#: the run's findings that need its score table (carried only by a re-plan without one, from graph.graphml)
TABLE_WARNINGS = ("near chance on its own task",)


def carried_input_warnings(previous: str | Path, *, without_table: bool = False) -> list[str]:
    """The warnings about the inputs (:data:`INPUT_WARNINGS`; with ``without_table``, a re-plan from a graph,
    also :data:`TABLE_WARNINGS`) of the plan.json at ``previous``, in its order, each ending with where it
    comes from (once: a warning already carried keeps its mark).

    Returns [] when the file is missing or unreadable, or holds no such warning; never raises.
    """
    path = Path(previous)
    warnings = read_json_object(path).get("warnings") or []
    out = []
    for w in warnings if isinstance(warnings, list) else []:
        text = str(w)
        if not (text.startswith(INPUT_WARNINGS) or (without_table and any(k in text for k in TABLE_WARNINGS))):
            continue
        out.append(text if CARRIED_MARK in text else f"{text} ({CARRIED_MARK} {path}; not re-checked by this re-plan)")
    return out


#: the earlier name, when only the leakage warnings were carried
carried_leakage_warnings = carried_input_warnings
