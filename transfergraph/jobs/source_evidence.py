"""The ``sources`` evidence of ``OUT/plan.json`` after ``transfergraph validate`` measured the source ranking.

A plan's source ranking is "proxy only" until real transfers on this data say how well the planning metric
ranked the sources. After ``validate`` this records, per validation method, the planning metric's Kendall
tau-b with the measured test accuracy over the validated pairs and its source-selection regret (accuracy of
the best validated source minus that of the top-scored one, averaged over targets with at least two sources;
``random`` is the same for a random pick; relative = regret / random, 0 = always the best source, 1 = no
better than random), from ``correlations.csv`` and ``regret.csv`` (:mod:`transfergraph.planner.validation.correlations`).
It states numbers, not a verdict: with a handful of pairs they are noisy, and the note says how many there were.

It also says what was sampled: which sources and targets the validated pairs hold, and for how many targets
the plan's recommended source (the first of ``plan["sources"][target]``) was itself among them. When it was
not, the level says so (:data:`SOURCES_NOT_RECOMMENDED`): the metric's ranking was measured on other pairs,
the recommendation itself was not checked, and the note gives the ``validate.pairs`` that would check it.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from transfergraph.planner.common.io import atomic_write_json

__all__ = ["record_source_evidence", "recommended_coverage", "SOURCES_MEASURED", "SOURCES_NOT_RECOMMENDED"]

#: the evidence level of a source ranking measured by ``transfergraph validate``
SOURCES_MEASURED = "measured on this data"
#: the level when none of the validated pairs is a target with its recommended source
SOURCES_NOT_RECOMMENDED = "measured on this data, but not on the recommended sources"


def _names(values, limit: int = 8) -> str:
    values = sorted(map(str, values))
    return ", ".join(values[:limit]) + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def recommended_coverage(plan: dict, validation: pd.DataFrame) -> dict:
    """Which of the plan's recommendations the validated pairs checked.

    ``validation`` is the ``validation.csv`` frame (columns ``source``, ``target``, ``status``; rows whose
    status is not ``"ok"`` do not count). A target's recommended source is the first of
    ``plan["sources"][target]``, named by its model (``plan["source_models"]``, as in ``validation.csv``).

    Returns
    -------
    dict
        ``sources`` / ``targets``: the names in the validated pairs; ``recommended``: {target: model};
        ``checked``: targets whose recommended pair was validated; ``compared``: those of them with at least
        one other validated source (the choice itself was measured against an alternative).
    """
    ok = validation[validation["status"] == "ok"] if "status" in validation.columns else validation
    pairs = {(str(s), str(t)) for s, t in zip(ok["source"], ok["target"])}
    models = plan.get("source_models") or {}
    recommended = {str(t): str((models.get(t) or {}).get(top[0][0], top[0][0]))
                   for t, top in sorted((plan.get("sources") or {}).items()) if top}
    checked = [t for t, m in recommended.items() if (m, t) in pairs]
    compared = [t for t in checked if sum(1 for _, u in pairs if u == t) >= 2]
    return {"sources": sorted({s for s, _ in pairs}), "targets": sorted({t for _, t in pairs}),
            "recommended": recommended, "checked": checked, "compared": compared}


def _coverage_text(cov: dict) -> tuple[str, str]:
    """(level, sentence) from :func:`recommended_coverage`."""
    n, k = len(cov["recommended"]), len(cov["checked"])
    sampled = (f"The validated pairs hold the sources {_names(cov['sources'])} on the targets "
               f"{_names(cov['targets'])}. ")
    missing = {t: m for t, m in cov["recommended"].items() if t not in cov["checked"]}
    todo = ("; to check it, list those pairs in `validate.pairs` (" + _names(f"[{m}, {t}]" for t, m in missing.items())
            + ") or raise `validate.n_pairs`")
    if not n:
        return SOURCES_MEASURED, sampled
    if k == 0:
        return SOURCES_NOT_RECOMMENDED, sampled + (
            f"None of them is a target with its recommended source ({_names(f'{t} <- {m}' for t, m in missing.items())}): "
            f"the recommendation itself was not checked, only how the metric ranks other sources{todo}. ")
    text = (f"The recommended source was validated for {k} of {n} targets ({_names(cov['checked'])}), against at "
            f"least one other source for {len(cov['compared'])} of them")
    if k < n:
        return (f"{SOURCES_MEASURED}, the recommended source for {k} of {n} targets",
                sampled + text + f"; not for {_names(missing)}{todo}. ")
    return SOURCES_MEASURED, sampled + text + ". "


def _num(x, fmt: str) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def record_source_evidence(plan_path: str | Path, corr: pd.DataFrame, regret: pd.DataFrame, metric: str,
                           validation: pd.DataFrame | None = None) -> bool:
    """Set ``evidence["sources"]`` of the plan at ``plan_path`` from the validation of its metric
    (the plan's ``metric``; ``metric`` when the plan names none).

    ``corr`` and ``regret`` are the frames of ``correlations.csv`` / ``regret.csv`` (columns ``metric``,
    ``method``, ``kendall_tau``, ``kendall_p``, ``n_pairs`` / ``n_targets``, ``regret``, ``random_regret``,
    ``relative_regret``). ``validation`` (the ``validation.csv`` frame), when given, adds which sources and
    targets were sampled and whether the recommended sources were among them (:func:`recommended_coverage`;
    level :data:`SOURCES_NOT_RECOMMENDED` when none was). Returns False, changing nothing, when the file is
    missing or the metric was not validated (no row of it).
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
    level, sampled = SOURCES_MEASURED, ""
    if validation is not None:
        level, sampled = _coverage_text(recommended_coverage(plan, validation))
    plan.setdefault("evidence", {})["sources"] = {
        "level": level,
        "note": (f"{level} with `transfergraph validate` (validation.md): {metric} against the measured "
                 "test accuracy of the validated pairs: " + "; ".join(parts) + ". " + sampled + "Few pairs make "
                 "these numbers noisy; a source trained on a target's samples (see warnings) inflates its accuracy."),
    }
    atomic_write_json(path, plan)
    return True
