"""Write what ``transfergraph validate`` promises: validation.csv, correlations.csv, report section.

One call: :func:`write_validation_outputs` takes the :func:`transfergraph.planner.validation.run_validation` table and
the :func:`transfergraph.planner.score` table, and writes every file atomically into ``out_dir``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from transfergraph.planner.common.io import atomic_write_text, atomic_write_with
from transfergraph.planner.report.validation import validation_report
from transfergraph.planner.validation.correlations import correlations, selection_regret

__all__ = ["write_validation_outputs"]


def _csv(df: pd.DataFrame, path: Path) -> Path:
    return atomic_write_with(path, lambda tmp: df.to_csv(tmp, index=False))


def write_validation_outputs(
    validation_df: pd.DataFrame,
    scores_df: pd.DataFrame,
    out_dir: str | Path,
    *,
    metric: str = "leep",
    score_column: str = "score",
    section_file: str | None = "validation.md",
) -> dict[str, Any]:
    """Write ``validation.csv``, ``correlations.csv``, ``regret.csv``, the figures and the markdown section.

    Parameters
    ----------
    validation_df : the :func:`transfergraph.planner.validation.run_validation` table (written as is: its documented columns first)
    scores_df : the :func:`transfergraph.planner.score` table of the same sources and targets
    out_dir : folder (created if missing)
    metric : metric whose verdict and transferability levels the report shows
    score_column : ``"score"`` (raw, as in the LEEP paper) or ``"normalized"``
    section_file : also write the markdown section to this file in ``out_dir`` (None: don't)

    Returns
    -------
    dict with ``correlations`` and ``regret`` (DataFrames), ``markdown`` (str, for ``report.md``)
    and ``paths`` (name -> Path of every file written).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corr = correlations(scores_df, validation_df, score_column=score_column)
    regret = selection_regret(scores_df, validation_df, score_column=score_column)
    paths = {
        "validation.csv": _csv(validation_df, out / "validation.csv"),
        "correlations.csv": _csv(corr, out / "correlations.csv"),
        "regret.csv": _csv(regret, out / "regret.csv"),
    }
    markdown = validation_report(validation_df, corr, scores_df, out, metric=metric, regret_df=regret)
    for png in sorted(out.glob("validation_*.png")):
        paths[png.name] = png
    if section_file:
        paths[section_file] = atomic_write_text(out / section_file, markdown)
    return {"correlations": corr, "regret": regret, "markdown": markdown, "paths": paths}
