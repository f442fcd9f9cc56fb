"""What the decision validation lets a plan say: evidence levels that carry the verdict, and which
fallbacks may be offered.

Rows are those of :func:`transfergraph.planner.validation.decision_outputs.summarize` (one per decision
and arm, with ``gain``, ``gain_low``, ``gain_high`` and the pre-registered ``verdict``).

- :func:`evidence_level`: "validated on this data: beats random" only when every judged decision beats
  random; otherwise "measured on this data: <verdict>" with the verdict (or each decision's, when they
  differ), so an inconclusive or failed measurement never reads as a validation.
- :func:`offered_groupings`: the grouping from the measured pairs (HOA) is offered for a group budget
  unless, on this data, it was significantly worse than random (the upper end of its gain CI below 0).
- :func:`separate_line`: whether training every task alone (``all_separate``) beat the random
  partition mean, with its gain and CI.
- :func:`seeds_text`, :func:`ci_text`, :func:`provisional_note`: how a seed count, a CI and the caveat of
  few seeds read. Under 3 seeds there is no CI (a bootstrap of one or two values is a zero-width interval or
  their range, which would read as certainty) and no noise ceiling: the CI reads "n/a (1 seed)" / "n/a (2
  seeds)" and what is advised from it is marked provisional, with the config key that sets the seeds
  (:data:`SEEDS_KEY`).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

__all__ = ["short_verdict", "evidence_level", "offered_groupings", "separate_line", "seeds_text", "ci_text",
           "provisional_note", "measured_seeds", "cannot_tell", "SEEDS_KEY", "MIN_CI_SEEDS", "SUGGESTED_SEEDS", "FIRM_SEEDS"]

VALIDATED = "validated on this data"
MEASURED = "measured on this data"
#: the config key that sets the seeds of ``validate --decisions``
SEEDS_KEY = "validate.decisions.seeds"
#: fewest seeds with a CI and a noise ceiling; seeds suggested for a rerun; seeds below which a verdict is provisional
MIN_CI_SEEDS, SUGGESTED_SEEDS, FIRM_SEEDS = 3, 3, 5


def cannot_tell(entry) -> str | None:
    """Why a measured partition or order (plan.json ``measured_partition`` / ``measured_curriculum`` entry) is
    no reason to prefer it even where it beat the random mean on test: the single-task networks of some of its
    tasks are at chance (``at_chance``), or its decision's noise ceiling is below 0.5 (``noise_ceiling``: the
    trained alternatives cannot be told apart, the bar of ``inconclusive``; or undefined: ``ceiling_undefined``);
    None when none of these."""
    chance = list(entry.get("at_chance") or [])
    ceiling = entry.get("noise_ceiling")
    if chance:
        return f"the single-task networks of {chance} are at chance, so its gain is noise"
    if ceiling is not None and ceiling < 0.5:
        return f"the noise ceiling is {ceiling:.2f} < 0.5: the trained alternatives cannot be told apart"
    if entry.get("ceiling_undefined"):
        return "the noise ceiling is undefined: no split of the seeds ranks the trained alternatives apart"
    return None


def measured_seeds(plan) -> int | None:
    """The fewest seeds behind plan.json ``measured_partition`` / ``measured_curriculum`` (None: neither): the
    caveat of the report's and the next steps' advice from them."""
    seeds = [m.get("seeds") for key in ("measured_partition", "measured_curriculum")
             for m in (plan.get(key) or {}).values() if isinstance(m, dict)]
    seeds = [int(s) for s in seeds if isinstance(s, (int, float)) and not isinstance(s, bool)]
    return min(seeds) if seeds else None


def seeds_text(n) -> str:
    """``"1 seed"``, ``"3 seeds"``."""
    n = int(n)
    return f"{n} seed" if n == 1 else f"{n} seeds"


def ci_text(low: float, high: float, n_seeds, digits: int = 3) -> str:
    """A CI in brackets: ``[+0.010, +0.030]``; ``[n/a (2 seeds)]`` under :data:`MIN_CI_SEEDS` seeds (a bootstrap
    of one or two values is no CI); ``[n/a]`` when a bound is not finite for another reason."""
    if int(n_seeds) < MIN_CI_SEEDS:
        return f"[n/a ({seeds_text(n_seeds)})]"
    if not (np.isfinite(low) and np.isfinite(high)):
        return "[n/a]"
    return f"[{low:+.{digits}f}, {high:+.{digits}f}]"


def provisional_note(n_seeds) -> str:
    """The caveat of what was measured on ``n_seeds`` seeds: under :data:`MIN_CI_SEEDS`, ``"provisional: 1 seed,
    too few for a CI; rerun with validate.decisions.seeds >= 3"``; under :data:`FIRM_SEEDS`, ``"provisional: 3
    seeds < 5"``; else ``""``."""
    n = int(n_seeds)
    if n < MIN_CI_SEEDS:
        return f"provisional: {seeds_text(n)}, too few for a CI; rerun with {SEEDS_KEY} >= {SUGGESTED_SEEDS}"
    return f"provisional: {n} seeds < {FIRM_SEEDS}" if n < FIRM_SEEDS else ""


def short_verdict(verdict: str) -> str:
    """"beats random", "fails the minimum bar" or "inconclusive" (the reasons in brackets dropped)."""
    return str(verdict).split(" (", 1)[0].strip() or "no verdict"


def evidence_level(rows: pd.DataFrame) -> str:
    """The evidence level of a decision from its judged rows (columns ``decision``, ``verdict``)."""
    verdicts = [(str(d), short_verdict(v)) for d, v in zip(rows["decision"], rows["verdict"])]
    kinds = sorted({v for _, v in verdicts})
    if kinds == ["beats random"]:
        return f"{VALIDATED}: beats random"
    if len(kinds) == 1:
        return f"{MEASURED}: {kinds[0]}"
    return f"{MEASURED}: mixed (" + "; ".join(f"{d} {v}" for d, v in verdicts) + ")"


def _gain_text(r) -> str:
    return f"gain {r.gain:+.3f} {ci_text(r.gain_low, r.gain_high, r.n_seeds)} over the random partition mean"


def offered_groupings(summary: pd.DataFrame, measured: dict[str, list]) -> tuple[dict[str, list], dict[str, str]]:
    """(offered, withheld) measured groupings per budget key ``"k<k>"``.

    A budget is withheld, with the reason, when the ``hoa`` arm of ``grouping_k<k>`` has a gain CI
    entirely below 0 on this data; a budget without a judged ``hoa`` row, or without a CI (one seed), is
    offered as is.
    """
    offered, withheld = {}, {}
    for key, groups in measured.items():
        row = summary[(summary.arm == "hoa") & (summary.decision == f"grouping_{key}")]
        r = next(iter(row.itertuples()), None)
        if r is not None and np.isfinite(r.gain_high) and r.gain_high < 0:
            withheld[key] = (f"not offered: on this data the grouping from the measured pairs was significantly "
                             f"worse than random ({_gain_text(r)})")
        else:
            offered[key] = groups
    return offered, withheld


def separate_line(summary: pd.DataFrame, decisions: Iterable[str] | None = None) -> str | None:
    """A sentence on ``all_separate`` (every task trained alone) for the first decision where it beat
    the random partition mean (gain CI above 0), marked provisional under :data:`FIRM_SEEDS` seeds; under
    :data:`MIN_CI_SEEDS` seeds (no CI) where its mean gain is above 0, a provisional sentence that asks for a rerun with more
    seeds instead of advising separate models; else None."""
    rows = summary[summary.arm == "all_separate"]
    if decisions is not None:
        rows = rows[rows.decision.isin(list(decisions))]
    for r in rows.itertuples():
        if int(r.n_seeds) < MIN_CI_SEEDS and np.isfinite(r.gain) and r.gain > 0:
            return (f"Training every task alone (all_separate) scored above the mean of random groupings on this "
                    f"data's {seeds_text(r.n_seeds)} ({r.decision}: {_gain_text(r)}); {provisional_note(r.n_seeds)} before "
                    "preferring separate models to the plan's groups.")
        if int(r.n_seeds) >= MIN_CI_SEEDS and np.isfinite(r.gain_low) and r.gain_low > 0:
            few = provisional_note(r.n_seeds)
            return (f"Training every task alone (all_separate) beat random groupings on this data ({r.decision}: "
                    f"{_gain_text(r)}): prefer separate models to the plan's groups unless a grouping does better"
                    + (f" ({few})." if few else "."))
    return None
