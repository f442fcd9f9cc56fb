"""Benchmark: the TTA bound next to the other registered metrics, on paper_table1's sources and targets.

Same sources (SmallCNN trained on Fashion-MNIST 0-4 / 5-9 / rotated, and on digits) and the same
random class-subset targets as ``benchmarks/paper_table1.py`` (its functions are reused), on a
bounded subset: ``--targets`` per (dataset, setting). Each source's reference sample for TTA is a
seeded sample of its own training data (``--ref-per-class`` images per class, ``Source(reference=Task)``).
Every registered metric is scored on the same pairs (N-LEEP only on targets with <= 150 samples, as
paper_table1 does) and compared with the test accuracy of a retrained head (``retrain_head``):

- pooled Pearson r and Kendall tau over all (source, target) pairs, and the mean per-target Kendall tau;
- source-selection regret (4 candidate sources per target);
- the same for each TTA term on its own (``-tta_source_loss``, ``-tta_wasserstein``, ...);
- the cost of one tta() call per pair at n = 1,000 and 10,000 target samples (d = 64 SmallCNN-sized
  features, 10 target and 10 reference classes, 1,000 reference samples), median of ``--cost-repeats``,
  against LogME on the same features in the same run.

    nice -n 10 .venv/bin/python benchmarks/tta_table1.py --out runs/tta_table1
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paper_table1 import load_data, machine, sample_targets, train_sources  # noqa: E402

from transfergraph.adapters.datasets import fashion_mnist_available  # noqa: E402
from transfergraph.planner.metrics import REGISTRY, Reference, logme, tta  # noqa: E402
from transfergraph.planner.report.validation import markdown_table  # noqa: E402
from transfergraph.planner.scoring import score  # noqa: E402
from transfergraph.planner.validation import correlations, run_validation, selection_regret  # noqa: E402

SETTINGS = ("large_balanced", "small_balanced", "small_imbalanced")
TERM_SCORES = {  # higher = better for each, like a metric
    "tta (-bound)": ("tta", "score", 1.0),
    "tta: -source_loss": ("tta", "tta_source_loss", -1.0),
    "tta: -wasserstein": ("tta", "tta_wasserstein", -1.0),
    "tta: -label_entropy": ("tta", "tta_label_entropy", -1.0),
    "tta: certified": ("tta", "tta_certified", 1.0),
}


def term_table(scores: pd.DataFrame) -> pd.DataFrame:
    """The tta rows once per term, as pseudo-metrics (score = sign * term column)."""
    t = scores[scores["metric"] == "tta"]
    parts = []
    for label, (_, col, sign) in TERM_SCORES.items():
        parts.append(t.assign(metric=label, score=sign * t[col].astype(float)))
    return pd.concat(parts, ignore_index=True)


def cost_per_pair(n: int, repeats: int, seed: int = 0, d: int = 64) -> dict[str, float]:
    """Median seconds of tta() and logme() on one synthetic pair with n target samples in d dimensions."""
    rng = np.random.default_rng(seed)
    k = 10
    means = rng.normal(size=(k, d)) * 2
    u_lab = np.repeat(np.arange(k), 100)
    u = means[u_lab] + rng.normal(size=(len(u_lab), d))
    w = rng.normal(size=(k, d)) * 0.3
    y = rng.integers(0, k, n)
    f = means[(y + 3) % k] + rng.normal(size=(n, d)) * 1.2
    ref = Reference(u, u_lab, w, np.zeros(k))
    out = {}
    for name, fn in (("tta", lambda: tta(f, y, reference=ref, seed=seed)), ("logme", lambda: logme(f, y))):
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        out[name], out[f"{name}_runs"] = statistics.median(runs), runs
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/tta_table1")
    ap.add_argument("--targets", type=int, default=12, help="targets per (dataset, setting)")
    ap.add_argument("--source-train", type=int, default=4000)
    ap.add_argument("--source-epochs", type=int, default=2)
    ap.add_argument("--ref-per-class", type=int, default=100)
    ap.add_argument("--nleep-max-n", type=int, default=150)
    ap.add_argument("--cost-repeats", type=int, default=3)
    ap.add_argument("--cost-only-d", type=int, default=0,
                    help="only print the cost per pair at n = 10,000 in this dimension (e.g. 512) and exit")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.cost_only_d:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        c = cost_per_pair(10000, args.cost_repeats, d=args.cost_only_d)
        print(f"d = {args.cost_only_d}, n = 10,000: tta median {c['tta']:.2f} s, runs "
              f"{[round(v, 2) for v in c['tta_runs']]}; logme median {c['logme']:.3f} s")
        return 0
    if not fashion_mnist_available():
        print("Fashion-MNIST not found: apt-get install dataset-fashion-mnist", file=sys.stderr)
        return 2
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info, times, t_all = machine(), {}, time.perf_counter()

    def stage(name, t0):
        times[name] = time.perf_counter() - t0
        print(f"[{time.strftime('%H:%M:%S')}] {name}: {times[name]:.1f} s", flush=True)

    t0 = time.perf_counter()
    data = load_data(args.seed)
    sources = train_sources(data, n_train=args.source_train, epochs=args.source_epochs, seed=args.seed,
                            ref_per_class=args.ref_per_class)
    stage("train 4 sources", t0)
    tasks = [t for ds in ("fmnist", "digits") for st in SETTINGS
             for t in sample_targets(*data[ds], dataset=ds, setting=st, n_targets=args.targets, seed=args.seed)]
    t0 = time.perf_counter()
    metrics = [m for m in REGISTRY if m != "nleep"]
    scores = score(sources, tasks, metrics=metrics, progress=False, seed=args.seed)
    small = [t for t in tasks if t.n_samples <= args.nleep_max_n]
    if small:
        scores = pd.concat([scores, score(sources, small, metrics=["nleep"], progress=False, seed=args.seed)],
                           ignore_index=True)
    stage(f"score {len(sources)} sources x {len(tasks)} targets", t0)
    t0 = time.perf_counter()
    val = run_validation(sources, tasks, methods=["retrain_head"], progress=False, seed=args.seed, cache=out / "cache")
    stage(f"retrain_head on {len(val)} pairs", t0)
    scores.to_csv(out / "scores.csv", index=False)
    val.to_csv(out / "validation.csv", index=False)
    t0 = time.perf_counter()
    cost = {n: cost_per_pair(n, args.cost_repeats) for n in (1000, 10000)}
    stage("cost per pair", t0)
    total = time.perf_counter() - t_all

    tta_rows = scores[scores["metric"] == "tta"]
    failed = tta_rows[tta_rows["status"] != "ok"]
    ok = tta_rows[tta_rows["status"] == "ok"]
    all_scores = pd.concat([scores[scores["metric"] != "tta"], term_table(scores)], ignore_index=True)
    corr = correlations(all_scores, val)
    reg = selection_regret(all_scores, val)
    order = [m for m in REGISTRY if m != "tta"] + list(TERM_SCORES)
    rows = []
    for m in order:
        c, r = corr[corr["metric"] == m], reg[reg["metric"] == m]
        if c.empty:
            continue
        c, r = c.iloc[0], r.iloc[0]
        rows.append([m, f"{c['pearson']:+.3f}", f"{c['kendall_tau']:+.3f}", f"{c['per_target_kendall_tau']:+.3f}",
                     str(int(c["n_pairs"])), f"{r['regret']:.3f}", f"{r['random_regret']:.3f}", f"{r['top1_rate']:.2f}",
                     str(int(r["n_targets"]))])
    sec = ok["seconds"].astype(float)
    md = ["# TTA next to the other metrics (benchmarks/tta_table1.py)", "",
          f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`  ", f"Machine: {info}  ",
          f"Total wall time: {total:.0f} s. Stages: " + "; ".join(f"{k} {v:.0f} s" for k, v in times.items()), "",
          f"{len(tasks)} targets ({args.targets} per dataset x setting), 4 sources, {len(tta_rows)} tta pairs: "
          f"{len(ok)} ok, {len(failed)} failed; vacuous (bound >= H(Y)): {int(ok['tta_vacuous'].astype(bool).sum())} "
          f"of {len(ok)}; tta seconds per pair (engine, incl. its share of the forward pass): median "
          f"{sec.median():.3f}, max {sec.max():.3f}.", "",
          "## Scores vs retrain_head test accuracy (all pairs pooled) and source-selection regret", "",
          markdown_table(["metric", "Pearson r", "Kendall τ", "mean per-target τ", "pairs", "regret", "random regret",
                          "top-1", "targets"], rows), "",
          "## Cost of one tta() call (d = 64, 10 + 10 classes, 1,000 reference samples, cap 500 per class)", "",
          markdown_table(["n target", "tta median s", "tta runs", "logme median s", "ratio tta / logme"],
                         [[str(n), f"{c['tta']:.3f}", str([round(v, 3) for v in c['tta_runs']]), f"{c['logme']:.4f}",
                           f"{c['tta'] / c['logme']:.0f}x"] for n, c in cost.items()]), ""]
    text = "\n".join(md) + "\n"
    (out / "tta_table1.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
