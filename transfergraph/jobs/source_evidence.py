"""The ``sources`` evidence of ``OUT/plan.json`` after ``transfergraph validate`` measured the source ranking.

A plan's source ranking is "proxy only" until real transfers on this data say how well the planning metric
ranked the sources. After ``validate`` this records, per validation method, the planning metric's Kendall
tau-b with the measured test accuracy over the validated pairs and its source-selection regret (accuracy of
the best validated source minus that of the top-scored one, averaged over targets with at least two sources;
``random`` is the same for a random pick; relative = regret / random, 0 = always the best source, 1 = no
better than random), from ``correlations.csv`` and ``regret.csv`` (:mod:`transfergraph.planner.validation.correlations`).
It states numbers, not a verdict: with a handful of pairs they are noisy, and the note says how many there were.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from transfergraph.planner.common.io import atomic_write_json

__all__ = ["record_source_evidence", "SOURCES_MEASURED"]

#: the evidence level of a source ranking measured by ``transfergraph validate``
SOURCES_MEASURED = "measured on this data"


def _num(x, fmt: str) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def record_source_evidence(plan_path: str | Path, corr: pd.DataFrame, regret: pd.DataFrame, metric: str) -> bool:
    """Set ``evidence["sources"]`` of the plan at ``plan_path`` from the validation of its metric
    (the plan's ``metric``; ``metric`` when the plan names none).

    ``corr`` and ``regret`` are the frames of ``correlations.csv`` / ``regret.csv`` (columns ``metric``,
    ``method``, ``kendall_tau``, ``kendall_p``, ``n_pairs`` / ``n_targets``, ``regret``, ``random_regret``,
    ``relative_regret``). Returns False, changing nothing, when the file is missing or the metric was not
    validated (no row of it).
    """
    path = Path(plan_path)
    if not path.is_file():
        return False
    plan = json.loads(path.read_text())
    metric = str(plan.get("metric") or metric)  # the metric the plan ranked its sources by
    rows = corr[corr["metric"] == metric] if len(corr) else corr
    if not len(rows):
        return False
    parts = []
    for r in rows.sort_values("method").itertuples():
        reg = regret[(regret["metric"] == metric) & (regret["method"] == r.method)] if len(regret) else regret
        text = (f"{r.method}: Kendall tau {_num(r.kendall_tau, '+.2f')} (p {_num(r.kendall_p, '.2g')}) over "
                f"{int(r.n_pairs)} pairs")
        if len(reg):
            g = reg.iloc[0]
            text += (f", selection regret {_num(g.regret, '.3f')} vs {_num(g.random_regret, '.3f')} for a random "
                     f"pick (relative {_num(g.relative_regret, '.2f')}) over {int(g.n_targets)} targets")
        parts.append(text)
    plan.setdefault("evidence", {})["sources"] = {
        "level": SOURCES_MEASURED,
        "note": (f"{SOURCES_MEASURED} with `transfergraph validate` (validation.md): {metric} against the measured "
                 "test accuracy of the validated pairs: " + "; ".join(parts) + ". Few pairs make these numbers "
                 "noisy; a source trained on a target's samples (see warnings) inflates its accuracy."),
    }
    atomic_write_json(path, plan)
    return True
