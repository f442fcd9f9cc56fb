"""Predicted pairs: how well scoring a fraction of the (source, target) pairs ranks the rest.

Two steps::

    # 1. a ground-truth table: every pair of a generated digits zoo scored (transfergraph run, local)
    nice -n 10 python benchmarks/predicted_pairs.py make --out runs/pp_zoo --tasks 60 --external 40
    # 2. the hold-out protocols on that table (or on any complete scores.csv)
    nice -n 10 python benchmarks/predicted_pairs.py eval runs/pp_zoo/run/scores.csv --seeds 20

``make`` writes ``zoo.yaml``: ``--tasks`` targets cut from scikit-learn's digits (a seeded class
subset of 3-6 classes and one of seven domain shifts each, 30 samples per class), one small CNN
trained per task (its node) and ``--external`` further CNNs trained on other seeded subsets and
shifts, then runs ``transfergraph run`` on it with the local executor. Every pair is scored, so the
table is the ground truth.

``eval`` reads the ``normalized`` value of ``--metric`` for every candidate pair (a source on its own
task is excluded, as in the graph) and, for each fraction and seed, hides cells under three protocols:

- ``random``: a random ``f`` of the cells is observed (no minimum per row or column);
- ``new_target``: 20 % of the targets are new, each with a random ``f`` of its sources observed, the
  other targets fully observed;
- ``new_source``: 20 % of the sources are new, each observed on a random ``f`` of the targets.

and, as a fourth row, ``design``: the procedure ``score(..., pairs_fraction=f)`` runs
(:func:`transfergraph.planner.scoring.fraction.run_design`, the very code, with scoring replaced by
revealing cells of the table). Methods: ``random`` (random values for the hidden cells),
``source_mean`` (the mean per-target z-score of the source over its observed targets, no shrinkage,
no low-rank term), ``nearest_target`` (the z-scores of the target most correlated with it over 3+
commonly observed sources; the source mean where that target lacks the source) and ``predictor`` (:func:`transfergraph.planner.scoring.predict.predict_matrix`).
Measures, over the evaluated targets (the new ones; all for ``random``/``design``): the per-target
Kendall tau between true and predicted values on the hidden cells (targets with 2+ hidden cells);
the top-1 regret = best true value of the target minus the true value of the pair ranked first
(measured value where observed, prediction elsewhere), and rel@1 = their ratio; and ``rescore3``,
the regret after the predictor's top 3 of each target are scored exactly and the best *measured*
pair is chosen (what the plan recommends). Mean and s.d. over seeds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHIFTS = [{}, {"rotate": 30}, {"rotate": 90}, {"invert": True}, {"blur": 1.0}, {"noise": 0.3}, {"scale": 0.6}]
PROTOCOLS = ("random", "new_target", "new_source", "design")
METHODS = ("random", "source_mean", "nearest_target", "predictor")


# ---------------------------------------------------------------------------------------------- make
def zoo_config(n_tasks: int, n_external: int, seed: int) -> dict:
    """The generated job config (see the module docstring)."""
    rng = np.random.default_rng(seed)

    def spec(name: str, lo: int, hi: int) -> dict:
        k = int(rng.integers(lo, hi + 1))
        classes = sorted(int(c) for c in rng.choice(10, size=k, replace=False))
        shift = SHIFTS[int(rng.integers(len(SHIFTS)))]
        out = {"name": name, "classes": classes}
        if shift:
            out["shift"] = dict(shift)
        return out

    tasks = [{**spec(f"t{k:03d}", 3, 6), "n_per_class": 30} for k in range(n_tasks)]
    external = [spec(f"ext{k:03d}", 3, 10) for k in range(n_external)]
    return {
        "name": f"predicted_pairs_zoo_{n_tasks}x{n_tasks + n_external}",
        "seed": seed,
        "data": {"dataset": "digits", "image_size": 8, "disjoint": False},
        "tasks": tasks,
        "models": {"per_task": True, "external": external,
                   "training": {"epochs": 6, "width": 8, "feature_dim": 16, "batch_size": 32, "lr": 0.01}},
        "scoring": {"metrics": ["leep", "nce"], "executor": "local", "cache": True},
        "plan": {"metric": "leep", "top_k": 3},
    }


def make(args: argparse.Namespace) -> None:
    import yaml

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "zoo.yaml"
    path.write_text(yaml.safe_dump(zoo_config(args.tasks, args.external, args.seed), sort_keys=False))
    cmd = [sys.executable, "-m", "transfergraph", "run", str(path), "--out", str(out / "run"), "--executor", "local",
           "--quiet"]
    start = time.perf_counter()
    rc = subprocess.call(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"})
    print(f"transfergraph run: exit {rc} in {time.perf_counter() - start:.0f} s -> {out / 'run' / 'scores.csv'}")


# ---------------------------------------------------------------------------------------------- eval
def truth_matrix(path: Path, metric: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(Y, candidate mask, sources, targets) of the normalized ``metric`` in a complete scores.csv."""
    import pandas as pd

    df = pd.read_csv(path, keep_default_na=False, na_values={"score": [""], "normalized": [""]})
    df = df[df["metric"] == metric]
    bad = df[df["status"] != "ok"]
    if len(bad):
        raise SystemExit(f"{path}: {len(bad)} {metric} rows are not ok; the ground truth needs every pair scored.")
    sources, targets = sorted(df["source"].unique()), sorted(df["target"].unique())
    Y = df.pivot_table(index="source", columns="target", values="normalized").loc[sources, targets].to_numpy(float)
    own = df.drop_duplicates("source").set_index("source")["source_task"].astype(str).to_dict()
    cand = np.array([[own.get(s, "") != t for t in targets] for s in sources])
    return Y, cand, sources, targets


def _zscores(Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    n = np.maximum(M.sum(axis=0), 1)
    mu = np.where(M, Y, 0).sum(axis=0) / n
    sd = np.sqrt((np.where(M, Y - mu, 0) ** 2).sum(axis=0) / n)
    return (Y - mu) / np.where(sd > 0, sd, 1.0)


def predict(method: str, Y: np.ndarray, M: np.ndarray, rng: np.random.Generator, seed: int) -> np.ndarray:
    from transfergraph.planner.scoring.predict import predict_matrix

    if method == "random":
        return rng.random(Y.shape)
    if method in ("source_mean", "nearest_target"):
        Z = _zscores(Y, M)
        a = np.where(M, Z, 0).sum(axis=1) / np.maximum(M.sum(axis=1), 1)
        P = np.repeat(a[:, None], Y.shape[1], axis=1)
        if method == "nearest_target":
            P = _nearest_target(Z, M, P)
        return P
    return predict_matrix(Y, M, seed=seed).mean


def _nearest_target(Z: np.ndarray, M: np.ndarray, fallback: np.ndarray, min_common: int = 3) -> np.ndarray:
    """Each target takes the z-scores of the target most correlated with it over the sources observed on
    both (at least ``min_common``); sources not observed there, and targets without such a neighbour,
    keep ``fallback`` (the source mean)."""
    P = fallback.copy()
    T = Z.shape[1]
    for j in range(T):
        best, nearest = -np.inf, None
        for k in range(T):
            common = M[:, j] & M[:, k]
            if k == j or common.sum() < min_common:
                continue
            x, y = Z[common, j], Z[common, k]
            if x.std() == 0 or y.std() == 0:
                continue
            c = float(np.corrcoef(x, y)[0, 1])
            if c > best:
                best, nearest = c, k
        if nearest is not None:
            P[:, j] = np.where(M[:, nearest], Z[:, nearest], fallback[:, j])
    return P


def measures(Y, cand, M, P, cols, raw=None, rescore_k=3) -> dict[str, float]:
    """tau / regret / rel@1 / rescore regret over the target columns ``cols`` (see the module docstring).
    ``P`` ranks hidden cells against the observed ones (which rank by their measured value); tau is
    computed on ``raw`` (default ``P``): the method's own predictions, before any rescaling."""
    raw = P if raw is None else raw
    from scipy.stats import kendalltau

    taus, regret, rel, rescore = [], [], [], []
    for j in cols:
        c = cand[:, j]
        hidden = c & ~M[:, j]
        best = Y[c, j].max()
        if hidden.sum() >= 2:
            t = kendalltau(Y[hidden, j], raw[hidden, j])[0]
            taus.append(0.0 if np.isnan(t) else t)
        # rank measured pairs by their measured value, hidden ones by their prediction, on one scale:
        # a prediction is on the scale of the measured values for the predictor; for the baselines the
        # ranks of the hidden ones are placed by their own order among the measured (z-score map)
        comb = np.where(M[:, j], Y[:, j], P[:, j])
        comb = np.where(c, comb, -np.inf)
        pick = int(np.argmax(comb))
        regret.append(best - Y[pick, j])
        rel.append(Y[pick, j] / best if best > 0 else 1.0)
        top = np.argsort(-comb, kind="stable")[:rescore_k]
        measured = (M[:, j] & c).copy()
        measured[top] = True
        rescore.append(best - Y[measured, j].max())
    return {"tau": float(np.mean(taus)) if taus else float("nan"), "regret": float(np.mean(regret)),
            "rel1": float(np.mean(rel)), "rescore3": float(np.mean(rescore))}


def _on_scale(method: str, P: np.ndarray, Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Baseline predictions mapped to the scale of each target's measured values (z-score back-map),
    so that ``measures`` can rank measured and hidden pairs together."""
    if method == "predictor":
        return P
    n = np.maximum(M.sum(axis=0), 1)
    mu = np.where(M, Y, 0).sum(axis=0) / n
    sd = np.sqrt((np.where(M, Y - mu, 0) ** 2).sum(axis=0) / n)
    Pz = (P - P.mean(axis=0)) / np.where(P.std(axis=0) > 0, P.std(axis=0), 1.0)
    return mu + sd * Pz


def hold_out(protocol: str, cand: np.ndarray, f: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(observed mask, evaluated target columns) of one protocol draw."""
    S, T = cand.shape
    if protocol == "random":
        M = cand & (rng.random((S, T)) < f)
        return M, np.arange(T)
    M = cand.copy()
    if protocol == "new_target":
        new = rng.choice(T, size=max(1, round(0.2 * T)), replace=False)
        for j in new:
            idx = np.flatnonzero(cand[:, j])
            keep = rng.choice(idx, size=max(1, round(f * len(idx))), replace=False)
            M[:, j] = False
            M[keep, j] = True
        return M, np.sort(new)
    new = rng.choice(S, size=max(1, round(0.2 * S)), replace=False)
    for i in new:
        idx = np.flatnonzero(cand[i])
        keep = rng.choice(idx, size=max(1, round(f * len(idx))), replace=False)
        M[i] = False
        M[i, keep] = True
    return M, np.arange(T)


def design_draw(Y, cand, sources, targets, f, seed) -> dict[str, float]:
    """The ``pairs_fraction`` procedure itself, cells revealed from ``Y``."""
    from transfergraph.planner.scoring.fraction import run_design

    seen = np.full(Y.shape, np.nan)

    def measure(pairs):
        for i, j in pairs:
            seen[i, j] = Y[i, j]
        return {"m": seen.copy()}

    res = run_design(sources, targets, f, measure, seed=seed, top_k=3, excluded=~cand)
    before = res.scored.copy()
    for i, j in res.rescored:
        before[i, j] = False
    out = measures(Y, cand, res.scored, res.predictions["m"].mean, range(Y.shape[1]))
    # the procedure already re-scored its top 3: its regret is the best measured pair's
    out["rescore3"] = float(np.mean([Y[cand[:, j], j].max() - Y[res.scored[:, j] & cand[:, j], j].max()
                                     for j in range(Y.shape[1])]))
    out["scored_share"] = float(res.scored[cand].mean())
    out["design_share"] = float(before[cand].mean())
    return out


def evaluate(args: argparse.Namespace) -> None:
    Y, cand, sources, targets = truth_matrix(Path(args.scores), args.metric)
    rows = []
    start = time.perf_counter()
    for f in args.fractions:
        for protocol in args.protocols:
            per_method: dict[str, list[dict]] = {}
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, int(f * 1000), PROTOCOLS.index(protocol)])
                if protocol == "design":
                    per_method.setdefault("predictor", []).append(design_draw(Y, cand, sources, targets, f, seed))
                    continue
                M, cols = hold_out(protocol, cand, f, rng)
                for method in METHODS:
                    raw = predict(method, Y, M, rng, seed)
                    per_method.setdefault(method, []).append(measures(Y, cand, M, _on_scale(method, raw, Y, M), cols,
                                                                      raw))
            for method, draws in per_method.items():
                keys = draws[0].keys()
                row = {"fraction": f, "protocol": protocol, "method": method, "seeds": len(draws)}
                for k in keys:
                    vals = np.array([d[k] for d in draws], dtype=float)
                    row[k] = float(np.nanmean(vals))
                    row[k + "_sd"] = float(np.nanstd(vals))
                rows.append(row)
                print(_fmt(row), flush=True)
    seconds = time.perf_counter() - start
    meta = {"scores": str(args.scores), "metric": args.metric, "protocols": list(args.protocols),
            "n_sources": len(sources), "n_targets": len(targets), "n_candidates": int(cand.sum()), "seeds": args.seeds, "seconds": seconds}
    print(json.dumps(meta))
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


def _fmt(r: dict) -> str:
    extra = f" scored {r['scored_share']:.3f}" if "scored_share" in r else ""
    return (f"f={r['fraction']:.2f} {r['protocol']:<10} {r['method']:<11} tau {r['tau']:.3f}±{r['tau_sd']:.3f} "
            f"regret {r['regret']:.4f}±{r['regret_sd']:.4f} rel@1 {r['rel1']:.3f} "
            f"rescore3 {r['rescore3']:.4f}±{r['rescore3_sd']:.4f}{extra}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="generate the digits zoo and score every pair")
    m.add_argument("--out", default="runs/pp_zoo")
    m.add_argument("--tasks", type=int, default=60)
    m.add_argument("--external", type=int, default=40)
    m.add_argument("--seed", type=int, default=0)
    e = sub.add_parser("eval", help="the hold-out protocols on a complete scores.csv")
    e.add_argument("scores")
    e.add_argument("--metric", default="leep")
    e.add_argument("--seeds", type=int, default=20)
    e.add_argument("--fractions", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    e.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS),
                   help="run only these hold-out protocols (default: all four)")
    e.add_argument("--json", default=None, help="write the rows here")
    args = parser.parse_args(argv)
    make(args) if args.command == "make" else evaluate(args)


if __name__ == "__main__":
    main()
