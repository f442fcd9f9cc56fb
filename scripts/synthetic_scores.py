"""A synthetic ``scores.csv`` of any size, for figures and plan tests that need no model.

Tasks come in families (``famA_00``, ``famA_01``, ...). Every task has its own model
(``<task>.cnn``, ``source_task=<task>``) and there are a few external models (``ext_0``, ...).
The normalized LEEP of source -> target is high within a family, low across families, plus seeded
noise; the raw score is ``(normalized - 1) * H(Y)`` with ``H(Y) = log(n_classes)`` (uniform labels),
so it obeys the relation between raw and normalized LEEP. No number here is a measurement.

Usage: ``python scripts/synthetic_scores.py N_TASKS OUT.csv [--models M] [--seed S]``.
"""
from __future__ import annotations

import argparse
import math
import string

import numpy as np
import pandas as pd

__all__ = ["synthetic_scores"]


def synthetic_scores(n_tasks: int, *, n_models: int = 3, seed: int = 0, family_size: int = 5) -> pd.DataFrame:
    """The score table (SPEC columns) of ``n_tasks`` tasks and ``n_tasks + n_models`` sources."""
    rng = np.random.default_rng(seed)
    fams = [string.ascii_uppercase[i // family_size % 26] for i in range(n_tasks)]
    tasks = [f"fam{f}_{i:02d}" for i, f in enumerate(fams)]
    n_classes = {t: int(rng.integers(2, 11)) for t in tasks}
    sources = [(f"{t}.cnn", t, f) for t, f in zip(tasks, fams)]
    sources += [(f"ext_{j}", "", string.ascii_uppercase[j % 26]) for j in range(n_models)]
    rows = []
    for name, task, fam in sources:
        for t, tf in zip(tasks, fams):
            if task == t:
                continue
            base = 0.55 if fam == tf else 0.12
            norm = float(np.clip(base + rng.normal(0, 0.12), 0.0, 1.0))
            h = math.log(n_classes[t])
            rows.append({"source": name, "source_task": task, "target": t, "metric": "leep",
                         "score": (norm - 1.0) * h, "normalized": norm, "n_samples": 200,
                         "n_classes": n_classes[t], "status": "ok", "error": "", "seconds": 0.0})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_tasks", type=int)
    ap.add_argument("out")
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    synthetic_scores(args.n_tasks, n_models=args.models, seed=args.seed).to_csv(args.out, index=False)
