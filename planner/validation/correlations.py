"""How well do scores predict measured transfer? Correlations and source-selection regret.

Both functions join a score table (:func:`transfergraph.planner.score`) with a validation table
(:func:`run_validation`) on (source, target), keeping only ``ok`` rows with finite values.

- :func:`correlations`: per (metric, method), over all pairs pooled (the LEEP paper's Table 1
  protocol: one point per pair), Pearson r, Kendall tau-b, Spearman rho (with p-values) and
  weighted tau (``scipy.stats.weightedtau``, no p-value); plus the same statistics within each
  target that has at least ``min_sources`` sources, averaged over those targets (the model-zoo
  ranking protocol).
- :func:`selection_regret`: per (metric, method), acc(best source) - acc(metric's top-1 source),
  averaged over targets with at least two candidate sources, against a random choice.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError

__all__ = ["joined", "correlations", "selection_regret", "CORRELATION_COLUMNS", "REGRET_COLUMNS"]

CORRELATION_COLUMNS = [
    "metric", "method", "pearson", "pearson_p", "kendall_tau", "kendall_p", "weighted_tau", "spearman",
    "spearman_p", "n_pairs", "n_targets", "per_target_pearson", "per_target_kendall_tau",
    "per_target_weighted_tau", "n_ranked_targets", "score_column",
]
REGRET_COLUMNS = [
    "metric", "method", "n_targets", "regret", "regret_std", "random_regret", "relative_regret",
    "top1_rate", "best_accuracy", "chosen_accuracy",
]


def _require(df: Any, name: str, columns: list[str]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{name} must be a pandas.DataFrame; got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{name} must have columns {columns}; missing {missing} (has {list(df.columns)}).")
    return df


def joined(scores_df: pd.DataFrame, validation_df: pd.DataFrame, *, score_column: str = "score") -> pd.DataFrame:
    """Inner join of ok score rows and ok validation rows on (source, target).

    Returns columns ``source, target, metric, method, score, accuracy`` (``score`` is
    ``scores_df[score_column]``), in the order of the metrics and methods as they first appear.
    """
    _require(scores_df, "scores_df", ["source", "target", "metric", score_column])
    _require(validation_df, "validation_df", ["source", "target", "method", "accuracy"])
    s = scores_df
    if "status" in s.columns:
        s = s[s["status"] == "ok"]
    s = s[["source", "target", "metric", score_column]].rename(columns={score_column: "score"})
    s = s[np.isfinite(s["score"].astype(float))]
    v = validation_df
    if "status" in v.columns:
        v = v[v["status"] == "ok"]
    v = v[["source", "target", "method", "accuracy"]]
    v = v[np.isfinite(v["accuracy"].astype(float))]
    out = s.merge(v, on=["source", "target"], how="inner")
    out["score"] = out["score"].astype(float)
    out["accuracy"] = out["accuracy"].astype(float)
    return out[["source", "target", "metric", "method", "score", "accuracy"]]


def _varies(x: np.ndarray) -> bool:
    return len(x) >= 2 and float(np.ptp(x)) > 0.0


def _stats(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Pearson, Kendall tau-b, Spearman (with p-values) and weighted tau of (x, y); NaN where undefined."""
    from scipy import stats

    nan = float("nan")
    out = {"pearson": nan, "pearson_p": nan, "kendall_tau": nan, "kendall_p": nan,
           "weighted_tau": nan, "spearman": nan, "spearman_p": nan}
    if len(x) < 3 or not (_varies(x) and _varies(y)):
        return out
    r = stats.pearsonr(x, y)
    out["pearson"], out["pearson_p"] = float(r.statistic), float(r.pvalue)
    k = stats.kendalltau(x, y)
    out["kendall_tau"], out["kendall_p"] = float(k.statistic), float(k.pvalue)
    out["weighted_tau"] = float(stats.weightedtau(x, y).statistic)
    sp = stats.spearmanr(x, y)
    out["spearman"], out["spearman_p"] = float(sp.statistic), float(sp.pvalue)
    return out


def _nanmean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def correlations(
    scores_df: pd.DataFrame,
    validation_df: pd.DataFrame,
    *,
    score_column: str = "score",
    min_sources: int = 3,
) -> pd.DataFrame:
    """Correlation between scores and measured accuracy, per (metric, method).

    Parameters
    ----------
    scores_df : DataFrame with columns source, target, metric, ``score_column`` (and status)
    validation_df : DataFrame with columns source, target, method, accuracy (and status)
    score_column : str
        ``"score"`` (raw, the LEEP paper's choice) or ``"normalized"`` (comparable across targets).
    min_sources : int
        A target enters the per-target averages when it has at least this many scored sources.

    Returns
    -------
    DataFrame with columns :data:`CORRELATION_COLUMNS`. ``pearson``, ``kendall_tau`` (tau-b),
    ``weighted_tau`` and ``spearman`` are over the ``n_pairs`` pooled pairs (NaN with fewer than 3
    pairs or a constant column); ``per_target_*`` are means over the ``n_ranked_targets`` targets
    with at least ``min_sources`` sources (NaN when there are none).
    """
    check_scalar(min_sources, "min_sources", int, caller="correlations", min_val=2)
    data = joined(scores_df, validation_df, score_column=score_column)
    rows = []
    for (metric, method), g in data.groupby(["metric", "method"], sort=False):
        x, y = g["score"].to_numpy(), g["accuracy"].to_numpy()
        row: dict[str, Any] = {"metric": metric, "method": method, **_stats(x, y), "n_pairs": len(g),
                               "n_targets": int(g["target"].nunique())}
        per = {"pearson": [], "kendall_tau": [], "weighted_tau": []}
        ranked = 0
        for _, gt in g.groupby("target", sort=False):
            if len(gt) < min_sources:
                continue
            ranked += 1
            st = _stats(gt["score"].to_numpy(), gt["accuracy"].to_numpy())
            for k in per:
                per[k].append(st[k])
        row.update({f"per_target_{k}": _nanmean(v) for k, v in per.items()})
        row["n_ranked_targets"] = ranked
        row["score_column"] = score_column
        rows.append(row)
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


def selection_regret(
    scores_df: pd.DataFrame,
    validation_df: pd.DataFrame,
    *,
    score_column: str = "score",
) -> pd.DataFrame:
    """Source-selection regret of picking each target's top-scored source, per (metric, method).

    For target t with candidate sources S_t (ok score and ok accuracy, |S_t| >= 2):
    chosen = argmax_{s in S_t} score(s, t) (ties: smallest source name, as ``select_sources``),
    regret_t = max_s acc(s, t) - acc(chosen, t), random_regret_t = max_s acc(s, t) - mean_s acc(s, t).

    Returns
    -------
    DataFrame with columns :data:`REGRET_COLUMNS`: ``regret`` and ``random_regret`` are means over
    the ``n_targets`` targets, ``relative_regret`` = sum regret_t / sum random_regret_t (0 = always
    the best source, 1 = no better than a random pick; NaN when every source ties), ``top1_rate``
    the share of targets where the chosen source is a best one, ``best_accuracy`` and
    ``chosen_accuracy`` the mean accuracies of the best and the chosen sources.
    """
    data = joined(scores_df, validation_df, score_column=score_column)
    rows = []
    for (metric, method), g in data.groupby(["metric", "method"], sort=False):
        regrets, randoms, hits, best_acc, chosen_acc = [], [], [], [], []
        for _, gt in g.groupby("target", sort=False):
            if gt["source"].nunique() < 2:
                continue
            gt = gt.sort_values(["score", "source"], ascending=[False, True], kind="mergesort")
            best = float(gt["accuracy"].max())
            chosen = float(gt["accuracy"].iloc[0])
            regrets.append(best - chosen)
            randoms.append(best - float(gt["accuracy"].mean()))
            hits.append(chosen >= best)
            best_acc.append(best)
            chosen_acc.append(chosen)
        n = len(regrets)
        total_random = float(np.sum(randoms)) if n else float("nan")
        rows.append({
            "metric": metric, "method": method, "n_targets": n,
            "regret": float(np.mean(regrets)) if n else float("nan"),
            "regret_std": float(np.std(regrets)) if n else float("nan"),
            "random_regret": float(np.mean(randoms)) if n else float("nan"),
            "relative_regret": float(np.sum(regrets)) / total_random if n and total_random > 0 else float("nan"),
            "top1_rate": float(np.mean(hits)) if n else float("nan"),
            "best_accuracy": float(np.mean(best_acc)) if n else float("nan"),
            "chosen_accuracy": float(np.mean(chosen_acc)) if n else float("nan"),
        })
    return pd.DataFrame(rows, columns=REGRET_COLUMNS)
