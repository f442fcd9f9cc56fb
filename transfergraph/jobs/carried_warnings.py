"""Leakage found by ``transfergraph run``, carried into a re-plan of the same run.

``transfergraph plan`` re-plans from ``scores.csv`` or ``graph.graphml`` alone: it has neither the tasks'
samples nor the sources' training data, so it cannot check sample overlap (its plan says the check did not
run). The ``plan.json`` that ``run`` wrote beside the input did check it, for the pairs that plan
recommended; its sample-overlap warnings are facts about (source model, target) pairs that a re-plan
(e.g. ``--sources-from external``) may recommend again, so they are carried over, each marked as found
by that run and not re-checked.
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["carried_leakage_warnings", "CARRIED_MARK"]

#: the words a carried warning ends with (a warning already carrying them is not marked twice)
CARRIED_MARK = "found by `transfergraph run` in"


def carried_leakage_warnings(previous: str | Path) -> list[str]:
    """The ``sample overlap`` warnings of the plan.json at ``previous``, each ending with where they come from.

    Returns [] when the file is missing or unreadable, or holds no such warning; never raises.
    """
    path = Path(previous)
    try:
        warnings = json.loads(path.read_text()).get("warnings") or []
    except (OSError, ValueError, AttributeError):
        return []
    out = []
    for w in warnings:
        text = str(w)
        if not text.startswith("sample overlap"):
            continue
        out.append(text if CARRIED_MARK in text else f"{text} ({CARRIED_MARK} {path}; not re-checked by this re-plan)")
    return out
