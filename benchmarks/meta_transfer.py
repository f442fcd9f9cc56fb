"""Benchmark (issue 6): CNAPs-style adaptation vs frozen-feature baselines on held-out tasks.

Pre-trains a backbone on Fashion-MNIST train classes 0-5 widened with transforms as extra classes,
meta-trains each variant from that same backbone (same seed, same step budget), and evaluates on
100 fixed tasks per setting (15 queries per class): Fashion-MNIST *test* classes 6-9 4-way and
sklearn digits (upsampled to 28x28) 5-way, 1-shot and 5-shot. Reports mean accuracy, the 95%
interval (1.96 std / sqrt(100)) and wall times. Baselines use the same pre-trained backbone:
``proto`` (nearest class mean) and ``mahal`` (Simple-CNAPs head) on frozen, un-FiLMed features.

    .venv/bin/python benchmarks/meta_transfer.py --variants cnaps,simple_cnaps --meta-steps 250

Results accumulate in ``--out`` (JSON, one entry per variant) so variants can be run in batches.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch

from transfergraph.adapters.datasets import fashion_mnist_available, load_digits_images, load_fashion_mnist
from transfergraph.adapters.meta import (ROTATIONS, ROTATIONS_INVERTED, ROTATIONS_LOWRES, ClassPool, CNAPsModel, make_taskset, meta_train,
                           pretrain_backbone, split_episode)

#: Every variant spells out the head options (CNAPsModel's defaults are the winning variant).
_SIMPLE = {"pooled_covariance": False, "ensemble_frozen": False}
#: name -> (CNAPsModel overrides, meta_train overrides)
VARIANTS = {
    "cnaps": ({**_SIMPLE, "head": "linear", "classifier_mode": "faithful"}, {}),
    "residual_linear": ({**_SIMPLE, "head": "linear", "classifier_mode": "residual"}, {}),
    "simple_cnaps": ({**_SIMPLE, "head": "mahalanobis"}, {}),
    "simple_cnaps_tasknorm": ({**_SIMPLE, "head": "mahalanobis", "task_norm": True}, {}),
    "simple_cnaps_strongreg": ({**_SIMPLE, "head": "mahalanobis"}, {"reg_weight": 1.0}),
    "simple_cnaps_shrink": ({**_SIMPLE, "head": "mahalanobis", "learn_shrinkage": True}, {}),
    "simple_cnaps_shrink_tasknorm": ({**_SIMPLE, "head": "mahalanobis", "learn_shrinkage": True, "task_norm": True}, {}),
    "mahal_shrink_nofilm": ({**_SIMPLE, "head": "mahalanobis", "learn_shrinkage": True, "film": False}, {}),
    "film_proto": ({**_SIMPLE, "head": "proto"}, {}),
    "simple_cnaps_pooled_lowres": ({**_SIMPLE, "head": "mahalanobis", "pooled_covariance": True},
                                   {"domains": [ROTATIONS, ROTATIONS_LOWRES]}),
    "ensemble_pooled": ({**_SIMPLE, "head": "mahalanobis", "pooled_covariance": True, "ensemble_frozen": True}, {}),
    "ensemble_pooled_lowres": ({**_SIMPLE, "head": "mahalanobis", "pooled_covariance": True, "ensemble_frozen": True},
                               {"domains": [ROTATIONS, ROTATIONS_LOWRES]}),
    "default": ({}, {}),  # CNAPsModel() and meta_train() defaults
    "simple_cnaps_lowres": ({**_SIMPLE, "head": "mahalanobis"}, {"domains": [ROTATIONS, ROTATIONS_LOWRES]}),
    "simple_cnaps_pooled": ({**_SIMPLE, "head": "mahalanobis", "pooled_covariance": True}, {}),
    "simple_cnaps_pooled_strongreg": ({**_SIMPLE, "head": "mahalanobis", "pooled_covariance": True}, {"reg_weight": 1.0}),
    "simple_cnaps_pooled_tasknorm": ({**_SIMPLE, "head": "mahalanobis", "pooled_covariance": True, "task_norm": True}, {}),
}
#: frozen-feature baselines (no FiLM) on the same backbone: name -> CNAPsModel head options
FROZEN = {"proto": {"head": "proto"}, "mahal": {"head": "mahalanobis", "pooled_covariance": False},
          "mahal_pooled": {"head": "mahalanobis", "pooled_covariance": True}}
POOLS = {"rot": ROTATIONS, "rot_inv": ROTATIONS_INVERTED}
SETTINGS = [("fmnist_6-9_4way_1shot", "fmnist", 4, 1), ("fmnist_6-9_4way_5shot", "fmnist", 4, 5),
            ("digits_5way_1shot", "digits", 5, 1), ("digits_5way_5shot", "digits", 5, 5)]
QUERIES, N_TASKS = 15, 100


def machine() -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": cpu, "loadavg": open("/proc/loadavg").read().split()[:3],
            "torch": torch.__version__, "threads": 1}


def eval_tasks(seed: int) -> dict[str, list]:
    """The fixed evaluation episodes: ``random.seed(seed)`` then a ``num_tasks=100`` Taskset per setting."""
    fx, fy = load_fashion_mnist(split="test")
    keep = fy >= 6
    pools = {"fmnist": ClassPool(fx[keep], fy[keep]), "digits": ClassPool(*load_digits_images(size=28))}
    out = {}
    for i, (name, pool, way, shot) in enumerate(SETTINGS):
        random.seed(seed + i)
        ts = make_taskset(pools[pool], way, shot + QUERIES, num_tasks=N_TASKS)
        out[name] = [split_episode(*ts[t], shot) for t in range(N_TASKS)]
    return out


def accuracy(model: CNAPsModel, episodes: list, **kwargs) -> tuple[float, float]:
    accs = []
    with torch.no_grad():
        for cx, cy, qx, qy in episodes:
            logits = model.episode_logits(cx, cy, qx, int(cy.max()) + 1, **kwargs)
            accs.append((logits.argmax(1) == qy).float().mean().item())
    a = np.asarray(accs) * 100
    return float(a.mean()), float(1.96 * a.std(ddof=1) / np.sqrt(len(a)))


def evaluate(model, tasks, **kwargs) -> tuple[dict, float]:
    t = time.perf_counter()
    res = {name: accuracy(model, eps, **kwargs) for name, eps in tasks.items()}
    return res, time.perf_counter() - t


def table(results: dict) -> str:
    """Markdown table: one row per (backbone, method), one column per setting, 'mean ± 95% half-width'."""
    cols = [name for name, *_ in SETTINGS]
    lines = ["| backbone | method | meta-train | " + " | ".join(cols) + " |", "|---" * (len(cols) + 3) + "|"]
    for key, row in results.items():
        if key.startswith("baselines/"):
            for head in FROZEN:
                if head in row:
                    cells = [f"{row[head][c][0]:.1f} ± {row[head][c][1]:.1f}" for c in cols]
                    lines.append(f"| {key.split('/', 1)[1]} | frozen {head} | — | " + " | ".join(cells) + " |")
        else:
            name, backbone, meta = key.split("/")
            h = row["meta_train"]
            cells = [f"{row['accuracy'][c][0]:.1f} ± {row['accuracy'][c][1]:.1f}" for c in cols]
            lines.append(f"| {backbone} | {name} | {h['steps']} steps, {h['seconds']:.0f} s | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default="cnaps,simple_cnaps", help=f"comma list of {sorted(VARIANTS)}")
    ap.add_argument("--pool", default="rot", choices=sorted(POOLS))
    ap.add_argument("--pretrain-steps", type=int, default=600)
    ap.add_argument("--meta-steps", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default="/tmp/transfergraph-meta-bench")
    ap.add_argument("--out", default="runs/meta_transfer_results.json")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--split-images", action="store_true",
                    help="pre-train on half of each source class's images and meta-train on the other half")
    ap.add_argument("--table", action="store_true", help="print the results in --out as a markdown table and exit")
    args = ap.parse_args()
    if args.table:
        print(table(json.loads(Path(args.out).read_text())))
        return
    if not fashion_mnist_available():
        raise SystemExit("Fashion-MNIST not found: apt-get install dataset-fashion-mnist")
    torch.set_num_threads(1)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    x, y = load_fashion_mnist(split="train")
    src = y < 6
    pool = ClassPool(x[src], y[src], POOLS[args.pool])
    pretrain_pool = pool
    if args.split_images:  # pre-train on the first half of each class's images, meta-train on the rest
        xs, ys = x[src], y[src]
        rank = np.zeros(len(ys), dtype=np.int64)
        for c in np.unique(ys):
            idx = np.flatnonzero(ys == c)
            rank[idx] = np.arange(len(idx))
        first = rank < np.bincount(ys)[ys] // 2
        pretrain_pool = ClassPool(xs[first], ys[first], POOLS[args.pool])
        pool = ClassPool(xs[~first], ys[~first], POOLS[args.pool])
    tasks = eval_tasks(args.seed + 1000)

    key = f"{args.pool}{'-split' if args.split_images else ''}-pre{args.pretrain_steps}-seed{args.seed}"
    ckpt = Path(args.cache) / f"backbone-{key}.pt"  # backbone + source head only (robust to meta-net changes)
    torch.manual_seed(args.seed)
    base = CNAPsModel(pool.n_classes)
    if ckpt.exists():
        saved = torch.load(ckpt, map_location="cpu", weights_only=True)
        base.backbone.load_state_dict(saved["backbone"])
        base.source_head.load_state_dict(saved["source_head"])
        pre = saved["pretrain"]
    else:
        pre = pretrain_backbone(base, pretrain_pool, steps=args.pretrain_steps, seed=args.seed, progress=args.progress)
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"backbone": base.backbone.state_dict(), "source_head": base.source_head.state_dict(),
                    "pretrain": pre}, ckpt)
    print(f"pretrain {key}: {pre}", flush=True)
    bkey = f"baselines/{key}"
    row = results.setdefault(bkey, {"pretrain": pre, "machine": machine()})
    for head, kw in FROZEN.items():
        if head not in row:
            frozen = CNAPsModel(pool.n_classes, **kw)
            frozen.backbone.load_state_dict(base.backbone.state_dict())
            row[head], row[f"eval_seconds_{head}"] = evaluate(frozen, tasks, use_film=False)
            out_path.write_text(json.dumps(results, indent=1))
    print(bkey, json.dumps({k: row[k] for k in FROZEN}), flush=True)

    for name in args.variants.split(","):
        model_kw, train_kw = VARIANTS[name]
        torch.manual_seed(args.seed)
        model = CNAPsModel(pool.n_classes, **model_kw)
        model.backbone.load_state_dict(base.backbone.state_dict())
        model.source_head.load_state_dict(base.source_head.state_dict())
        load = os.getloadavg()
        hist = meta_train(model, pool, steps=args.meta_steps, seed=args.seed, progress=args.progress, **train_kw)
        acc, secs = evaluate(model, tasks)
        film = [model.film_generator.stages[0].r_gamma.abs().mean().item()]
        results[f"{name}/{key}/meta{args.meta_steps}"] = {"meta_train": hist, "accuracy": acc, "eval_seconds": secs,
                                                          "loadavg_before": load, "mean_abs_r_stage0": film[0]}
        out_path.write_text(json.dumps(results, indent=1))
        print(name, json.dumps(hist), json.dumps(acc), flush=True)


if __name__ == "__main__":
    main()
