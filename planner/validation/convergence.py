"""Fine-tuning convergence by transferability level (the LEEP paper's §5.5), as a table and a figure.

For one source and a sample of targets spread over ``n_levels`` equal-width LEEP intervals, record
test accuracy after every epoch of (a) fine-tuning the source with a new head and (b) training the
same architecture from a fresh initialisation (the reference). The paper's claim: the higher the
LEEP level, the faster fine-tuning converges and the larger its lead over the reference.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.validation.fine_tuning import FINE_TUNE_DEFAULTS, fine_tune_curve

__all__ = ["finetune_convergence", "plot_convergence", "leep_of"]


def leep_of(source: Source, task: Task) -> float:
    """LEEP of ``source`` on ``task``'s training split (softmax of the source logits, float64)."""
    from transfergraph.planner.runtime.forward import forward
    from transfergraph.planner.metrics import leep

    out = forward(source.model, task.inputs, transform=source.transform, want_features=False)
    z = out.logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    return float(leep(z - np.log(np.exp(z).sum(axis=1, keepdims=True)), task.labels, log_probs=True))


def finetune_convergence(
    source: Source,
    tasks: Sequence[Task],
    *,
    scores: Mapping[str, float] | None = None,
    n_levels: int = 5,
    per_level: int = 2,
    epochs: int = 8,
    seed: int = 0,
    **train_options: Any,
) -> pd.DataFrame:
    """Accuracy-vs-epoch curves of fine-tuning ``source`` vs training from scratch, by LEEP level.

    Parameters
    ----------
    source : Source
    tasks : sequence of Task (with test splits); candidates for the sample
    scores : dict {task name: score}, optional
        Transferability of ``source`` to each task; default: :func:`leep_of`.
    n_levels : int
        Equal-width score intervals over the candidates' scores (level 1 lowest).
    per_level : int
        Targets drawn (seeded) from each level; a level with fewer candidates gives what it has.
    epochs : int
        Epochs of both runs; ``train_options`` (lr, batch_size, weight_decay, threads, min_steps
        (default 0 here, so every curve has ``epochs`` points)) as in :func:`transfergraph.planner.validation.fine_tune`.

    Returns
    -------
    DataFrame with one row per (target, run, epoch): ``target, score, level, run`` ("fine_tune" or
    "scratch"), ``epoch`` (1-based), ``accuracy``.
    """
    train_options.setdefault("min_steps", 0)  # exactly `epochs` points per curve
    if not isinstance(source, Source):
        raise InputError(f"source of finetune_convergence() must be a Source; got {type(source).__name__}.")
    tasks = [t for t in tasks if t.name != source.task]
    if not tasks:
        raise InputError("tasks of finetune_convergence() must include a task other than the source's own.")
    for name, v in (("n_levels", n_levels), ("per_level", per_level), ("epochs", epochs)):
        check_scalar(v, name, int, caller="finetune_convergence", min_val=1)
    s = np.array([float(scores[t.name]) if scores is not None else leep_of(source, t) for t in tasks])
    lo, hi = float(s.min()), float(s.max())
    edges = np.linspace(lo, hi, n_levels + 1)
    level = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, n_levels - 1) if hi > lo else np.zeros(len(s), int)
    rng = np.random.default_rng(seed)
    picked: list[int] = []
    for k in range(n_levels):
        members = np.flatnonzero(level == k)
        if len(members):
            picked += sorted(rng.choice(members, size=min(per_level, len(members)), replace=False).tolist())
    rows = []
    for i in picked:
        task = tasks[i]
        tseed = derive_seed(seed, source.name, task.name, "convergence")
        for run, scratch in (("fine_tune", False), ("scratch", True)):
            res = fine_tune_curve(source, task, seed=tseed, from_scratch=scratch, epochs=epochs, **train_options)
            rows += [{"target": task.name, "score": float(s[i]), "level": int(level[i]) + 1, "run": run,
                      "epoch": e + 1, "accuracy": a} for e, a in enumerate(res["curve"])]
    return pd.DataFrame(rows, columns=["target", "score", "level", "run", "epoch", "accuracy"])


def plot_convergence(curves: pd.DataFrame, path: str | Path, *, metric: str = "LEEP") -> Path:
    """Two panels: mean test accuracy per epoch by level (solid: fine-tune, dashed: scratch), and the
    mean gap fine-tune − scratch per level."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4), dpi=100, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    levels = sorted(curves["level"].unique())
    cmap = colormaps["viridis"]
    for lv in levels:
        color = cmap((lv - 1) / max(1, max(levels) - 1))
        g = curves[curves["level"] == lv]
        ft = g[g["run"] == "fine_tune"].groupby("epoch")["accuracy"].mean()
        sc = g[g["run"] == "scratch"].groupby("epoch")["accuracy"].mean()
        n = g["target"].nunique()
        ax1.plot(ft.index, ft.values, color=color, label=f"level {lv} (n={n})")
        ax1.plot(sc.index, sc.values, color=color, linestyle="--")
        ax2.plot(ft.index, (ft - sc).values, color=color, marker="o", ms=3, label=f"level {lv}")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("test accuracy")
    ax1.set_title(f"fine-tune (solid) vs scratch (dashed), by {metric} level", fontsize=9)
    ax1.legend(fontsize=7)
    ax2.axhline(0, color="grey", lw=0.8)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy gain over scratch")
    ax2.set_title("fine-tune − scratch", fontsize=9)
    path = Path(path)
    fig.savefig(path)
    return path
