"""Benchmark (issue 7): the LEEP paper's Table 1 protocol, in small, on Fashion-MNIST and digits.

Nguyen et al. (ICML 2020) train source classifiers, draw many random class-subset target tasks,
really transfer to each (retrain the head; fine-tune the whole network; CNAPs meta-transfer) and
correlate the measured test accuracy with LEEP, NCE and H-score computed before transfer. Here:

- Sources trained here (SmallCNN, seeded): ``fmnist_0-4`` and ``fmnist_5-9`` (Fashion-MNIST train
  classes 0-4 / 5-9), ``fmnist_rot90`` (all 10 classes, rotated 90 degrees), ``digits`` (sklearn digits,
  first half, upsampled to 28x28).
- Targets: ``--targets`` random class subsets (2 to 10 classes) per (dataset, setting), from the
  Fashion-MNIST *test* split and the second half of digits; settings ``large_balanced``,
  ``small_balanced`` (few examples per class) and ``small_imbalanced`` (5:1 between classes);
  balanced test splits. The paper-style "fixed source -> many targets" pairs are digits -> FMNIST
  and fmnist_0-4 -> digits; every source is also validated on every target (source-selection regret).
- Methods: ``retrain_head`` on every pair; ``fine_tune`` on the fixed-source pairs of the first
  ``--ft-targets`` targets per setting; ``meta_transfer``: a CNAPs-style model
  (``transfergraph.adapters.meta.train_demo_meta_model``) pre-/meta-trained on FMNIST classes 0-5, adapted to
  ``--targets`` digits tasks (context = train split), against LEEP of its backbone's source classifier.
- Metrics: every registered metric (N-LEEP only on targets with <= ``--nleep-max-n`` samples: it
  fits a GMM per pair and costs ~1 s at n = 1000). TTA's reference sample is 100 training images per
  class of each source (``Source(reference=Task)``).
- Fine-tune convergence (paper §5.5): accuracy per epoch by LEEP level vs training from scratch.
- Cost of batching: ``retrain_head_many`` (one forward pass per source over the union of targets)
  vs one ``retrain_head`` call per pair, median of 3 runs, on the same targets.

    .venv/bin/python benchmarks/paper_table1.py --out runs/paper_table1

Writes ``OUT/table1.md`` (all tables), ``OUT/*.csv`` and figures; prints the markdown.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from transfergraph.adapters.datasets import fashion_mnist_available, load_digits_images, load_fashion_mnist
from transfergraph.adapters.datasets.shifts import apply_shifts
from transfergraph.adapters.models import SmallCNN, train_classifier
from transfergraph.planner import Source, Task
from transfergraph.planner.metrics import REGISTRY
from transfergraph.planner.scoring import score
from transfergraph.planner.validation import (correlations, finetune_convergence, plot_convergence, retrain_head,
                                retrain_head_many, run_validation, selection_regret)
from transfergraph.planner.report import validation_report
from transfergraph.adapters.meta.sources import BACKBONE_SOURCE
from transfergraph.planner.report.validation import markdown_table

SETTINGS = {  # per-class training examples; imbalanced: half the classes get `hi`, the others hi / 5
    "fmnist": {"large_balanced": 100, "small_balanced": 10, "small_imbalanced": (25, 5), "test": 40},
    "digits": {"large_balanced": 40, "small_balanced": 5, "small_imbalanced": (25, 5), "test": 40, "meta": 20},
}
FIXED_SOURCE = {"fmnist": "digits", "digits": "fmnist_0-4"}  # cross-domain, like CIFAR-10 -> FMNIST in the paper
PAPER_METRICS = ("leep", "nce", "h_score")


# ----------------------------------------------------------------------------------------------
# data, sources, targets
# ----------------------------------------------------------------------------------------------
def load_data(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    fx, fy = load_fashion_mnist(split="train")
    tx, ty = load_fashion_mnist(split="test")
    dx, dy = load_digits_images(size=28)
    order = np.random.default_rng(seed).permutation(len(dx))
    half = len(dx) // 2
    return {"fmnist_train": (fx, fy), "fmnist": (tx, ty),
            "digits_train": (dx[order[:half]], dy[order[:half]]), "digits": (dx[order[half:]], dy[order[half:]])}


def _subset(x, y, classes, n, seed):
    idx = np.flatnonzero(np.isin(y, classes))
    idx = np.sort(np.random.default_rng(seed).choice(idx, size=min(n, len(idx)), replace=False))
    return x[idx], np.searchsorted(np.array(sorted(classes)), y[idx])


def _reference(name: str, x, y, per_class: int, seed: int) -> Task:
    """A seeded sample of a source's training data (<= per_class per class): TTA's reference sample."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]))
    return Task(f"{name}/reference", x[idx], y[idx])


def train_sources(data, *, n_train: int, epochs: int, seed: int, ref_per_class: int = 100) -> list[Source]:
    fx, fy = data["fmnist_train"]
    dx, dy = data["digits_train"]
    specs = [
        ("fmnist_0-4", *_subset(fx, fy, [0, 1, 2, 3, 4], n_train, seed)),
        ("fmnist_5-9", *_subset(fx, fy, [5, 6, 7, 8, 9], n_train, seed + 1)),
    ]
    rx, ry = _subset(fx, fy, list(range(10)), n_train, seed + 2)
    specs.append(("fmnist_rot90", apply_shifts(rx, {"rotate": 90}), ry))
    specs.append(("digits", dx, dy))
    sources = []
    for k, (name, x, y) in enumerate(specs):
        torch.manual_seed(seed + k)
        model = SmallCNN(int(y.max()) + 1, width=16, feature_dim=64)
        ep = epochs if len(x) >= 2000 else epochs * 3  # the digits half has ~900 images
        train_classifier(model, x, y, epochs=ep, batch_size=64, seed=seed + k)
        sources.append(Source(name, model, reference=_reference(name, x, y, ref_per_class, seed)))
    return sources


def sample_targets(x, y, *, dataset: str, setting: str, n_targets: int, seed: int) -> list[Task]:
    """``n_targets`` tasks with 2-10 random classes each; disjoint train/test samples per task."""
    spec = SETTINGS[dataset]
    rng = np.random.default_rng([seed, zlib.crc32(f"{dataset}/{setting}".encode())])
    all_classes = np.unique(y)
    by_class = {c: np.flatnonzero(y == c) for c in all_classes}
    tasks = []
    for i in range(n_targets):
        k = int(rng.integers(2, min(10, len(all_classes)) + 1))
        classes = np.sort(rng.choice(all_classes, size=k, replace=False))
        if setting == "small_imbalanced":
            hi, lo = spec[setting]
            big = rng.permutation(k) < max(1, k // 2)  # half the classes (at least one) get `hi`
            counts = np.where(big, hi, lo)
        else:
            counts = np.full(k, spec[setting])
        tr, te = [], []
        for c, n in zip(classes, counts):
            pick = rng.choice(by_class[c], size=int(n) + spec["test"], replace=False)
            tr.append(pick[:n])
            te.append(pick[n:])
        tr, te = np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))
        tasks.append(Task(f"{dataset}/{setting}/{i:03d}", x[tr], y[tr], test_inputs=x[te], test_labels=y[te]))
    return tasks


# ----------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------
def _rp(r, p) -> str:
    if r is None or np.isnan(r):
        return "–"
    ps = f"{p:.0e}" if p < 1e-3 else f"{p:.3f}"
    return f"{r:+.2f} ({ps})"


def table1_block(corr: pd.DataFrame, metrics: list[str], methods: list[str]) -> str:
    header = ["metric"]
    for m in methods:
        header += [f"{m} Pearson r (p)", f"{m} Kendall τ (p)", f"{m} n"]
    rows = []
    for metric in metrics:
        row = [metric]
        for m in methods:
            c = corr[(corr["metric"] == metric) & (corr["method"] == m)]
            if c.empty:
                row += ["–", "–", "0"]
                continue
            c = c.iloc[0]
            row += [_rp(c["pearson"], c["pearson_p"]), _rp(c["kendall_tau"], c["kendall_p"]), str(int(c["n_pairs"]))]
        rows.append(row)
    return markdown_table(header, rows)


def winners(corr: pd.DataFrame, method: str) -> str:
    c = corr[corr["method"] == method].dropna(subset=["pearson"])
    if c.empty:
        return "–"
    best_r = c.loc[c["pearson"].idxmax()]
    best_t = c.loc[c["kendall_tau"].idxmax()]
    return f"best r: {best_r['metric']} ({best_r['pearson']:+.2f}); best τ: {best_t['metric']} ({best_t['kendall_tau']:+.2f})"


def class_count_section(scores: pd.DataFrame, validation: pd.DataFrame, meta_scores: pd.DataFrame | None = None,
                        meta_validation: pd.DataFrame | None = None) -> list[str]:
    """Does a metric predict more than the number of target classes K?

    Across random class subsets, accuracy falls with K and so do LEEP and NCE (H-score grows with K),
    so part of every pooled correlation is the class count. Baseline: Pearson r of accuracy with
    -K. Control: partial r within K (score and accuracy centred on their mean per K), and r of the
    ``normalized`` score column.
    """
    from scipy import stats

    from transfergraph.planner.validation.correlations import joined

    show = ["leep", "nce", "h_score", "logme", "nleep", "gbc"]
    rows = []
    blocks = [(f"{src} -> {ds} {st}", "retrain_head", scores, validation, f"{ds}/{st}/", src)
              for ds, src in FIXED_SOURCE.items() for st in ("large_balanced", "small_balanced", "small_imbalanced")]
    if meta_scores is not None and meta_validation is not None:
        blocks.append((f"{BACKBONE_SOURCE} -> digits (meta)", "meta_transfer", meta_scores, meta_validation,
                       "digits/meta/", BACKBONE_SOURCE))
    for label, method, sc, va, prefix, src in blocks:
        s_sub = sc[(sc["source"] == src) & sc["target"].str.startswith(prefix)]
        v_sub = va[(va["source"] == src) & va["target"].str.startswith(prefix) & (va["method"] == method)]
        if s_sub.empty or v_sub.empty:
            continue
        k = s_sub.drop_duplicates("target").set_index("target")["n_classes"]
        acc = v_sub.set_index("target")["accuracy"]
        acc = acc[acc.notna()]
        base = stats.pearsonr(acc.to_numpy(), -k.loc[acc.index].to_numpy().astype(float)).statistic
        row = [label, method, str(len(acc)), f"{base:+.2f}"]
        for m in show:
            d = joined(s_sub[s_sub["metric"] == m], v_sub)
            if len(d) < 5:
                row.append("–")
                continue
            d = d.assign(k=k.loc[d["target"]].to_numpy())
            rs = d["score"] - d.groupby("k")["score"].transform("mean")
            ra = d["accuracy"] - d.groupby("k")["accuracy"].transform("mean")
            within = stats.pearsonr(rs, ra).statistic if rs.std() > 0 and ra.std() > 0 else float("nan")
            dn = joined(s_sub[s_sub["metric"] == m], v_sub, score_column="normalized")
            rn = stats.pearsonr(dn["score"], dn["accuracy"]).statistic if dn["score"].std() > 0 else float("nan")
            row.append(" / ".join("–" if np.isnan(v) else f"{v:+.2f}" for v in (within, rn)))
        rows.append(row)
    return ["## Controlling for the number of classes", "",
            "Baseline `r(−K)`: Pearson r between accuracy and minus the number of target classes (a score that "
            "knows nothing but K). Per metric: partial r within K (score and accuracy centred per K) / r of the "
            "`normalized` score column (SPEC §2).", "",
            markdown_table(["fixed source -> targets", "method", "n", "r(−K)"] + [f"{m} within-K / normalized" for m in show],
                           rows), ""]


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "n/a"
    return (f"{platform.node() or 'host'}: nproc={os.cpu_count()}, CPU {cpu}, load average at start `{load}`, "
            f"Python {platform.python_version()}, torch {torch.__version__}, 1 torch/BLAS thread")


def batching_cost(source: Source, tasks: list[Task], repeats: int = 3) -> dict[str, float]:
    """Median wall time of retrain_head_many over ``tasks`` vs one retrain_head call per task."""
    batched, single = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        retrain_head_many(source, tasks)
        batched.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for t in tasks:
            retrain_head(source, t)
        single.append(time.perf_counter() - t0)
    return {"batched": statistics.median(batched), "per_pair": statistics.median(single),
            "batched_all": batched, "per_pair_all": single}


# ----------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/paper_table1")
    ap.add_argument("--targets", type=int, default=100, help="targets per (dataset, setting)")
    ap.add_argument("--ft-targets", type=int, default=10, help="fine-tuned targets per (dataset, setting)")
    ap.add_argument("--ft-epochs", type=int, default=3, help="at least; small targets get --ft-min-steps")
    ap.add_argument("--ft-min-steps", type=int, default=60)
    ap.add_argument("--source-train", type=int, default=4000, help="training images per FMNIST source")
    ap.add_argument("--source-epochs", type=int, default=2)
    ap.add_argument("--nleep-max-n", type=int, default=150)
    ap.add_argument("--meta-targets", type=int, default=100, help="0 disables meta-transfer")
    ap.add_argument("--meta-pretrain-steps", type=int, default=250)
    ap.add_argument("--meta-steps", type=int, default=60)
    ap.add_argument("--conv-epochs", type=int, default=6)
    ap.add_argument("--executor", default="local")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--analyze", action="store_true",
                    help="only print the class-count analysis from the CSVs of an earlier run in --out")
    args = ap.parse_args(argv)
    if args.analyze:
        out = Path(args.out)
        meta = [pd.read_csv(out / f) for f in ("meta_scores.csv", "meta_validation.csv") if (out / f).exists()]
        print("\n".join(class_count_section(pd.read_csv(out / "scores.csv"), pd.read_csv(out / "validation.csv"),
                                            *(meta if len(meta) == 2 else (None, None)))))
        return 0
    if not fashion_mnist_available():
        print("Fashion-MNIST not found: apt-get install dataset-fashion-mnist", file=sys.stderr)
        return 2
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    times: dict[str, float] = {}
    t_all = time.perf_counter()

    def stage(name, t0):
        times[name] = time.perf_counter() - t0
        print(f"[{time.strftime('%H:%M:%S')}] {name}: {times[name]:.1f} s", flush=True)

    t0 = time.perf_counter()
    data = load_data(args.seed)
    sources = train_sources(data, n_train=args.source_train, epochs=args.source_epochs, seed=args.seed)
    stage("train 4 sources", t0)

    t0 = time.perf_counter()
    tasks: dict[tuple[str, str], list[Task]] = {}
    for ds in ("fmnist", "digits"):
        for st in ("large_balanced", "small_balanced", "small_imbalanced"):
            tasks[(ds, st)] = sample_targets(*data[ds], dataset=ds, setting=st, n_targets=args.targets, seed=args.seed)
    all_tasks = [t for ts in tasks.values() for t in ts]
    stage(f"sample {len(all_tasks)} targets", t0)

    cheap = [m for m in REGISTRY if m != "nleep"]
    t0 = time.perf_counter()
    scores = score(sources, all_tasks, metrics=cheap, executor=args.executor, progress=False, seed=args.seed)
    small = [t for t in all_tasks if t.n_samples <= args.nleep_max_n]
    if "nleep" in REGISTRY and small:
        scores = pd.concat([scores, score(sources, small, metrics=["nleep"], executor=args.executor,
                                          progress=False, seed=args.seed)], ignore_index=True)
    stage(f"score {len(sources)} sources x {len(all_tasks)} targets, {len(REGISTRY)} metrics", t0)

    t0 = time.perf_counter()
    val_rh = run_validation(sources, all_tasks, methods=["retrain_head"], executor=args.executor, progress=False,
                            seed=args.seed, cache=out / "cache")
    stage(f"retrain_head on {len(val_rh)} pairs", t0)

    t0 = time.perf_counter()
    ft_pairs = [(FIXED_SOURCE[ds], t.name) for (ds, st), ts in tasks.items() for t in ts[:args.ft_targets]]
    val_ft = run_validation(sources, all_tasks, pairs=ft_pairs, methods=["fine_tune"], executor=args.executor,
                            method_options={"fine_tune": {"epochs": args.ft_epochs, "min_steps": args.ft_min_steps}},
                            progress=False,
                            seed=args.seed, cache=out / "cache")
    stage(f"fine_tune on {len(val_ft)} pairs (>= {args.ft_epochs} epochs, >= {args.ft_min_steps} steps)", t0)
    validation = pd.concat([val_rh, val_ft], ignore_index=True)
    scores.to_csv(out / "scores.csv", index=False)
    validation.to_csv(out / "validation.csv", index=False)

    # ---- meta-transfer ----------------------------------------------------------------------
    meta_md = ["(meta-transfer disabled with --meta-targets 0)"]
    meta_corr = None
    if args.meta_targets > 0:
        try:
            from transfergraph.adapters.meta import train_demo_meta_model
        except ImportError as exc:  # transfergraph.adapters.meta not installed / learn2learn missing
            meta_md = [f"meta-transfer skipped: transfergraph.adapters.meta unavailable ({exc})."]
        else:
            t0 = time.perf_counter()
            fx, fy = data["fmnist_train"]
            mx, my = _subset(fx, fy, [0, 1, 2, 3, 4, 5], 3000, args.seed + 7)
            meta = train_demo_meta_model(mx, my, pretrain_steps=args.meta_pretrain_steps, meta_steps=args.meta_steps,
                                         seed=args.seed)
            stage(f"pre-train ({args.meta_pretrain_steps} steps) + meta-train ({args.meta_steps} steps) the "
                  "CNAPs-style model (FMNIST 0-5)", t0)
            t0 = time.perf_counter()
            backbone = Source(BACKBONE_SOURCE, meta.source_classifier())
            meta_tasks = sample_targets(*data["digits"], dataset="digits", setting="meta", n_targets=args.meta_targets,
                                        seed=args.seed + 11)
            m_scores = score([backbone], meta_tasks, metrics=list(REGISTRY), executor=args.executor, progress=False,
                             seed=args.seed)
            m_val = run_validation([backbone], meta_tasks, methods=["meta_transfer", "retrain_head"],
                                   meta_model={BACKBONE_SOURCE: meta}, executor=args.executor, progress=False,
                                   seed=args.seed)
            stage(f"meta-transfer on {len(meta_tasks)} digits targets", t0)
            m_scores.to_csv(out / "meta_scores.csv", index=False)
            m_val.to_csv(out / "meta_validation.csv", index=False)
            meta_corr = correlations(m_scores, m_val)
            acc = m_val[m_val["method"] == "meta_transfer"]["accuracy"]
            meta_md = [f"CNAPs-style model ({type(meta).__name__}, head={meta.hparams['head']}), backbone source "
                       f"classifier over {meta.hparams['n_source_classes']} classes (FMNIST 0-5 x 4 rotations); "
                       f"{len(meta_tasks)} digits targets, 2-10 ways, {SETTINGS['digits']['meta']} context "
                       f"examples per class, {SETTINGS['digits']['test']} queries per class. Meta-transfer accuracy "
                       f"mean {acc.mean():.3f} (min {acc.min():.3f}, max {acc.max():.3f}).", "",
                       table1_block(meta_corr, list(REGISTRY), ["meta_transfer", "retrain_head"])]

    # ---- convergence ------------------------------------------------------------------------
    t0 = time.perf_counter()
    conv_source = "fmnist_0-4"
    conv_tasks = tasks[("fmnist", "large_balanced")]
    leep_scores = scores[(scores["source"] == conv_source) & (scores["metric"] == "leep")].set_index("target")["score"]
    curves = finetune_convergence(next(s for s in sources if s.name == conv_source), conv_tasks,
                                  scores={t.name: float(leep_scores[t.name]) for t in conv_tasks},
                                  n_levels=5, per_level=1, epochs=args.conv_epochs, seed=args.seed)
    curves.to_csv(out / "convergence.csv", index=False)
    plot_convergence(curves, out / "convergence.png")
    stage("fine-tune convergence curves", t0)

    # ---- batching cost ----------------------------------------------------------------------
    t0 = time.perf_counter()
    n_cost = 15
    cost = batching_cost(next(s for s in sources if s.name == "digits"), tasks[("fmnist", "large_balanced")][:n_cost])
    stage("batching cost (3 repeats)", t0)
    total = time.perf_counter() - t_all

    # ---- tables -----------------------------------------------------------------------------
    metrics = [m for m in REGISTRY]
    md = ["# LEEP paper Table 1, in small (benchmarks/paper_table1.py)", "",
          f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`  ",
          f"Machine: {info}  ", f"Total wall time: {total:.0f} s ({total / 60:.1f} min). Stages: " +
          "; ".join(f"{k} {v:.0f} s" for k, v in times.items()), ""]
    md += ["## Table 1: fixed source -> random targets (Pearson r and Kendall τ with p-values; n = targets)", ""]
    all_corr = []
    for (ds, st), ts in tasks.items():
        names = {t.name for t in ts}
        src = FIXED_SOURCE[ds]
        s_sub = scores[(scores["source"] == src) & scores["target"].isin(names)]
        v_sub = validation[(validation["source"] == src) & validation["target"].isin(names)]
        c = correlations(s_sub, v_sub)
        all_corr.append(c.assign(dataset=ds, setting=st, source=src))
        rh = v_sub[v_sub["method"] == "retrain_head"]
        md += [f"### {src} -> {ds}, {st}", "",
               f"retrain_head accuracy mean {rh['accuracy'].mean():.3f} (range {rh['accuracy'].min():.2f}–"
               f"{rh['accuracy'].max():.2f}), macro F1 {rh['f1'].mean():.3f}. "
               f"retrain_head {winners(c, 'retrain_head')}; fine_tune {winners(c, 'fine_tune')}.", "",
               table1_block(c, metrics, ["retrain_head", "fine_tune"]), ""]
    md += ["### fine_tune pooled over the three settings (fixed source; fine-tuning is costly, so fewer targets)", ""]
    for ds in ("fmnist", "digits"):
        names = {t.name for (d, _), ts in tasks.items() if d == ds for t in ts}
        src = FIXED_SOURCE[ds]
        c = correlations(scores[(scores["source"] == src) & scores["target"].isin(names)],
                         val_ft[(val_ft["source"] == src) & val_ft["target"].isin(names)])
        all_corr.append(c.assign(dataset=ds, setting="all_settings", source=src))
        md += [f"{src} -> {ds}, all settings: fine_tune {winners(c, 'fine_tune')}.", "",
               table1_block(c, metrics, ["fine_tune"]), ""]
    md += ["### meta-transfer: CNAPs-style adaptation, digits targets", ""] + meta_md + [""]
    md += class_count_section(scores, validation,
                              *((m_scores, m_val) if meta_corr is not None else (None, None)))
    md += ["## All sources pooled (retrain_head): Pearson r over all pairs, and mean per-target Kendall τ "
           "over the 4 sources", ""]
    rows, regrets = [], []
    for (ds, st), ts in tasks.items():
        names = {t.name for t in ts}
        s_sub = scores[scores["target"].isin(names)]
        v_sub = validation[(validation["target"].isin(names)) & (validation["method"] == "retrain_head")]
        c = correlations(s_sub, v_sub)
        all_corr.append(c.assign(dataset=ds, setting=st, source="all"))
        row = [f"{ds} {st}"]
        for m in metrics:
            cm = c[c["metric"] == m]
            row.append("–" if cm.empty else f"{cm['pearson'].iloc[0]:+.2f} / {cm['per_target_kendall_tau'].iloc[0]:+.2f}")
        rows.append(row + [str(int(c["n_pairs"].max()))])
        regrets.append(selection_regret(s_sub, v_sub).assign(dataset=ds, setting=st))
    md += [markdown_table(["targets"] + [f"{m} r / τ_t" for m in metrics] + ["pairs"], rows), ""]
    reg = pd.concat(regrets, ignore_index=True)
    md += ["## Source-selection regret (retrain_head; 4 candidate sources per target)", "",
           "acc(best source) − acc(top-scored source), mean over targets; `random` = best − mean over sources; "
           "top-1 = share of targets where the top-scored source is a best one.", ""]
    rrows = []
    for (ds, st), g in reg.groupby(["dataset", "setting"], sort=False):
        for _, r in g.iterrows():
            rrows.append([f"{ds} {st}", r["metric"], str(int(r["n_targets"])), f"{r['regret']:.3f}",
                          f"{r['random_regret']:.3f}", f"{r['relative_regret']:.2f}", f"{r['top1_rate']:.2f}"])
    md += [markdown_table(["targets", "metric", "n", "regret", "random", "relative", "top-1"], rrows), ""]
    conv = curves.groupby(["level", "run", "epoch"])["accuracy"].mean().unstack("epoch")
    md += [f"## Fine-tune convergence by LEEP level ({conv_source} -> FMNIST large_balanced, one target per level, "
           "test accuracy per epoch; scratch = same architecture re-initialised)", "",
           markdown_table(["level", "run"] + [f"ep {e}" for e in conv.columns],
                          [[str(lv), run] + [f"{v:.3f}" for v in conv.loc[(lv, run)]] for lv, run in conv.index]),
           "", "![convergence](convergence.png)", ""]
    md += [f"## Cost of batching retrain_head (digits source, {n_cost} FMNIST large_balanced targets, median of 3)", "",
           f"batched (one forward over the union + {n_cost} heads): {cost['batched']:.2f} s; one call per pair: "
           f"{cost['per_pair']:.2f} s; ratio {cost['per_pair'] / cost['batched']:.2f}x. "
           f"Runs: {[round(v, 2) for v in cost['batched_all']]} vs {[round(v, 2) for v in cost['per_pair_all']]}.", ""]
    pd.concat(all_corr, ignore_index=True).to_csv(out / "correlations.csv", index=False)
    reg.to_csv(out / "regret.csv", index=False)
    # the library's own report section, for one setting, as the CLI would write it
    fl = {t.name for t in tasks[("fmnist", "large_balanced")]}
    sec = validation_report(validation[validation["target"].isin(fl)],
                            correlations(scores[scores["target"].isin(fl)], validation[validation["target"].isin(fl)]),
                            scores[scores["target"].isin(fl)], out,
                            title="validation_report() on fmnist large_balanced (all sources)")
    (out / "report_section.md").write_text(sec)
    text = "\n".join(md) + "\n"
    (out / "table1.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
