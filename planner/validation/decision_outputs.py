"""Summaries, CSVs, figures and the report section of the decision validations.

Summary per (decision, arm), from the per-seed rows of :mod:`grouping_eval` / :mod:`curriculum_eval`:
mean percentile and normalized regret on each seed's own table and on the seed-mean table, the gain
over the exact random mean with a 95 % bootstrap CI over seeds, Spearman(objective, realized) over
all partitions/orders (mean over seeds, bootstrap CI) and the split-half noise ceiling. A regret is
undefined where the oracle is about equal to random (NaN; the report reads "n/a (oracle ≈ random)" and
``regret_undefined`` counts the own-seed rows the mean skipped). With one seed there is no CI (its bounds
are NaN: a bootstrap of one value would be a zero-width interval) and no noise ceiling, and the report
reads "n/a (1 seed)". Verdict (pre-registered bar): "inconclusive" with one seed (nothing to judge the
spread by) or when the noise ceiling is undefined or < 0.5; else "beats random" when the gain's CI is
above 0, the seed-mean percentile is >= 75 (own-seed percentile for HOA, which is chosen on the other
seeds) and Spearman's CI is above 0; else "fails".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from transfergraph.planner.common.io import atomic_write_with
from transfergraph.planner.validation.curriculum_eval import order_measures
from transfergraph.planner.validation.decision_stats import bootstrap_ci
from transfergraph.planner.validation.decision_verdicts import (FIRM_SEEDS, MIN_CI_SEEDS, SEEDS_KEY, SUGGESTED_SEEDS,
                                                                cannot_tell, ci_text, seeds_text)
from transfergraph.planner.validation.grouping_eval import _canon, partition_table

__all__ = ["summarize", "write_decision_outputs", "decision_section", "rank_plan", "measured_orders", "measured_partitions", "partition_verdicts", "regret_text",
           "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["decision", "arm", "n_seeds", "percentile", "percentile_seed_mean_truth", "regret",
                   "regret_seed_mean_truth", "gain", "gain_low", "gain_high", "spearman", "spearman_low",
                   "spearman_high", "noise_ceiling", "verdict", "regret_undefined"]
#: what an undefined normalized regret reads as in the report (oracle about equal to random)
REGRET_NA = "n/a (oracle ≈ random)"


def regret_text(value: float, undefined: float = 0, of: float | None = None) -> str:
    """A normalized regret for the report: ``0.42``; ``n/a (oracle ≈ random)`` when undefined
    (:func:`~transfergraph.planner.validation.decision_stats.normalized_regret` gave NaN); a mean over
    seeds some of whose regrets were undefined says so: ``0.42 (n/a on 1 of 3)``."""
    if not np.isfinite(value):
        return REGRET_NA
    n = int(undefined) if np.isfinite(undefined) else 0
    return f"{value:.2f}" + (f" (n/a on {n} of {int(of)})" if n and of else "")


def _verdict(row) -> str:
    """The pre-registered bar, with the reasons when it is not met and a caveat under 5 seeds; under 3 seeds
    inconclusive whatever its numbers (no CI, no noise ceiling)."""
    n = int(row["n_seeds"])
    if n < MIN_CI_SEEDS:
        return (f"inconclusive ({seeds_text(n)}: too few for a CI or a noise ceiling; rerun with {SEEDS_KEY} >= "
                f"{SUGGESTED_SEEDS})")
    few = f" (provisional: {n} seeds < {FIRM_SEEDS})" if n < FIRM_SEEDS else ""
    if not np.isfinite(row["noise_ceiling"]):
        return f"inconclusive (noise ceiling undefined: no split of the seeds ranks the alternatives apart){few}"
    if row["noise_ceiling"] < 0.5:
        return f"inconclusive (noise ceiling {row['noise_ceiling']:.2f} < 0.5){few}"
    # an arm chosen per seed from the *other* seeds (HOA, hoa_budget) has no seed-mean-truth row: its own-seed
    # percentile stands in (judging it on a mean that includes its own training seeds would leak)
    pct = row["percentile_seed_mean_truth"]
    pct = row["percentile"] if not np.isfinite(pct) else pct
    missed = [why for ok, why in ((row["gain_low"] > 0, "gain CI not above 0"),
                                  (pct >= 75, f"percentile {pct:.0f} < 75"),
                                  (row["spearman_low"] > 0, "Spearman CI not above 0")) if not ok]
    return ("beats random" if not missed else f"fails the minimum bar ({'; '.join(missed)})") + few


def summarize(rows: pd.DataFrame, spearman: pd.DataFrame, ceilings: dict) -> pd.DataFrame:
    """One row per (decision, arm) with :data:`SUMMARY_COLUMNS`; verdicts only for arms with an objective.
    With fewer than :data:`MIN_CI_SEEDS` (3) seeds the CI bounds are NaN (a bootstrap of one or two values is no CI)."""
    out = []
    for (dec, arm), g in rows.groupby(["decision", "arm"], sort=False):
        own, mean = g[g.truth == "seed"], g[g.truth == "mean"]
        n_seeds = int(own["seed"].nunique())
        gain, lo, hi = bootstrap_ci(own["gain_over_random"].to_numpy())
        sp = spearman[(spearman.decision == dec) & (spearman.arm == arm) & (spearman.truth == "seed")]["spearman"]
        s, slo, shi = bootstrap_ci(sp.to_numpy()) if len(sp) else (np.nan, np.nan, np.nan)
        if n_seeds < MIN_CI_SEEDS:  # a bootstrap of one or two values is a zero-width interval or their range
            lo = hi = slo = shi = np.nan
        r = {"decision": dec, "arm": arm, "n_seeds": n_seeds,
             "percentile": own["percentile"].mean(), "percentile_seed_mean_truth": mean["percentile"].mean(),
             "regret": own["regret"].mean(), "regret_seed_mean_truth": mean["regret"].mean(),
             "gain": gain, "gain_low": lo, "gain_high": hi, "spearman": s, "spearman_low": slo, "spearman_high": shi,
             "noise_ceiling": ceilings.get(dec, np.nan),
             # own-seed rows whose regret is undefined (oracle about equal to random); their mean skips them
             "regret_undefined": int(own["regret"].isna().sum())}
        r["verdict"] = _verdict(r) if len(sp) else ""
        out.append(r)
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def learner_orders(res) -> dict:
    """{learner: (tasks, orders, measures, seed count)} of ``res.orders``: :func:`order_measures` of each
    learner's table, computed once per orders table and kept on ``res`` (the plan ranking, the measured
    curriculum and the figures all read it); {} when no orders were trained."""
    table = getattr(res, "orders", None)
    cached = getattr(res, "_learner_orders", None)
    if cached is not None and cached[0] is table:
        return cached[1]
    out = {}
    for learner, tab in (table.groupby("learner") if table is not None else []):
        ctasks = sorted(tab["task"].unique())
        orders, meas = order_measures(tab, ctasks)
        out[learner] = (ctasks, orders, meas, int(tab["seed"].nunique()))
    try:
        res._learner_orders = (table, out)
    except AttributeError:  # a frozen or slotted stand-in: recomputed next time
        pass
    return out


def rank_plan(res, groups: list | None, order: list | None, n_groups: int | None) -> dict:
    """Where a plan's own decisions, restricted to the validated tasks, rank in the trained tables.

    ``groups``: the plan's partition (tasks outside the validated ones dropped), judged among all
    partitions with at most ``n_groups`` groups (default: its own group count) on the seed-mean table;
    ``order``: the plan's curriculum restricted to the curriculum tasks, judged on seed-mean ACC per learner.
    Returns {"groups": {...}, "curriculum": {learner: {...}}} with the restricted decision, its realized
    value, percentile (0-100, 100 = best) and gain over the exact random mean; a part is absent when the
    plan has no such decision or fewer than 2 validated tasks are in it.
    """
    from transfergraph.planner.validation.decision_stats import percentile

    out: dict = {}
    tasks = sorted(res.subsets["task"].unique())
    kept = [sorted(str(t) for t in g if str(t) in tasks) for g in (groups or [])]
    kept = sorted((g for g in kept if g), key=lambda g: g[0])
    if sum(map(len, kept)) == len(tasks) >= 2:
        k = min(max(n_groups or len(kept), len(kept)), len(tasks))
        parts, _, test = partition_table(res.subsets, tasks, k)
        i = [_canon(p) for p in parts].index(_canon(kept))
        exact = np.array([len(p) == k for p in parts])
        out["groups"] = {"groups": kept, "k": k, "test_acc": float(test[i]), "percentile": percentile(test, test[i]),
                         "gain_over_random": float(test[i] - test[exact].mean())}
    for learner, (ctasks, orders, meas, _) in learner_orders(res).items():
        mine = tuple(str(t) for t in (order or []) if str(t) in ctasks)
        if len(mine) != len(ctasks) or len(ctasks) < 2:
            continue
        i = [tuple(o) for o in orders].index(mine)
        acc = meas["acc"]
        out.setdefault("curriculum", {})[learner] = {
            "order": list(mine), "acc": float(acc[i]), "percentile": percentile(acc, acc[i]),
            "gain_over_random": float(acc[i] - acc.mean())}
    return out


def measured_orders(res) -> dict:
    """The curriculum chosen from the trained orders themselves, per learner: the order with the best
    seed-mean **validation** ACC among all n! orders of the curriculum tasks (the val-chosen "oracle" arm of
    ``curriculum_validation.csv``; test data never chooses it).

    Returns {learner: {"order", "seeds", "val_acc", "test_acc", "percentile" (of its test ACC among all orders,
    0-100), "gain_over_random" (test ACC minus the exact mean over all orders)}}; empty when no orders were
    trained (fewer than 2 curriculum tasks).
    """
    from transfergraph.planner.validation.decision_stats import percentile

    out: dict = {}
    for learner, (ctasks, orders, meas, n_seeds) in learner_orders(res).items():
        if len(ctasks) < 2:
            continue
        i = int(np.argmax(meas["acc_val"]))
        acc = meas["acc"]
        out[str(learner)] = {"order": [str(t) for t in orders[i]], "seeds": n_seeds,
                             "val_acc": float(meas["acc_val"][i]), "test_acc": float(acc[i]),
                             "percentile": percentile(acc, acc[i]), "gain_over_random": float(acc[i] - acc.mean())}
    return out


def measured_partitions(res, ks) -> dict:
    """The grouping chosen from the trained partitions themselves, per group budget: for each k in ``ks``
    (2 <= k < tasks), the partition into at most k groups with the best seed-mean **validation** accuracy
    among all of them (the val-chosen "oracle" arm of ``grouping_validation.csv``, truth "mean"; test data
    never chooses it).

    Returns {"k<k>": {"groups", "seeds", "val_acc", "test_acc", "percentile" (of its test accuracy among all
    partitions with <= k groups, 0-100), "gain_over_random" (test accuracy minus the exact mean over the
    partitions with exactly k groups), "separate_gain" (the same for every task trained alone, n networks)}};
    all on the seed-mean table.
    """
    from transfergraph.planner.validation.decision_stats import percentile

    tasks = sorted(res.subsets["task"].unique())
    singles = res.subsets[res.subsets["subset"] == res.subsets["task"]]
    separate = singles.groupby("task")["test_acc"].mean()  # each task's network alone, seed mean
    alone = float(np.mean([separate[t] for t in tasks]))
    out: dict = {}
    for k in ks:
        if not 2 <= k < len(tasks):
            continue
        parts, val, test = partition_table(res.subsets, tasks, k)
        i = int(np.argmax(val))
        exact = np.array([len(p) == k for p in parts])
        out[f"k{k}"] = {"groups": [sorted(map(str, g)) for g in parts[i]], "seeds": int(res.subsets["seed"].nunique()),
                        "val_acc": float(val[i]), "test_acc": float(test[i]), "percentile": percentile(test, test[i]),
                        "gain_over_random": float(test[i] - test[exact].mean()),
                        "separate_gain": alone - float(test[exact].mean())}
    return out


def partition_verdicts(partitions: dict | None, n_groups) -> list[tuple[str, dict, str]]:
    """What to recommend from plan.json ``measured_partition`` (:func:`measured_partitions`): one verdict per
    group budget, the plan's own budget (``"k<n_groups>"``) first, then the others in their order. The report and
    the warning of ``validate --decisions`` both read these, so they never disagree.

    - ``"no_gain"``: its seed-mean test accuracy did not beat the random partition mean (``gain_over_random``
      <= 0): no better a choice than the proxy groups;
    - ``"separate"``: it beat random, but every task trained alone beat random by more (``separate_gain`` >
      ``gain_over_random``): separate models if affordable, else this partition;
    - ``"noise"``: it beat random, but the measurement cannot tell partitions apart (networks at chance or a noise
      ceiling < 0.5: :func:`~transfergraph.planner.validation.decision_verdicts.cannot_tell`): no reason to prefer it;
    - ``"prefer"``: the plan's budget, beat random and every task alone: prefer it to the proxy groups;
    - ``"other_budget"``: beat random at a budget other than the plan's: for information.

    Returns [(key, entry, verdict)]; [] for no partitions."""
    budget = f"k{n_groups}"
    out = []
    for key, m in sorted((partitions or {}).items(), key=lambda kv: kv[0] != budget):
        gain, separate = m["gain_over_random"], m.get("separate_gain")
        if not gain > 0:
            verdict = "no_gain"
        elif cannot_tell(m):
            verdict = "noise"
        elif separate is not None and separate > gain:
            verdict = "separate"
        else:
            verdict = "prefer" if key == budget else "other_budget"
        out.append((key, m, verdict))
    return out


def _figure(values: np.ndarray, marks: dict, title: str, xlabel: str, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#bbbbbb", edgecolor="white")
    colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
    for (label, x), c in zip(marks.items(), colors):
        ax.axvline(x, color=c, lw=2, label=f"{label} ({x:.3f})")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _marks(rows: pd.DataFrame, dec: str) -> dict:
    m = rows[(rows.decision == dec) & (rows.truth == "mean")]
    keep = [a for a in m.arm.unique() if a.startswith("planner") or a in ("random", "oracle", "hoa", "hoa_budget")]
    return {a: float(m[m.arm == a]["realized"].mean()) for a in keep}


def write_decision_outputs(res, out: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Write grouping_validation.csv, curriculum_validation.csv, decision_summary.csv, pair_signal.csv
    (:func:`~transfergraph.planner.validation.decision_run.pair_signal`) and one PNG per decision into ``out``;
    returns (summary, {decision: figure file name})."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_with(out / "grouping_validation.csv", lambda tmp: res.grouping.to_csv(tmp, index=False))
    atomic_write_with(out / "curriculum_validation.csv", lambda tmp: res.curriculum.to_csv(tmp, index=False))
    summary = pd.concat([summarize(res.grouping, res.grouping_spearman, res.ceilings),
                         summarize(res.curriculum, res.curriculum_spearman, res.ceilings)], ignore_index=True)
    atomic_write_with(out / "decision_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    if getattr(res, "pairs", None) is not None:
        atomic_write_with(out / "pair_signal.csv", lambda tmp: res.pairs.to_csv(tmp, index=False))
    figures = {}
    tasks = sorted(res.subsets["task"].unique())
    for dec in res.grouping.decision.unique():
        k = int(dec.rsplit("k", 1)[1])
        _, _, test = partition_table(res.subsets, tasks, k)
        figures[dec] = f"{dec}.png"
        _figure(test, _marks(res.grouping, dec), f"{dec}: all {len(test)} partitions (seed-mean test accuracy)",
                "mean test accuracy of the partition", out / figures[dec])
    for learner, (_, _, meas, _) in learner_orders(res).items():
        for m in ("acc", "fwt_ft", "bwt"):
            dec = f"curriculum_{learner}_{m}"
            figures[dec] = f"{dec}.png"
            _figure(meas[m], _marks(res.curriculum, dec), f"{dec}: all {len(meas[m])} orders (seed-mean, test)",
                    m, out / figures[dec])
    return summary, figures


def _signed(x: float, digits: int = 2) -> str:
    return f"{x:+.{digits}f}" if np.isfinite(x) else "n/a"


def _pairs_line(pairs: pd.DataFrame) -> str:
    rel = pairs[pairs.affinity == "pair_gain_reliability"]["spearman"]
    parts, n_graphs = [], 0
    for kind, g in pairs[pairs.affinity != "pair_gain_reliability"].groupby("affinity", sort=False):
        values = g["spearman"].dropna().to_numpy()
        n_graphs = max(n_graphs, len(values))
        m, lo, hi = bootstrap_ci(values)
        parts.append(f"{kind} {_signed(m)} {ci_text(lo, hi, len(values), 2)}")
    reliability = float(rel.iloc[0]) if len(rel) else float("nan")
    return ("Pairwise signal: Spearman between the graph's affinity a(u->t) and the measured pair gain "
            "acc(t | {t, u}) - acc(t | {t}) (seed-mean), over ordered pairs, mean over seeds' graphs [CI]: "
            + "; ".join(parts) + ". Split-half reliability of the measured pair gains: "
            + (f"{reliability:.2f}." if np.isfinite(reliability) else
               f"n/a (it needs {MIN_CI_SEEDS} or more seeds)." if n_graphs < MIN_CI_SEEDS else "n/a."))


def _percentile_text(r) -> tuple[str, str]:
    """(own-seed, seed-mean) percentile cells: ``n/a (off budget)`` for ``all_separate`` when the budget allows
    fewer groups than tasks (it is then not one of the partitions ranked), ``n/a`` for any other NaN."""
    def cell(x):
        if np.isfinite(x):
            return f"{x:.0f}"
        return "n/a (off budget)" if r.arm == "all_separate" else "n/a"
    return cell(r.percentile), cell(r.percentile_seed_mean_truth)


def _ceiling_text(r) -> str:
    """The noise ceiling as the table shows it: n/a under :data:`MIN_CI_SEEDS` seeds (one split of two seeds is no
    split-half estimate), as the line under the table says."""
    if int(r.n_seeds) < MIN_CI_SEEDS:
        return f"n/a ({seeds_text(r.n_seeds)})"
    return f"{r.noise_ceiling:.2f}" if np.isfinite(r.noise_ceiling) else "n/a"


#: arms besides the planner's shown in the section's table (all_separate: every task trained alone)
SECTION_ARMS = ("hoa", "hoa_budget", "hoa_budget_random_pairs", "all_in_one", "all_separate", "anti_planner",
                "easy_to_hard", "oracle")


def decision_section(summary: pd.DataFrame, figures: dict[str, str], pairs: pd.DataFrame | None = None) -> str:
    """Markdown section "## Validation: decisions" with the summary table, the pairwise-signal line
    (when ``pairs`` from :func:`~transfergraph.planner.validation.decision_run.pair_signal` is given) and one figure
    per decision. Nothing reads "nan": an undefined number reads "n/a" with its reason (a CI or noise ceiling
    of one seed, the percentile of an off-budget ``all_separate``, the Spearman of an arm without objective),
    and with one seed a line under the table says that no verdict can be reached and how to rerun."""
    lines = ["## Validation: decisions", "",
             "Groupings and curricula trained for real on this data (equal per-task budget; every partition "
             "and every order; the oracle is chosen on validation, so on test it can rank below 100 and another "
             "arm can beat it; gain = realized - exact random mean, 95% bootstrap CI over seeds (n/a under "
             f"{MIN_CI_SEEDS} seeds); percentile 100 = best of all alternatives on test; regret 0 = the oracle's "
             "test value, 1 = random's, below 0 = better than the oracle on test, n/a where the oracle is about "
             "equal to random; percentile n/a (off budget): all_separate has more groups than the "
             "budget, so it is not among the partitions ranked; seed-mean percentile n/a for HOA arms: each is "
             "chosen from the other seeds, so it is judged on its own seed; Spearman n/a: the arm has no "
             "objective; anti_planner, the chain objective reversed, orders like the default dissimilar_chain, which "
             "minimises it).", "",
             "| decision | arm | seeds | percentile (own seed) | percentile (seed-mean truth) | regret | gain [CI] | "
             "Spearman [CI] | noise ceiling | verdict |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        if not (r.arm.startswith("planner") or r.arm in SECTION_ARMS):
            continue
        own, mean = _percentile_text(r)
        rho = (f"{r.spearman:+.2f} {ci_text(r.spearman_low, r.spearman_high, r.n_seeds, 2)}"
               if np.isfinite(r.spearman) else "n/a")
        lines.append(f"| {r.decision} | {r.arm} | {r.n_seeds} | {own} | {mean} | "
                     f"{regret_text(r.regret, r.regret_undefined, r.n_seeds)} | "
                     f"{_signed(r.gain, 3)} {ci_text(r.gain_low, r.gain_high, r.n_seeds)} | {rho} | "
                     f"{_ceiling_text(r)} | {r.verdict} |")
    lines.append("")
    few = int(summary["n_seeds"].min()) if len(summary) else MIN_CI_SEEDS
    if few < MIN_CI_SEEDS:
        lines += [f"With {seeds_text(few)} (fewer than {MIN_CI_SEEDS}), the numbers above have no CI and no noise "
                  "ceiling, so no verdict can be reached and anything advised from these numbers is provisional; "
                  f"rerun with {SEEDS_KEY} >= {SUGGESTED_SEEDS} ({FIRM_SEEDS} for a verdict that is not provisional).",
                  ""]
    if pairs is not None and len(pairs):
        lines += [_pairs_line(pairs), ""]
    for dec, fig in figures.items():
        lines += [f"![{dec}]({fig})", ""]
    return "\n".join(lines)
