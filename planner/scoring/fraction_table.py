"""The ``score()`` table of a run with ``pairs_fraction``: measured rows plus one ``predicted`` row per unscored pair.

:func:`fraction_table` drives :func:`transfergraph.planner.scoring.fraction.run_design` with a
``measure`` that scores real pairs (the engine's ``run_pairs``) and reads their ``normalized`` values
back; the predictions are made on that column (the graph's weight), per metric.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from transfergraph.planner.scoring.fraction import run_design
from transfergraph.planner.scoring.table import build_table

__all__ = ["fraction_table", "PREDICTED", "PREDICTED_SD"]

#: status of a row whose pair was not scored, and the column of its predictive s.d.
PREDICTED = "predicted"
PREDICTED_SD = "predicted_sd"


def _matrices(table: pd.DataFrame, sources: Sequence[str], targets: Sequence[str],
              metrics: Sequence[str]) -> dict[str, np.ndarray]:
    s_idx = {s: i for i, s in enumerate(sources)}
    t_idx = {t: j for j, t in enumerate(targets)}
    out = {}
    ok = table[table["status"] == "ok"]
    for m in metrics:
        Y = np.full((len(sources), len(targets)), np.nan)
        rows = ok[ok["metric"] == m]
        i = rows["source"].map(s_idx).to_numpy(dtype=np.int64)
        j = rows["target"].map(t_idx).to_numpy(dtype=np.int64)
        Y[i, j] = rows["normalized"].to_numpy(dtype=np.float64)
        out[m] = Y
    return out


def fraction_table(
    run_pairs: Callable[[set[tuple[str, str]]], Sequence[Any]],
    sources: Sequence[str],
    targets: Sequence[str],
    source_task: Mapping[str, str],
    metrics: Sequence[str],
    registry: Mapping[str, Any],
    info: Mapping[str, Mapping[str, Any]],
    *,
    fraction: float,
    seed: int,
    top_k: int,
) -> pd.DataFrame:
    """Score the design's pairs with ``run_pairs`` and return the full table.

    ``run_pairs(allowed)`` scores the (source name, target name) pairs in ``allowed`` and returns
    their finished rows (``ScoreRow`` s or row dicts, as ``score()`` collects them). The table has the ``score()`` columns
    plus ``predicted_sd``; measured rows have ``predicted_sd`` NaN, predicted rows have status
    "predicted", NaN ``score``, the predicted ``normalized`` value and its s.d. (both NaN, with an
    ``error`` text, for a metric with no measured value to predict from).
    """
    rows: list[Any] = []
    excluded = np.array([[source_task.get(s, "") == t for t in targets] for s in sources], dtype=bool)
    # a task's own model on the other tasks: the task->task edges of groups and curricula, always measured
    tasks = set(targets)
    required = np.array([[source_task.get(s, "") in tasks for _ in targets] for s in sources], dtype=bool) & ~excluded

    def measure(pairs: list[tuple[int, int]]) -> dict[str, np.ndarray]:
        rows.extend(run_pairs({(sources[i], targets[j]) for i, j in pairs}))
        return _matrices(build_table(list(rows), registry), sources, targets, metrics)

    result = run_design(sources, targets, fraction, measure, seed=seed, top_k=top_k, excluded=excluded,
                        required=required)
    table = build_table(rows, registry)
    table[PREDICTED_SD] = np.nan
    predicted = []
    for i, j in zip(*np.nonzero(~result.scored)):
        s, t = sources[i], targets[j]
        for m in metrics:
            p = result.predictions.get(m)
            predicted.append({
                "source": s, "source_task": source_task.get(s, ""), "target": t, "metric": m, "score": np.nan,
                "normalized": float(p.mean[i, j]) if p is not None else np.nan,
                PREDICTED_SD: float(p.sd[i, j]) if p is not None else np.nan,
                "status": PREDICTED, "flag": "", "seconds": 0.0, "cached": False,
                "error": "" if p is not None else f"no pair of metric {m!r} was scored: nothing to predict from",
                "metric_version": str(getattr(registry[m], "version", "")), **info[t],
            })
    if predicted:
        extra = pd.DataFrame(predicted, columns=list(table.columns)).astype(table.dtypes.to_dict())
        table = pd.concat([table, extra], ignore_index=True)
        table = table.sort_values(["source", "target", "metric"], kind="mergesort").reset_index(drop=True)
    table.attrs["pairs_fraction"] = {"fraction": fraction, "candidates": result.n_candidates,
                                     "budget": result.budget, "rounds": [len(r) for r in result.rounds]}
    return table
