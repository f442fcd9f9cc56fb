"""Which curriculum objective predicts final accuracy under the naive continual learner? (round-1 suites)

The curriculum half of ``benchmarks/decision_validation.py --tier T1`` without the grouping tables: per
seed, the singleton networks of the suite's first five tasks (the grouping cache's size-1 subsets,
shared with that script) give the planner's LEEP graph; every order of the first four tasks is trained
through the naive learner (prefix trie, the same cache as ``--part tables-curriculum``); each objective of
:data:`transfergraph.planner.decisions.CURRICULUM_OBJECTIVES` is judged against random orders and the
val-chosen oracle (percentile, normalized regret, gain with bootstrap CI over seeds, Spearman of the
objective with the realized measure over all orders, split-half noise ceiling, the pre-registered verdict).

Usage::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/curriculum_objectives.py --suites B6 --seeds 5 \\
        --cache /tmp/tg_curr/cache --out /tmp/tg_curr/out
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decision_validation import TIERS, suite_data  # noqa: E402

ARMS = ("random", "oracle", "anti_planner", "easy_to_hard")


def judge_suite(suite: str, seeds, cache: Path, learner: str = "naive"):
    """(summary DataFrame, Spearman table) of every curriculum objective on one suite of tier T1."""
    from transfergraph.planner.validation.continual import orders_table
    from transfergraph.planner.validation.curriculum_eval import curriculum_rows
    from transfergraph.planner.validation.decision_outputs import summarize
    from transfergraph.planner.validation.decision_run import _curriculum_ceiling, curriculum_planners, leep_graph
    from transfergraph.planner.validation.multitask import subset_table

    tier = TIERS["T1"]
    data, trunk = suite_data("T1", suite)
    gdata, cdata = data[:tier["n_group"]], data[:tier["n_curr"]]
    graphs, tabs = {}, []
    for s in seeds:
        t0 = time.perf_counter()
        _, singles = subset_table(gdata, seed=s, budget=tier["grouping"], trunk=trunk, cache=cache / "grouping" / suite,
                                  max_size=1)
        graphs[s] = leep_graph(singles, gdata, seed=s)
        tabs.append(orders_table(cdata, seed=s, budget=tier["curriculum"], trunk=trunk, replay=learner == "replay",
                                 cache=cache / "curriculum" / suite))
        print(f"{suite} seed {s}: {time.perf_counter() - t0:.0f} s", flush=True)
    tab = pd.concat(tabs, ignore_index=True)
    names = [t.name for t in cdata]
    planners, anti = curriculum_planners(graphs, names)
    rows, corr = curriculum_rows(tab, planners=planners, anti=anti, learner=learner)
    ceilings = {f"curriculum_{learner}_{m}": _curriculum_ceiling(tab, names, m) for m in ("acc", "fwt_ft", "bwt")}
    return summarize(rows, corr, ceilings), rows


def table(summary: pd.DataFrame) -> str:
    lines = ["| decision | arm | seeds | percentile (own seed) | percentile (seed-mean truth) | regret | gain [CI] | "
             "Spearman [CI] | noise ceiling | verdict |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        if not (r.arm.startswith("planner") or r.arm in ARMS):
            continue
        sp = "" if r.spearman != r.spearman else f"{r.spearman:+.2f} [{r.spearman_low:+.2f}, {r.spearman_high:+.2f}]"
        lines.append(f"| {r.decision} | {r.arm} | {r.n_seeds} | {r.percentile:.0f} | {r.percentile_seed_mean_truth:.0f} | "
                     f"{r.regret:.2f} | {r.gain:+.3f} [{r.gain_low:+.3f}, {r.gain_high:+.3f}] | {sp} | "
                     f"{r.noise_ceiling:.2f} | {r.verdict} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", default="B6", help="Comma-separated T1 suites (D6s, B6, F6s).")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=Path("runs/decision_validation/cache"))
    ap.add_argument("--out", type=Path, default=Path("runs/curriculum_objectives"))
    args = ap.parse_args(argv)
    names = args.suites.split(",")
    unknown = sorted(set(names) - set(TIERS["T1"]["suites"]))
    if unknown:
        ap.error(f"--suites: {unknown} are not suites of tier T1; known: {sorted(TIERS['T1']['suites'])}")
    args.out.mkdir(parents=True, exist_ok=True)
    parts = []
    for suite in names:
        summary, rows = judge_suite(suite, list(range(args.seeds)), args.cache)
        summary.to_csv(args.out / f"{suite}_summary.csv", index=False)
        rows.to_csv(args.out / f"{suite}_rows.csv", index=False)
        parts += [f"### {suite}", "", table(summary), ""]
    text = "\n".join(parts)
    (args.out / "curriculum_objectives.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
