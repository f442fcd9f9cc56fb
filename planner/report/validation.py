"""The validation section of ``report.md``: tables, a plain verdict on LEEP, and figures.

:func:`validation_report` returns markdown (the CLI appends it to ``report.md``) and writes PNGs
next to it; figure links are relative file names, so keep the report in ``out_dir``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.validation.correlations import joined, selection_regret
from transfergraph.planner.report.tables import markdown_table  # re-exported: benchmarks import it from here
from transfergraph.planner.report.validation_figures import level_table, plot_levels, plot_scatter

__all__ = ["validation_report", "verdict_lines", "markdown_table", "MIN_RANKED_TARGETS", "MIN_COMPARED_PAIRS"]

#: fewest validated pairs for which the report lets one metric's pooled r and τ "beat" another's unqualified
MIN_COMPARED_PAIRS = 30
#: targets (each with >= 3 validated sources) a per-target tau needs before one metric is said to rank sources best
MIN_RANKED_TARGETS = 3


def _fmt(v: Any, spec: str = ".3f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def _p(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.1e}" if v < 1e-3 else f"{v:.3f}"


def verdict_lines(corr: pd.DataFrame, regret: pd.DataFrame | None, *, metric: str = "leep") -> list[str]:
    """Sentences saying, per method, which metrics ``metric`` beat and which beat it.

    "Beat" means a higher pooled Pearson r *and* a higher pooled Kendall tau; anything else (one higher
    and one lower, or a tie in either) is "mixed or tied". Pooled statistics mix targets, whose raw scores are on different scales, so the
    sentence also names the metric with the best per-target Kendall tau (the ranking of sources *within*
    a target, which is what source selection uses) when it differs from ``metric``, with the number of
    targets it averages (``n_ranked_targets``); over fewer than :data:`MIN_RANKED_TARGETS` targets it
    names no winner (one target's tau is no ranking). Over fewer than :data:`MIN_COMPARED_PAIRS` validated pairs
    no metric is said to beat another, rank sources best or have lower regret (the point estimates are listed);
    over fewer than :data:`MIN_RANKED_TARGETS` targets no metric is said to have lower regret. Regret (lower is better) is compared
    separately.
    """
    lines = []
    for method, g in corr.groupby("method", sort=False):
        mine = g[g["metric"] == metric]
        if mine.empty or math.isnan(float(mine["pearson"].iloc[0])):
            lines.append(f"- **{method}**: no {metric} correlation available (metric not scored or too few pairs).")
            continue
        r0, t0 = float(mine["pearson"].iloc[0]), float(mine["kendall_tau"].iloc[0])
        won, lost, mixed = [], [], []
        for _, row in g[g["metric"] != metric].iterrows():
            r, t = float(row["pearson"]), float(row["kendall_tau"])
            if math.isnan(r) or math.isnan(t):
                continue
            label = f"{row['metric']} (r={r:.2f}, τ={t:.2f})"
            (won if r0 > r and t0 > t else lost if r0 < r and t0 < t else mixed).append(label)
        n_pairs = int(mine["n_pairs"].iloc[0])
        text = f"- **{method}**: {metric} r={r0:.2f}, τ={t0:.2f} (n={n_pairs} pairs). "
        if n_pairs < MIN_COMPARED_PAIRS:
            others = ", ".join(won + lost + mixed) or "none"
            text += (f"Over {n_pairs} pairs (fewer than {MIN_COMPARED_PAIRS}) the metrics cannot be told apart: no "
                     f"metric is said to beat another; their point estimates: {others}.")
        else:
            text += f"{metric} beat: {', '.join(won) if won else 'none'}. "
            text += f"Beat {metric}: {', '.join(lost) if lost else 'none'}."
            if mixed:
                text += f" Mixed or tied (not higher on both, nor lower on both): {', '.join(mixed)}."
        few = n_pairs < MIN_COMPARED_PAIRS  # then no metric is named the winner of any comparison below either
        if "per_target_kendall_tau" in g.columns and not few:
            per = g.dropna(subset=["per_target_kendall_tau"])
            if len(per) and float(mine["per_target_kendall_tau"].iloc[0]) < per["per_target_kendall_tau"].max():
                best = per.loc[per["per_target_kendall_tau"].idxmax()]
                text += _within_targets(best, mine.iloc[0], metric)
        if regret is not None and not regret.empty:
            rg = regret[(regret["method"] == method) & (regret["n_targets"] > 0)]
            mine_r = rg[rg["metric"] == metric]
            if not mine_r.empty:
                v = float(mine_r["regret"].iloc[0])
                better = rg[rg["regret"] < v - 1e-12]["metric"].tolist()
                n_t = int(mine_r["n_targets"].iloc[0])
                text += (f" Source-selection regret of {metric}: {v:.3f} over {n_t} targets; "
                         + (f"lower regret: {', '.join(better) if better else 'none'}."
                            if n_t >= MIN_RANKED_TARGETS and not few else
                            "too few targets or pairs for any metric to be said to have lower regret."))
        lines.append(text)
    return lines


def _n_ranked(row: pd.Series) -> int | None:
    n = row.get("n_ranked_targets")
    return None if n is None or (isinstance(n, float) and math.isnan(n)) else int(n)


def _within_targets(best: pd.Series, mine: pd.Series, metric: str) -> str:
    """The per-target sentence: a winner only over at least :data:`MIN_RANKED_TARGETS` ranked targets."""
    counts = [n for n in (_n_ranked(best), _n_ranked(mine)) if n is not None]
    n = min(counts) if counts else None
    taus = f"τ={float(best['per_target_kendall_tau']):.2f} vs {float(mine['per_target_kendall_tau']):.2f} for {metric}"
    if n is not None and n < MIN_RANKED_TARGETS:
        over = "one target" if n == 1 else f"{n} targets"
        return (f" Within targets (per-target τ, what source selection uses; targets with ≥ 3 validated sources: {n}) "
                f"{best['metric']} has the higher τ ({taus}), but over {over}: no conclusion on which metric ranks "
                f"sources better (that needs ≥ {MIN_RANKED_TARGETS} such targets).")
    of = "" if n is None else f" over {n} targets"
    return (f" Within targets (per-target τ{of}, what source selection uses) {best['metric']} ranks sources best: "
            f"{taus}.")


def validation_report(
    validation_df: pd.DataFrame,
    correlations_df: pd.DataFrame,
    scores_df: pd.DataFrame,
    out_dir: str | Path,
    *,
    metric: str = "leep",
    n_levels: int = 5,
    regret_df: pd.DataFrame | None = None,
    title: str = "Validation: do the scores predict real transfer?",
) -> str:
    """Markdown section for ``report.md`` plus figures in ``out_dir``.

    Parameters
    ----------
    validation_df : the :func:`run_validation` table
    correlations_df : the :func:`correlations` table
    scores_df : the :func:`transfergraph.planner.score` table the correlations were computed from
    out_dir : folder for the PNGs (``validation_scatter_<method>.png``, ``validation_levels_<metric>.png``)
    metric : the metric whose verdict and transferability levels are reported (default LEEP)
    regret_df : :func:`selection_regret` table; computed from the inputs when None

    Returns
    -------
    str : markdown, starting with a ``## title`` heading.
    """
    for name, df in (("validation_df", validation_df), ("correlations_df", correlations_df), ("scores_df", scores_df)):
        if not isinstance(df, pd.DataFrame):
            raise InputError(f"{name} of validation_report() must be a pandas.DataFrame; got {type(df).__name__}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    regret = selection_regret(scores_df, validation_df) if regret_df is None else regret_df
    md = [f"## {title}", ""]
    md += _summary(validation_df)
    md += ["", "### Correlation of scores with test accuracy", "",
           "Pooled over pairs (one point per source→target pair; raw scores, as in the LEEP paper). "
           "Kendall τ is tau-b; weighted τ is `scipy.stats.weightedtau`; per-target τ averages the "
           "Kendall τ within targets that have at least 3 sources.", ""]
    md.append(_corr_table(correlations_df))
    md += ["", f"### Does {metric} beat the baselines?", ""]
    md += verdict_lines(correlations_df, regret, metric=metric)
    md += ["", "### Source-selection regret", "",
           "acc(best source) − acc(source with the top score), averaged over targets with ≥ 2 sources; "
           "random = best − mean over sources; relative = regret / random (0 = always best, 1 = random pick).", ""]
    md.append(_regret_table(regret))
    data = joined(scores_df, validation_df)
    figures = []
    # scatters pool targets with different label sets: only the normalized score is comparable across them
    scatter = joined(scores_df, validation_df, score_column="normalized") if "normalized" in scores_df else data
    for method in dict.fromkeys(scatter["method"]):
        p = plot_scatter(scatter, method, out / f"validation_scatter_{method}.png", corr=correlations_df,
                         x_label="normalized score" if scatter is not data else "score")
        figures.append((f"Scores vs {method} accuracy", p.name))
    if (data["metric"] == metric).any():
        p = plot_levels(data, metric, out / f"validation_levels_{metric}.png", n_levels=n_levels)
        figures.append((f"Accuracy by {metric} level", p.name))
        md += ["", f"### Test accuracy by {metric} transferability level", "",
               f"Pairs binned into {n_levels} equal-width {metric} intervals (level 1 lowest), as in the LEEP paper's figures.", ""]
        md.append(_levels_table(data, metric, n_levels))
    if figures:
        md += ["", "### Figures", ""] + [f"![{cap}]({name})" for cap, name in figures]
    return "\n".join(md) + "\n"


def _summary(v: pd.DataFrame) -> list[str]:
    rows = []
    for method, g in v.groupby("method", sort=False):
        ok = g[g["status"] == "ok"] if "status" in g.columns else g
        rows.append([str(method), str(len(g)), str(len(g) - len(ok)), _fmt(float(ok["accuracy"].mean()) if len(ok) else math.nan),
                     _fmt(float(ok["accuracy"].std()) if len(ok) > 1 else math.nan),
                     _fmt(float(ok["f1"].mean()) if len(ok) and "f1" in ok else math.nan),
                     _fmt(float(ok["seconds"].sum()) if len(ok) and "seconds" in ok else math.nan, ".1f")])
    lines = [markdown_table(["method", "pairs", "failed", "mean accuracy", "std", "mean macro F1", "total seconds"], rows)]
    if "status" in v.columns and (v["status"] != "ok").any():
        bad = v[v["status"] != "ok"].head(5)
        lines += ["", "Failed pairs (first 5):", ""]
        lines += [f"- {r.source} → {r.target} ({r.method}): {r.error}" for r in bad.itertuples()]
    return lines


def _corr_table(c: pd.DataFrame) -> str:
    rows = [[str(r["metric"]), str(r["method"]), _fmt(r["pearson"]), _p(r["pearson_p"]), _fmt(r["kendall_tau"]),
             _p(r.get("kendall_p", math.nan)), _fmt(r.get("weighted_tau", math.nan)),
             _fmt(r.get("per_target_kendall_tau", math.nan)), str(int(r["n_pairs"]))] for _, r in c.iterrows()]
    return markdown_table(["metric", "method", "Pearson r", "p", "Kendall τ", "p", "weighted τ", "per-target τ", "pairs"], rows)


def _regret_table(g: pd.DataFrame) -> str:
    rows = [[str(r["metric"]), str(r["method"]), str(int(r["n_targets"])), _fmt(r["regret"]), _fmt(r["random_regret"]),
             _fmt(r["relative_regret"], ".2f"), _fmt(r["top1_rate"], ".2f")] for _, r in g.iterrows()]
    return markdown_table(["metric", "method", "targets", "regret", "random", "relative", "top-1 rate"], rows)


def _levels_table(data: pd.DataFrame, metric: str, n_levels: int) -> str:
    d = data[data["metric"] == metric]
    methods = list(dict.fromkeys(d["method"]))
    tables = {m: level_table(d[d["method"] == m]["score"].to_numpy(), d[d["method"] == m]["accuracy"].to_numpy(),
                             n_levels=n_levels) for m in methods}
    first = tables[methods[0]]
    rows = []
    for k in range(n_levels):
        row = [str(k + 1), f"[{first['low'][k]:.3f}, {first['high'][k]:.3f}]"]
        for m in methods:
            t = tables[m]
            row.append(f"{_fmt(t['mean_accuracy'][k])} (n={t['n'][k]})")
        rows.append(row)
    return markdown_table(["level", f"{metric} interval ({methods[0]})"] + [f"{m} accuracy" for m in methods], rows)
