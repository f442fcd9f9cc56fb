"""The report's lines on a ``pairs_fraction`` run: how many pairs were scored and how many predicted."""
from __future__ import annotations

import pandas as pd

__all__ = ["predicted_lines"]


def predicted_lines(scores: pd.DataFrame | None) -> list[str]:
    """A short paragraph when ``scores`` has rows with status "predicted"; else nothing."""
    if scores is None or "status" not in scores.columns or not (scores["status"] == "predicted").any():
        return []
    pairs = scores.drop_duplicates(["source", "target"])[["source", "target"]]
    status = scores.groupby(["source", "target"])["status"].agg(lambda s: "predicted" if (s == "predicted").all()
                                                                 else "scored")
    n_pred = int((status == "predicted").sum())
    n_all = len(pairs)
    n_scored = n_all - n_pred
    own = ""
    if "source_task" in scores.columns:  # a source on its own task: never a graph edge, never a scoring candidate
        first = scores.drop_duplicates(["source", "target"]).set_index(["source", "target"])
        is_own = first["source_task"].astype(str) == first.index.get_level_values("target").astype(str)
        n_own = int(is_own.sum())
        n_own_pred = int((status.reindex(first.index)[is_own] == "predicted").sum())
        n_cand, n_cand_scored = n_all - n_own, n_scored - (n_own - n_own_pred)
        if n_own_pred and n_cand:
            own = (f"; {n_cand_scored} of the {n_cand} pairs that can be graph edges ({100 * n_cand_scored / n_cand:.1f} %), "
                   f"the share `pairs_fraction` applies to: the {n_own_pred} pair(s) of a source on its own task "
                   "are never graph edges and were only predicted, so the own-task chance check did not run on them")
    return [
        f"**Scored {n_scored} of {n_all} (source, target) pairs ({100 * n_scored / n_all:.1f} %)**{own}; the other "
        f"{n_pred} were predicted from the scored ones (per-target z-scores, shrunk source means and a low-rank term; "
        "`scores.csv` rows with status `predicted`, an empty `score`, the predicted `normalized` value and its "
        "`predicted_sd`). Each target's predicted top-k was then scored exactly, so the share scored can exceed "
        "the `pairs_fraction` asked for; graph edges of predicted pairs carry `predicted=True`, and no decision "
        "below uses or recommends one.",
        "",
    ]
