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
    return [
        f"**Scored {n_scored} of {n_all} (source, target) pairs ({100 * n_scored / n_all:.1f} %)**; the other "
        f"{n_pred} were predicted from them (per-target z-scores, shrunk source means and a low-rank term; "
        "`scores.csv` rows with status `predicted`, an empty `score`, the predicted `normalized` value and its "
        "`predicted_sd`). Each target's predicted top-k was then scored exactly; graph edges of predicted pairs "
        "carry `predicted=True`, and no decision below uses or recommends one.",
        "",
    ]
