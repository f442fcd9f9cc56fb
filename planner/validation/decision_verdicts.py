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
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

__all__ = ["short_verdict", "evidence_level", "offered_groupings", "separate_line"]

VALIDATED = "validated on this data"
MEASURED = "measured on this data"


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
    return f"gain {r.gain:+.3f} [{r.gain_low:+.3f}, {r.gain_high:+.3f}] over the random partition mean"


def offered_groupings(summary: pd.DataFrame, measured: dict[str, list]) -> tuple[dict[str, list], dict[str, str]]:
    """(offered, withheld) measured groupings per budget key ``"k<k>"``.

    A budget is withheld, with the reason, when the ``hoa`` arm of ``grouping_k<k>`` has a gain CI
    entirely below 0 on this data; a budget without a judged ``hoa`` row is offered as is.
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
    the random partition mean (gain CI above 0), else None."""
    rows = summary[summary.arm == "all_separate"]
    if decisions is not None:
        rows = rows[rows.decision.isin(list(decisions))]
    for r in rows.itertuples():
        if np.isfinite(r.gain_low) and r.gain_low > 0:
            return (f"Training every task alone (all_separate) beat random groupings on this data ({r.decision}: "
                    f"{_gain_text(r)}): prefer separate models to the plan's groups unless a grouping does better.")
    return None
