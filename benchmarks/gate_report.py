"""Markdown reports of ``benchmarks/suite_gate.py``: the reliability gate of each suite, and the judged arms.

Reads only the caches (``read_tables``); nothing is trained here except what the cache lacks for a seed
counted as done (nothing, by construction of ``read_tables``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from suite_gate import read_tables  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from suites import all_suites  # noqa: E402


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:+.2f}"


def _spread(values: np.ndarray) -> str:
    """best - mean over alternatives of the seed-mean values (how much a decision can win)."""
    return f"{values.max() - values.mean():.3f}"


def suite_figures(name: str, seeds, cache) -> dict | None:
    """Gate figures of one suite on its cached seeds (None when no seed is cached)."""
    from transfergraph.planner.validation.curriculum_eval import order_measures
    from transfergraph.planner.validation.grouping_eval import partition_table
    from transfergraph.planner.validation.reliability import (MIN_CEILING, MIN_RELIABILITY, gate, loss_view, order_ceiling,
                                                               order_effect_reliability, pair_reliability,
                                                               partition_ceiling, seeds_needed)

    s = all_suites()[name]
    data, subsets, orders, _singles, done = read_tables(name, seeds, cache)
    if not done:
        return None
    singles = subsets[subsets.subset == subsets.task].groupby("task")[["test_loss", "test_acc"]].mean()
    fig = {"suite": name, "kind": s.kind, "seeds": done, "tasks": [t.name for t in data],
           "test_images": {t.name: len(t.test_y) for t in data},
           "singles": {t: (r.test_loss, r.test_acc) for t, r in singles.iterrows()}}
    tasks = sorted(subsets.task.unique())
    if s.kind == "grouping":
        for m in ("loss", "acc"):
            fig[f"rel_{m}"] = pair_reliability(subsets, m)
            for k in (2, 3):
                fig[f"ceil_{m}_k{k}"] = partition_ceiling(subsets, k, m)
        test = partition_table(loss_view(subsets), tasks, 2)[2]
        fig["spread_loss_k2"] = _spread(test)  # values are minus loss: best - mean = loss reduction
        fig["gate"] = gate(fig["rel_loss"], fig["ceil_loss_k2"])
        ceil = fig["ceil_loss_k2"]
    else:
        for m in ("loss", "acc"):
            fig[f"rel_{m}"] = order_effect_reliability(orders, m)
            fig[f"ceil_{m}"] = order_ceiling(orders, m, "acc")
        vals = order_measures(loss_view(orders), tasks)[1]["acc"]
        fig["spread_loss"] = _spread(vals)
        fig["gate"] = gate(fig["rel_loss"], fig["ceil_loss"])
        ceil = fig["ceil_loss"]
    n = len(done)
    fig["seeds_to_pass"] = max(seeds_needed(fig["rel_loss"], n, MIN_RELIABILITY), seeds_needed(ceil, n, MIN_CEILING)) \
        if n > 1 else float("nan")
    return fig


def gate_report(names, seeds, cache) -> str:
    """Markdown: one table row per suite (grouping and curriculum apart) and the singleton figures."""
    g_rows, c_rows, notes = [], [], []
    for name in names:
        f = suite_figures(name, seeds, cache)
        if f is None:
            notes.append(f"- `{name}`: no seed fully cached: not gated.")
            continue
        singles = ", ".join(f"{t} {l:.3f}/{a:.3f}" for t, (l, a) in f["singles"].items())
        notes.append(f"- `{name}` singleton test loss/accuracy (seed mean): {singles}; test images per task: "
                     + ", ".join(f"{t} {n}" for t, n in f["test_images"].items()))
        if f["kind"] == "grouping":
            g_rows.append(f"| {name} | {len(f['seeds'])} | {_fmt(f['rel_loss'])} | {_fmt(f['ceil_loss_k2'])} | "
                          f"{_fmt(f['ceil_loss_k3'])} | {f['spread_loss_k2']} | {_fmt(f['rel_acc'])} | "
                          f"{_fmt(f['ceil_acc_k2'])} | {f['gate'].verdict()} | {f['seeds_to_pass']:.0f} |")
        else:
            c_rows.append(f"| {name} | {len(f['seeds'])} | {_fmt(f['rel_loss'])} | {_fmt(f['ceil_loss'])} | "
                          f"{f['spread_loss']} | {_fmt(f['rel_acc'])} | {_fmt(f['ceil_acc'])} | {f['gate'].verdict()} | "
                          f"{f['seeds_to_pass']:.0f} |")
    out = []
    if g_rows:
        out += ["Grouping suites (pair gains of test loss; partitions into <= k groups):", "",
                "| suite | seeds | pair-gain reliability (loss) | ceiling k=2 (loss) | ceiling k=3 (loss) | "
                "best - mean partition, k=2 (loss) | pair-gain reliability (acc) | ceiling k=2 (acc) | gate | "
                "seeds to pass (Spearman-Brown) |",
                "|---|---|---|---|---|---|---|---|---|---|", *g_rows, ""]
    if c_rows:
        out += ["Curriculum suites (naive learner; two-task order effects; orders by final mean test loss):", "",
                "| suite | seeds | order-effect reliability (loss) | ceiling (loss) | best - mean order (loss) | "
                "order-effect reliability (acc) | ceiling (acc) | gate | seeds to pass (Spearman-Brown) |",
                "|---|---|---|---|---|---|---|---|---|", *c_rows, ""]
    return "\n".join(out + notes)


def judge_report(names, seeds, cache) -> str:
    """Markdown: every curriculum objective (and the grouping arms) judged on test loss and accuracy."""
    from transfergraph.planner.validation.curriculum_eval import curriculum_rows
    from transfergraph.planner.validation.decision_outputs import summarize
    from transfergraph.planner.validation.decision_run import curriculum_planners, grouping_planners, leep_graph
    from transfergraph.planner.validation.grouping_eval import grouping_rows
    from transfergraph.planner.validation.reliability import loss_view, order_ceiling, partition_ceiling

    parts = []
    for name in names:
        s = all_suites()[name]
        data, subsets, orders, singles, done = read_tables(name, seeds, cache)
        if not done:
            parts.append(f"`{name}`: no seed fully cached: not judged.")
            continue
        graphs = {seed: leep_graph(singles[seed], data, seed=seed) for seed in done}
        tasks = [t.name for t in data]
        summaries = []
        for measure, view in (("loss", loss_view), ("acc", lambda t: t)):
            if s.kind == "curriculum":
                planners, anti = curriculum_planners(graphs, tasks)
                rows, corr = curriculum_rows(view(orders), planners=planners, anti=anti)
                rows = rows[rows.measure == "acc"].copy()
                corr = corr[corr.measure == "acc"].copy()
                dec = f"curriculum_final_{measure}"
                ceilings = {dec: order_ceiling(orders, measure, "acc")}
            else:
                rows, corr = grouping_rows(view(subsets), k=2, planners=grouping_planners(graphs, tasks, 2))
                dec = f"grouping_k2_{measure}"
                ceilings = {dec: partition_ceiling(subsets, 2, measure)}
            rows["decision"] = dec
            corr["decision"] = dec
            summaries.append(summarize(rows, corr, ceilings))
        table = pd.concat(summaries, ignore_index=True)
        lines = ["| decision | arm | seeds | percentile (own seed) | percentile (seed-mean truth) | regret | "
                 "gain [CI] | Spearman [CI] | noise ceiling | verdict |", "|---|---|---|---|---|---|---|---|---|---|"]
        for _, r in table.iterrows():
            lines.append(f"| {r.decision} | {r.arm} | {r.n_seeds} | {r.percentile:.0f} | {r.percentile_seed_mean_truth:.0f} | "
                         f"{r.regret:.2f} | {r.gain:+.3f} [{r.gain_low:+.3f}, {r.gain_high:+.3f}] | "
                         f"{r.spearman:+.2f} [{r.spearman_low:+.2f}, {r.spearman_high:+.2f}] | {r.noise_ceiling:.2f} | {r.verdict} |")
        parts += [f"#### `{name}` (seeds {done}; `_loss` rows: gain = reduction of mean test loss; `_acc`: accuracy)", "",
                  *lines, ""]
    return "\n".join(parts)


def pooled_report(names, seeds, cache) -> str:
    """Markdown: each curriculum arm's percentile (seed-mean truth, final mean test loss and accuracy) averaged
    over the given suites (e.g. the ten random class splits), with a 95 % bootstrap CI over suites."""
    from transfergraph.planner.validation.curriculum_eval import curriculum_rows
    from transfergraph.planner.validation.decision_run import curriculum_planners, leep_graph
    from transfergraph.planner.validation.decision_stats import bootstrap_ci
    from transfergraph.planner.validation.reliability import loss_view

    per_suite, used = [], []
    for name in names:
        if all_suites()[name].kind != "curriculum":
            continue
        data, _subsets, orders, singles, done = read_tables(name, seeds, cache)
        if not done:
            continue
        used.append(f"{name} ({len(done)} seeds)")
        graphs = {seed: leep_graph(singles[seed], data, seed=seed) for seed in done}
        planners, anti = curriculum_planners(graphs, [t.name for t in data])
        for measure, view in (("loss", loss_view), ("acc", lambda t: t)):
            rows = curriculum_rows(view(orders), planners=planners, anti=anti)[0]
            rows = rows[(rows.measure == "acc") & rows.order.ne("")]
            for arm, g in rows.groupby("arm"):
                per_suite.append({"suite": name, "measure": measure, "arm": arm,
                                  "pct_mean_truth": g[g.truth == "mean"]["percentile"].mean(),
                                  "pct_own_seed": g[g.truth == "seed"]["percentile"].mean()})
    if not per_suite:
        return "No curriculum suite of the list is cached: nothing pooled."
    tab = pd.DataFrame(per_suite)
    lines = [f"Pooled over {len(used)} suites: {', '.join(used)}.", "",
             "| measure | arm | suites | mean percentile, seed-mean truth [95 % CI over suites] | mean percentile, own seed |",
             "|---|---|---|---|---|"]
    for (measure, arm), g in tab.groupby(["measure", "arm"], sort=True):
        m, lo, hi = bootstrap_ci(g["pct_mean_truth"].to_numpy())
        lines.append(f"| final mean test {measure} | {arm} | {len(g)} | {m:.0f} [{lo:.0f}, {hi:.0f}] | {g['pct_own_seed'].mean():.0f} |")
    return "\n".join(lines)
