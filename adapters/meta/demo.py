"""A cheap, deterministic pre-train + meta-train recipe for the demo config (seconds on one core)."""
from __future__ import annotations

from typing import Any

import torch

from transfergraph.planner.common.arguments import check_bool, check_scalar
from transfergraph.planner.common.exceptions import InputError

from transfergraph.adapters.meta.model import CNAPsModel
from transfergraph.adapters.meta.pools import ROTATIONS, ClassPool
from transfergraph.adapters.meta.training import meta_train, pretrain_backbone

__all__ = ["train_demo_meta_model", "DEMO_PRETRAIN_STEPS", "DEMO_META_STEPS"]

DEMO_PRETRAIN_STEPS = 250
DEMO_META_STEPS = 60


def train_demo_meta_model(pool_x: Any, pool_y: Any, *, pretrain_steps: int = DEMO_PRETRAIN_STEPS,
                          meta_steps: int = DEMO_META_STEPS, seconds: float | None = None, seed: int = 0,
                          progress: bool = False, **model_kwargs: Any) -> CNAPsModel:
    """Pre-train a backbone and meta-train a :class:`CNAPsModel` on a small image pool.

    The pool (float32 (n, C, H, W) in [0, 1], int labels; e.g. sklearn digits at 16x16) is widened
    with the four right-angle rotations as extra classes. With step budgets (the default) the
    result depends only on the data and ``seed``.
    ``seconds`` instead caps the total wall time (60% pre-training, 40% meta-training), which is
    faster on slow machines but no longer deterministic. ``model_kwargs`` go to :class:`CNAPsModel`.
    """
    check_scalar(seconds, "seconds", float, caller="train_demo_meta_model", min_val=0, include_boundaries="neither",
                 allow_none=True)
    for name, value in (("pretrain_steps", pretrain_steps), ("meta_steps", meta_steps)):
        check_scalar(value, name, int, caller="train_demo_meta_model", min_val=1)
    check_scalar(seed, "seed", int, caller="train_demo_meta_model")
    check_bool(progress, "progress", caller="train_demo_meta_model")
    pool = ClassPool(pool_x, pool_y, ROTATIONS)
    if pool.k < 2:
        raise InputError(f"pool_y of train_demo_meta_model must hold at least 2 classes; got {pool.k}.")
    smallest = min(len(v) for v in pool.labels_to_indices.values())
    shots = tuple(s for s in (1, 5) if s + 5 <= smallest) or (1,)
    queries = max(1, min(5, smallest - max(shots)))
    ways = tuple(w for w in (3, 4, 5) if w <= pool.n_classes) or (2,)
    torch.manual_seed(seed)
    model = CNAPsModel(pool.n_classes, in_channels=pool.x.shape[1], **model_kwargs)
    budget = {"steps": pretrain_steps} if seconds is None else {"seconds": 0.6 * seconds}
    pretrain_backbone(model, pool, seed=seed, progress=progress, **budget)
    budget = {"steps": meta_steps} if seconds is None else {"seconds": 0.4 * seconds}
    meta_train(model, pool, ways=ways, shots=shots, queries=queries, seed=seed, progress=progress, **budget)
    return model
