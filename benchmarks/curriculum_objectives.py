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


def linear_similarity(W, E):
    """Ablation of the similarity: rho = (n(u->t) + n(t->u)) / 2 on clipped normalized weights, with the
    same missing-edge rules as :func:`transfergraph.planner.decisions.similarity.forgetting_similarity`."""
    import numpy as np

    N = np.where(E, np.clip(W, 0.0, 1.0), np.nan)
    S = np.where(E & E.T, (N + N.T) / 2, np.where(E, N, np.where(E.T, N.T, 0.0)))
    np.fill_diagonal(S, 1.0)
    return S


def similarity_ablation(graphs: dict, names) -> dict:
    """{"periphery_core_sqrt" / "periphery_core_linear": {seed: (order, J)}}: periphery-to-core under the
    Li–Hiratani square-root similarity (the product's) and the linear one."""
    from transfergraph.planner.decisions._forgetting import periphery_order, periphery_value
    from transfergraph.planner.decisions._graph import task_nodes, weight_matrix
    from transfergraph.planner.decisions.similarity import forgetting_similarity

    out: dict = {}
    for seed, g in graphs.items():
        sub = g.subgraph(sorted(names)).copy()
        tasks = task_nodes(sub)
        W, E = weight_matrix(sub, tasks, tasks)
        idx = {t: i for i, t in enumerate(tasks)}
        for kind, f in (("sqrt", forgetting_similarity), ("linear", linear_similarity)):
            S = f(W, E)
            order = [tasks[i] for i in periphery_order(S)]
            out.setdefault(f"periphery_core_{kind}", {})[seed] = (
                order, lambda o, S=S, idx=idx: periphery_value(S, [idx[t] for t in o]))
    return out


def judge_suite(suite: str, seeds, cache: Path, learner: str = "naive", ablation: bool = False):
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
    if ablation:
        planners = similarity_ablation(graphs, names)
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
    ap.add_argument("--similarity-ablation", action="store_true",
                    help="Judge periphery_core under the square-root (product) and the linear similarity instead.")
    args = ap.parse_args(argv)
    names = args.suites.split(",")
    unknown = sorted(set(names) - set(TIERS["T1"]["suites"]))
    if unknown:
        ap.error(f"--suites: {unknown} are not suites of tier T1; known: {sorted(TIERS['T1']['suites'])}")
    args.out.mkdir(parents=True, exist_ok=True)
    parts = []
    for suite in names:
        summary, rows = judge_suite(suite, list(range(args.seeds)), args.cache, ablation=args.similarity_ablation)
        summary.to_csv(args.out / f"{suite}_summary.csv", index=False)
        rows.to_csv(args.out / f"{suite}_rows.csv", index=False)
        parts += [f"### {suite}", "", table(summary), ""]
    text = "\n".join(parts)
    (args.out / "curriculum_objectives.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
