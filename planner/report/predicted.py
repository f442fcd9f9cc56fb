"""The report's lines on a ``pairs_fraction`` run: how many pairs were scored and how many predicted."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["predicted_lines", "pair_masks"]


def pair_masks(scores: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, own): one entry per (source, target) pair of ``scores`` (sorted by source, then target).

    predicted: every row of the pair has status "predicted" (``pairs_fraction`` left it unscored); own: the
    source is on its own task (``source_task`` == ``target``: never a graph edge, never a scoring candidate;
    all False without a ``source_task`` column).
    """
    keys = ["source", "target"]
    predicted = (scores["status"] == "predicted").groupby([scores[k] for k in keys]).all()
    if "source_task" not in scores.columns:
        return predicted.to_numpy(dtype=bool), np.zeros(len(predicted), dtype=bool)
    first = scores.drop_duplicates(keys).set_index(keys).reindex(predicted.index)
    own = first["source_task"].astype(str).to_numpy() == first.index.get_level_values("target").astype(str)
    return predicted.to_numpy(dtype=bool), np.asarray(own, dtype=bool)


def predicted_lines(scores: pd.DataFrame | None) -> list[str]:
    """A short paragraph when ``scores`` has rows with status "predicted"; else nothing."""
    if scores is None or "status" not in scores.columns or not (scores["status"] == "predicted").any():
        return []
    pred, is_own = pair_masks(scores)
    n_all, n_pred = len(pred), int(pred.sum())
    n_scored = n_all - n_pred
    n_own_pred = int((is_own & pred).sum())
    n_cand, n_cand_scored = int((~is_own).sum()), int((~is_own & ~pred).sum())
    own = ""
    if n_own_pred and n_cand:  # a source on its own task: never a graph edge, never a scoring candidate
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
