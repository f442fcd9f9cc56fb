"""The report's list of flagged scores: rows of the score table outside their metric's regime of
validity (non-empty ``flag`` column)."""
from __future__ import annotations

import pandas as pd

from transfergraph.planner.report.tables import frame_table

__all__ = ["flagged_section"]

#: Rows shown in the report; the rest are counted and left to scores.csv.
MAX_ROWS = 30


def flagged_section(scores: pd.DataFrame) -> list[str]:
    """Markdown lines listing every flagged (source, target, metric) score, or [] when none is.

    Flagged scores keep ``status`` "ok" and their value; the section says so and shows the reason.
    A table without a ``flag`` column (written before it existed), or no table (a plan re-made from a
    graph), has no flagged rows.
    """
    if scores is None or "flag" not in scores.columns:
        return []
    flags = scores["flag"].fillna("").astype(str)
    flagged = scores[(scores["status"] == "ok") & (flags != "")]
    if flagged.empty:
        return []
    lines = ["## Flagged scores", "",
             f"{len(flagged)} score(s) lie outside their metric's regime of validity (sample size versus "
             "feature dimension or source classes, samples per class): they are kept, but a ranking by them "
             "may reflect the shapes of the data rather than transferability. `plan.json` warns where a "
             "decision used them.", ""]
    shown = flagged[["source", "target", "metric", "score", "flag"]].head(MAX_ROWS)
    lines += [frame_table(shown), ""]
    if len(flagged) > MAX_ROWS:
        lines += [f"... and {len(flagged) - MAX_ROWS} more (see the flag column of scores.csv).", ""]
    return lines
