"""Multitask ground truth for the grouping decision: one hard-sharing network per group, every subset.

:func:`train_group` trains a shared trunk with one head per member task under an equal per-task
budget (each of S steps draws b examples of **every** member, concatenated into one batch so that
BatchNorm sees the same mixture in training and evaluation; the loss is the plain mean of the
members' cross-entropies; Adam). It keeps the checkpoint with the lowest mean validation loss among
``budget.n_evals`` evaluations and reports every member's val/test accuracy and loss. Every task
therefore sees S*b of its own examples whatever its group, so every partition costs the same
training compute and a partition's realized value is a look-up in :func:`subset_table` (Standley et
al., "Which tasks should be learned together in multi-task learning?", ICML 2020: exhaustive
training of all subsets).
"""
from __future__ import annotations

import copy
import json
import time
from itertools import combinations
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.io import atomic_write_text
from transfergraph.planner.validation._common import seeded_torch, torch_threads
from transfergraph.planner.runtime.checkpoints import load_weights
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget, accuracy_and_loss, arrays_key, batch_stream, make_trunk, new_head

__all__ = ["train_group", "subset_table", "SUBSET_COLUMNS", "subset_name"]

SUBSET_COLUMNS = ["seed", "subset", "task", "val_acc", "val_loss", "test_acc", "test_loss", "steps", "cpu_seconds"]


def subset_name(members: Sequence[str]) -> str:
    """Canonical name of a group: its sorted task names joined by '+'."""
    return "+".join(sorted(members))


def _mean_val_loss(body, heads, members) -> float:
    return sum(accuracy_and_loss(body, heads[i], t.val_x, t.val_y)[1] for i, t in enumerate(members)) / len(members)


def train_group(data: Sequence[TaskArrays], members: Sequence[str], *, seed: int, budget: TrainBudget,
                trunk: Callable[[], object], keep_model: bool = False, on_step: Callable[..., None] | None = None):
    """Train one group network on ``members`` (names in ``data``); returns (rows, model or None).

    rows : one dict per member with :data:`SUBSET_COLUMNS`; model : ``(trunk, {task: head})`` at the
    selected checkpoint when ``keep_model``. ``on_step(step, body, heads, xb, targets)``, when given, is
    called at every step (0-based) before the optimizer's update, with the trunk, the heads (members in
    sorted order), the concatenated batch (``budget.batch`` rows per member, in that order) and the
    members' label codes; it must leave the weights, gradients and BatchNorm buffers as it found them
    (e.g. :mod:`~transfergraph.planner.validation.tag_affinity` measures the lookahead affinity there).

    Raises InputError: empty group or a name not in ``data``.
    """
    import torch
    import torch.nn.functional as F

    by_name = {t.name: t for t in data}
    unknown = [m for m in members if m not in by_name]
    if not members or unknown:
        raise InputError(f"members of train_group must be a non-empty list of task names in data; got unknown {unknown or members!r}.")
    group = [by_name[m] for m in sorted(members)]
    t0 = time.process_time()
    with torch_threads(1):
        body, dim = make_trunk(trunk, seed, group[0].train_x)
        heads = [new_head(seed, t, dim) for t in group]
        params = list(body.parameters()) + [p for h in heads for p in h.parameters()]
        opt = torch.optim.Adam(params, lr=budget.lr, weight_decay=budget.weight_decay)
        streams = [batch_stream(seed, t.name, len(t.train_y), budget.batch, budget.steps) for t in group]
        evals, best, best_loss = set(budget.eval_steps()), None, float("inf")
        body.train()
        for step in range(budget.steps):
            xb = torch.cat([t.train_x[s[step]] for t, s in zip(group, streams)])
            if on_step is not None:
                on_step(step, body, heads, xb, [t.train_y[s[step]] for t, s in zip(group, streams)])
            feats = body(xb).split(budget.batch)
            loss = sum(F.cross_entropy(h(f), t.train_y[s[step]]) for h, f, t, s in zip(heads, feats, group, streams))
            opt.zero_grad()
            (loss / len(group)).backward()
            opt.step()
            if step + 1 in evals:
                v = _mean_val_loss(body, heads, group)
                if v < best_loss:
                    best_loss, best = v, (copy.deepcopy(body.state_dict()), [copy.deepcopy(h.state_dict()) for h in heads])
        body.load_state_dict(best[0])
        for h, s in zip(heads, best[1]):
            h.load_state_dict(s)
        body.eval()
        rows = []
        for h, t in zip(heads, group):
            va, vl = accuracy_and_loss(body, h, t.val_x, t.val_y)
            ta, tl = accuracy_and_loss(body, h, t.test_x, t.test_y)
            rows.append({"seed": int(seed), "subset": subset_name(members), "task": t.name, "val_acc": va,
                         "val_loss": vl, "test_acc": ta, "test_loss": tl, "steps": budget.steps})
    cpu = time.process_time() - t0
    for r in rows:
        r["cpu_seconds"] = cpu
    model = (body, {t.name: h for t, h in zip(group, heads)}) if keep_model else None
    return rows, model


def _singleton_path(cache: Path, name: str) -> Path:
    return cache / f"single-{name}.pt"


def subset_table(data: Sequence[TaskArrays], *, seed: int, budget: TrainBudget, trunk: Callable[[], object],
                 cache: str | Path | None = None, log: Callable[[str], None] | None = None,
                 max_size: int | None = None):
    """Train every non-empty subset (of size <= ``max_size``) for one seed; returns (table, singles).

    table : DataFrame with :data:`SUBSET_COLUMNS`, one row per (subset, member task), subsets in
    size-then-name order; singles : ``{task: nn.Sequential(trunk, head)}``, the singleton networks
    (the per-task models the planner scores). With ``cache`` (a folder), each finished subset is
    written to ``cache/<key>/`` at once and read back by a later call with the same tensors, seed,
    budget and trunk, so an interrupted run resumes.
    """
    import torch
    from torch import nn

    log = log or (lambda _m: None)
    names = sorted(t.name for t in data)
    if len(set(names)) != len(names):
        raise InputError(f"task names in data must be distinct; got {names}.")
    top = len(names) if max_size is None else min(max_size, len(names))
    folder = None
    if cache is not None:
        with seeded_torch(0):
            described = repr(trunk())
        folder = Path(cache) / arrays_key(data, budget, described, seed)
        folder.mkdir(parents=True, exist_ok=True)
    rows, singles = [], {}
    for size in range(1, top + 1):
        for members in combinations(names, size):
            path = folder / f"{subset_name(members)}.json" if folder is not None else None
            if path is not None and path.is_file() and (size > 1 or _singleton_path(folder, members[0]).is_file()):
                got = json.loads(path.read_text())
                if size == 1:
                    body, dim = make_trunk(trunk, seed, data[0].train_x)
                    head = nn.Linear(dim, next(t.n_classes for t in data if t.name == members[0]))
                    net = nn.Sequential(body, head)
                    net.load_state_dict(load_weights(_singleton_path(folder, members[0])))
                    singles[members[0]] = net.eval()
            else:
                log(f"seed {seed}: training group {subset_name(members)}")
                got, model = train_group(data, members, seed=seed, budget=budget, trunk=trunk, keep_model=size == 1)
                if size == 1:
                    singles[members[0]] = nn.Sequential(model[0], model[1][members[0]]).eval()
                    if folder is not None:
                        torch.save(singles[members[0]].state_dict(), _singleton_path(folder, members[0]))
                if path is not None:
                    atomic_write_text(path, json.dumps(got))
            rows.extend(got)
    return pd.DataFrame(rows, columns=SUBSET_COLUMNS), singles
