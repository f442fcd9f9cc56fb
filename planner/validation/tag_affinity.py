"""TAG lookahead inter-task affinity, measured during one multitask training run on the shared trunk.

Fifty et al., "Efficiently Identifying Task Groupings for Multi-Task Learning", NeurIPS 2021 (TAG):
at step t of training a hard-sharing network with shared parameters theta_s and heads theta_j, take for
each task i a lookahead SGD step of the shared parameters on task i's loss alone,

    theta_{s|i} = theta_s - eta * grad_{theta_s} L_i(X^t; theta_s, theta_i),

and record, for every task j, how much that step lowers j's loss on the same batch X^t:

    Z^t(i -> j) = 1 - L_j(X^t; theta_{s|i}, theta_j) / L_j(X^t; theta_s, theta_j).

The affinity is the mean of Z^t over the steps at which it was measured (every ``every``-th step). A
positive Z(i -> j) says that a step for task i also helps task j; zero, that i's gradient does not move
j's loss (e.g. a task whose gradient vanishes); negative, that it hurts j. The paper's definition is used
unscaled (the authors' code divides by eta; rank statistics do not change).

:func:`lookahead_affinity` is one step's Z (a pure function of the trunk, heads and batch: it leaves the
weights, their gradients and the BatchNorm running statistics unchanged; BatchNorm layers in training
mode normalise with the batch's own statistics, as in the training step). :func:`tag_affinity` runs the
project's group trainer (:func:`~transfergraph.planner.validation.multitask.train_group`, equal
per-task budget, same seeds and batch streams as the ground-truth networks) and measures Z inside it:
the trained network is bit-for-bit the one ``train_group`` trains without the measurement, and the run
is deterministic for a given seed.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget

__all__ = ["lookahead_affinity", "tag_affinity", "TagAffinity"]


def lookahead_affinity(body, heads: Sequence, xb, targets: Sequence, *, lr: float) -> np.ndarray:
    """One step's TAG affinity Z (n, n): Z[i, j] = 1 - L_j(theta_s - lr grad L_i) / L_j(theta_s).

    Parameters
    ----------
    body : torch.nn.Module, the shared trunk (its mode is kept: in training mode BatchNorm uses the
        batch's statistics); heads : n modules, head j maps trunk features to task j's logits;
    xb : tensor (sum_j b_j, ...), the concatenated batch, task j's b_j rows in the order of ``heads``;
    targets : n int64 tensors, task j's class codes (length b_j); lr : the lookahead step size eta > 0.

    L_j is the mean cross-entropy of head j on its rows; the gradient is taken with respect to the
    trunk's parameters only (heads stay fixed, as in the paper). Z[i, j] = 0 where L_j(theta_s) = 0
    (no loss left to change). Computed with ``torch.func.functional_call`` on detached copies: the
    modules' parameters, ``.grad`` and buffers are not touched.

    Raises InputError: fewer than 2 heads, ``targets`` not one per head, rows of ``xb`` not equal to
    the targets' total length, ``lr`` not a finite float > 0.
    """
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call

    lr = check_scalar(lr, "lr", float, caller="lookahead_affinity", min_val=0, include_boundaries="neither")
    if not math.isfinite(lr):
        raise InputError(f"lr of lookahead_affinity() must be a finite float > 0; got {lr!r}.")
    heads, targets = list(heads), list(targets)
    if len(heads) < 2 or len(targets) != len(heads):
        raise InputError(f"heads and targets of lookahead_affinity() must be >= 2 and one target per head; got "
                         f"{len(heads)} heads and {len(targets)} targets.")
    sizes = [int(len(y)) for y in targets]
    if min(sizes) < 1 or int(xb.shape[0]) != sum(sizes):
        raise InputError(f"xb of lookahead_affinity() must hold the tasks' rows back to back ({sum(sizes)} rows for "
                         f"target lengths {sizes}, none empty); got {int(xb.shape[0])} rows.")
    theta = {k: p.detach().clone().requires_grad_(True) for k, p in body.named_parameters()}
    buffers = dict(body.named_buffers())

    def losses(params):
        fresh = {k: b.clone() for k, b in buffers.items()}  # BatchNorm may update its running stats in place
        feats = functional_call(body, (params, fresh), (xb,)).split(sizes)
        return [F.cross_entropy(h(f), y) for h, f, y in zip(heads, feats, targets)]

    base = losses(theta)
    before = torch.stack([v.detach() for v in base]).double()
    n, out = len(heads), np.zeros((len(heads), len(heads)))
    keys = list(theta)
    for i in range(n):
        grads = torch.autograd.grad(base[i], [theta[k] for k in keys], retain_graph=i < n - 1, allow_unused=True)
        with torch.no_grad():
            stepped = {k: theta[k].detach() - lr * g if g is not None else theta[k].detach() for k, g in zip(keys, grads)}
            after = torch.stack(losses(stepped)).double()
        z = torch.where(before > 0, 1.0 - after / torch.where(before > 0, before, torch.ones_like(before)),
                        torch.zeros_like(before))
        out[i] = z.numpy()
    return out


@dataclass(frozen=True)
class TagAffinity:
    """TAG affinities of one multitask run.

    tasks : member names (sorted); affinity : (n, n), affinity[i, j] = mean over measured steps of
    Z(tasks[i] -> tasks[j]); steps : how many steps were averaged; lookahead_lr : eta; rows : the group
    network's own rows (:data:`~transfergraph.planner.validation.multitask.SUBSET_COLUMNS`, at its
    selected checkpoint); cpu_seconds : process CPU time of the whole run (training + lookaheads).
    """

    tasks: tuple[str, ...]
    affinity: np.ndarray
    steps: int
    lookahead_lr: float
    rows: tuple[dict, ...]
    cpu_seconds: float

    def frame(self) -> pd.DataFrame:
        """Long table: one row per ordered pair (source, target), source != target, column ``affinity``."""
        return pd.DataFrame([{"source": a, "target": b, "affinity": float(self.affinity[i, j])}
                             for i, a in enumerate(self.tasks) for j, b in enumerate(self.tasks) if i != j])


def tag_affinity(data: Sequence[TaskArrays], members: Sequence[str] | None = None, *, seed: int, budget: TrainBudget,
                 trunk: Callable[[], object], every: int = 1, lookahead_lr: float | None = None) -> TagAffinity:
    """TAG affinities from one multitask run of ``members`` (default: every task of ``data``).

    Trains the group network exactly as
    :func:`~transfergraph.planner.validation.multitask.train_group` does (seed, budget, trunk) and, at
    steps 0, ``every``, 2 ``every``, ... before each update, adds :func:`lookahead_affinity` of that
    step's batch with eta = ``lookahead_lr`` (default ``budget.lr``, the training step size); returns
    the mean. Cost: per measured step, one forward, n backward and n forward passes of the trunk on
    top of the training step.

    Raises InputError: fewer than 2 members, a member not in ``data`` or repeated, ``every`` not an int
    >= 1, ``lookahead_lr`` not a finite float > 0, ``budget`` not a TrainBudget.
    """
    from transfergraph.planner.validation.multitask import train_group

    every = check_scalar(every, "every", int, caller="tag_affinity", min_val=1)
    if not isinstance(budget, TrainBudget):
        raise InputError(f"budget of tag_affinity() must be a TrainBudget; got {type(budget).__name__}.")
    lr = budget.lr if lookahead_lr is None else check_scalar(lookahead_lr, "lookahead_lr", float, caller="tag_affinity",
                                                              min_val=0, include_boundaries="neither")
    if not math.isfinite(lr):
        raise InputError(f"lookahead_lr of tag_affinity() must be a finite float > 0; got {lr!r}.")
    if not data or not all(isinstance(t, TaskArrays) for t in data):
        raise InputError("data of tag_affinity() must be a non-empty sequence of TaskArrays.")
    names = [t.name for t in data] if members is None else [str(m) for m in members]
    unknown = sorted(set(names) - {t.name for t in data})
    if len(names) < 2 or len(set(names)) != len(names) or unknown:
        raise InputError(f"members of tag_affinity() must be >= 2 distinct task names of data; got {list(names)!r}"
                         + (f" (unknown {unknown})" if unknown else "") + ".")
    tasks = tuple(sorted(names))
    total, count = np.zeros((len(tasks), len(tasks))), [0]

    def measure(step, body, heads, xb, targets):
        if step % every == 0:
            total[:] += lookahead_affinity(body, heads, xb, targets, lr=lr)
            count[0] += 1

    t0 = time.process_time()
    rows, _ = train_group(data, tasks, seed=seed, budget=budget, trunk=trunk, on_step=measure)
    cpu = time.process_time() - t0
    return TagAffinity(tasks, total / count[0], count[0], float(lr), tuple(rows), cpu)
