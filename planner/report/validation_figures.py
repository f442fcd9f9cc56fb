"""Figures of the validation report (matplotlib, no pyplot state): scatter plots, transferability levels.

Each function draws one PNG and returns its path. Inputs are the joined (score, accuracy) table of
:func:`transfergraph.planner.validation.correlations.joined`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from transfergraph.planner.report._mpl import new_figure, save_png

__all__ = ["level_table", "plot_scatter", "plot_levels", "plotted_statistics"]

#: a target enters the per-target tau when it has at least this many plotted sources
MIN_SOURCES = 3


def _figure(width: float, height: float):  # noqa: ANN202
    return new_figure(width, height)


def level_table(scores: np.ndarray, accuracy: np.ndarray, *, n_levels: int = 5) -> pd.DataFrame:
    """Bin pairs into ``n_levels`` equal-width score intervals (the LEEP paper's "transferability levels").

    Level 1 holds the lowest scores, level ``n_levels`` the highest. Returns one row per level:
    ``level, low, high, n, mean_accuracy, sem`` (standard error; NaN for n < 2).
    """
    scores = np.asarray(scores, dtype=float)
    accuracy = np.asarray(accuracy, dtype=float)
    lo, hi = float(np.min(scores)), float(np.max(scores))
    edges = np.linspace(lo, hi, n_levels + 1)
    level = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, n_levels - 1) if hi > lo \
        else np.zeros(len(scores), dtype=int)
    rows = []
    for k in range(n_levels):
        acc = accuracy[level == k]
        rows.append({"level": k + 1, "low": edges[k], "high": edges[k + 1], "n": int(len(acc)),
                     "mean_accuracy": float(acc.mean()) if len(acc) else math.nan,
                     "sem": float(acc.std(ddof=1) / math.sqrt(len(acc))) if len(acc) > 1 else math.nan})
    return pd.DataFrame(rows)


def plotted_statistics(g: pd.DataFrame, *, min_sources: int = MIN_SOURCES) -> dict[str, float]:
    """Statistics of the points as plotted (``score`` on x, ``accuracy`` on y, rows of one metric/method).

    ``per_target_tau``: mean over targets with at least ``min_sources`` sources of Kendall's tau-b
    between score and accuracy within the target (the headline for source selection: it compares only
    sources for the same target); ``pooled_r`` / ``pooled_tau``: Pearson r and Kendall tau-b over all
    plotted points pooled across targets; ``n_targets``: targets in the per-target mean. NaN when
    undefined (fewer than 3 points, a constant column, no target with enough sources).
    """
    from scipy import stats

    def ok(x, y):
        return len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0

    x, y = g["score"].to_numpy(float), g["accuracy"].to_numpy(float)
    out = {"pooled_r": math.nan, "pooled_tau": math.nan, "per_target_tau": math.nan, "n_targets": 0}
    if ok(x, y):
        out["pooled_r"] = float(stats.pearsonr(x, y).statistic)
        out["pooled_tau"] = float(stats.kendalltau(x, y).statistic)
    taus = []
    for _, gt in g.groupby("target", sort=False):
        xt, yt = gt["score"].to_numpy(float), gt["accuracy"].to_numpy(float)
        if len(gt) >= min_sources and ok(xt, yt):
            taus.append(float(stats.kendalltau(xt, yt).statistic))
    if taus:
        out["per_target_tau"], out["n_targets"] = float(np.mean(taus)), len(taus)
    return out


def plot_scatter(data: pd.DataFrame, method: str, path: str | Path, *, corr: pd.DataFrame | None = None,
                 x_label: str = "score") -> Path:
    """One panel per metric: score (x, named ``x_label``) against test accuracy (y) of ``method``.

    Each title gives the statistics of what is plotted (:func:`plotted_statistics`): first the mean
    per-target Kendall tau (the headline for source selection), then r and tau of the plotted points
    pooled across targets. ``corr`` is accepted for compatibility and not used: a correlation table
    may have been computed on another score column (raw scores do not compare across targets)."""
    d = data[data["method"] == method]
    metrics = list(dict.fromkeys(d["metric"]))
    cols = min(4, max(1, len(metrics)))
    rows = max(1, math.ceil(len(metrics) / cols))
    fig = _figure(3.2 * cols, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, metrics):
        g = d[d["metric"] == metric]
        ax.scatter(g["score"], g["accuracy"], s=10, alpha=0.6)
        st = plotted_statistics(g)
        ax.set_title(f"{metric}: per-target τ={st['per_target_tau']:.2f} ({st['n_targets']} targets)\n"
                     f"pooled as plotted: r={st['pooled_r']:.2f}, τ={st['pooled_tau']:.2f}", fontsize=8)
        ax.set_xlabel(x_label, fontsize=8)
        ax.set_ylabel(f"{method} accuracy", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{x_label} vs. measured {method} test accuracy ({len(d)} pair-metric points; "
                 f"per-target τ over targets with >= {MIN_SOURCES} sources)", fontsize=10)
    return save_png(fig, path)


def plot_levels(data: pd.DataFrame, metric: str, path: str | Path, *, n_levels: int = 5) -> Path:
    """Mean test accuracy per transferability level of ``metric``, one group of bars per method."""
    d = data[data["metric"] == metric]
    methods = list(dict.fromkeys(d["method"]))
    fig = _figure(max(4.0, 1.2 * n_levels + 1.5), 3.2)
    ax = fig.subplots()
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        g = d[d["method"] == method]
        table = level_table(g["score"].to_numpy(), g["accuracy"].to_numpy(), n_levels=n_levels)
        x = table["level"].to_numpy() + (i - (len(methods) - 1) / 2) * width
        ax.bar(x, table["mean_accuracy"].fillna(0.0), width, yerr=table["sem"].fillna(0.0), capsize=2, label=method)
        for xi, n in zip(x, table["n"]):
            ax.text(xi, 0.01, str(n), ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(1, n_levels + 1))
    ax.set_xlabel(f"{metric} level (1 = lowest of {n_levels} equal-width score intervals)", fontsize=8)
    ax.set_ylabel("mean test accuracy", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    ax.set_title(f"Test accuracy by {metric} transferability level (bar labels: pairs)", fontsize=9)
    return save_png(fig, path)
