"""Continual-learning ground truth for the curriculum decision: every order of the tasks, via a prefix trie.

Learner (task-incremental, one shared trunk, one head per task): when task t arrives it gets a new
head (seeded by (s, t)) and a fresh Adam; S steps on t's own stream (seeded by (s, t)) train the trunk
and that head; earlier heads are left untouched ("naive fine-tuning"). The replay variant keeps
``budget.replay`` training examples of every past task (chosen by (s, task)) and adds, each step, a
batch of b examples drawn uniformly from that buffer (draws seeded by (s, prefix)), each through its
own task's head; the loss is current CE + replay CE.

Training a prefix is then a deterministic function of (seed, prefix), so all n! orders are trained as a
depth-first walk over the prefix trie (sum_j n!/(n-j)! stages instead of n * n!), keeping only the
states on the current path; :func:`train_order` trains one order from scratch, which the trie must
reproduce bit for bit. At every stage the test and val accuracy of every task seen so far are
recorded (a row of the accuracy matrix R of Lopez-Paz & Ranzato, "Gradient Episodic Memory for
Continual Learning", NeurIPS 2017), with the mean test and val cross-entropy beside them, plus the
current task's test accuracy at ``budget.n_evals`` points of its stage (learning curve).
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.io import atomic_write_text
from transfergraph.planner.validation._common import pair_seed, seeded_torch, torch_threads
from transfergraph.planner.validation._training_core import TaskArrays, TrainBudget, accuracy_and_loss, arrays_key, batch_stream, make_trunk, new_head

__all__ = ["orders_table", "train_order", "ORDER_COLUMNS"]

ORDER_COLUMNS = ["seed", "learner", "prefix", "stage", "task", "test_acc", "val_acc", "curve", "cpu_seconds",
                 "test_loss", "val_loss"]
SEP = ">"


def _buffer(seed: int, t: TaskArrays, size: int) -> np.ndarray:
    rng = np.random.default_rng(pair_seed(seed, "buffer", t.name))
    return np.sort(rng.permutation(len(t.train_y))[:size])


def _stage(state, t: TaskArrays, prefix: tuple[str, ...], by_name, *, seed, budget, replay, dim):
    """Train task t on top of ``state`` = (trunk, {task: head}) in place; returns the curve (test acc)."""
    import torch
    import torch.nn.functional as F

    body, heads = state
    heads[t.name] = new_head(seed, t, dim)
    opt = torch.optim.Adam(list(body.parameters()) + list(heads[t.name].parameters()), lr=budget.lr,
                           weight_decay=budget.weight_decay)
    stream = batch_stream(seed, t.name, len(t.train_y), budget.batch, budget.steps)
    past = [by_name[p] for p in prefix[:-1]] if replay else []
    if past:
        bufs = [_buffer(seed, u, budget.replay) for u in past]
        owner = np.concatenate([np.full(len(b), k) for k, b in enumerate(bufs)])
        where = np.concatenate(bufs)
        draws = np.random.default_rng(pair_seed(seed, "replay", *prefix)).integers(len(where), size=(budget.steps, budget.batch))
    evals, curve = set(budget.eval_steps()), []
    body.train()
    for step in range(budget.steps):
        xs, ys, us = [t.train_x[stream[step]]], [], []
        if past:
            sel = np.sort(draws[step])
            for k, u in enumerate(past):
                idx = where[sel[owner[sel] == k]]
                if len(idx):
                    xs.append(u.train_x[idx])
                    ys.append(u.train_y[idx])
                    us.append(u.name)
        feats = body(torch.cat(xs) if len(xs) > 1 else xs[0])
        loss = F.cross_entropy(heads[t.name](feats[:budget.batch]), t.train_y[stream[step]])
        if us:
            parts = feats[budget.batch:].split([len(y) for y in ys])
            replay_loss = sum(F.cross_entropy(heads[u](f), y, reduction="sum") for u, f, y in zip(us, parts, ys))
            loss = loss + replay_loss / budget.batch
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step + 1 in evals:
            curve.append(accuracy_and_loss(body, heads[t.name], t.test_x, t.test_y)[0])
    body.eval()
    return curve


def _rows(state, prefix, by_name, seed, learner, curve, cpu):
    body, heads = state
    rows = []
    for name in prefix:
        u = by_name[name]
        ta, tl = accuracy_and_loss(body, heads[name], u.test_x, u.test_y)
        va, vl = accuracy_and_loss(body, heads[name], u.val_x, u.val_y)
        rows.append({"seed": int(seed), "learner": learner, "prefix": SEP.join(prefix), "stage": len(prefix),
                     "task": name, "test_acc": ta, "val_acc": va,
                     "curve": json.dumps(curve) if name == prefix[-1] else "", "cpu_seconds": cpu,
                     "test_loss": tl, "val_loss": vl})
    return rows


def _check(data, names):
    known = {t.name for t in data}
    if len(known) != len(data) or not names or any(n not in known for n in names) or len(set(names)) != len(names):
        raise InputError(f"orders must list distinct task names of data {sorted(known)}; got {list(names)!r}.")


def train_order(data: Sequence[TaskArrays], order: Sequence[str], *, seed: int, budget: TrainBudget,
                trunk: Callable[[], object], replay: bool = False) -> pd.DataFrame:
    """Train one order from scratch; returns its :data:`ORDER_COLUMNS` rows (one per stage x seen task)."""
    _check(data, order)
    by_name = {t.name: t for t in data}
    learner = "replay" if replay else "naive"
    rows = []
    with torch_threads(1):
        body, dim = make_trunk(trunk, seed, data[0].train_x)
        state = (body, {})
        for k in range(len(order)):
            t0 = time.process_time()
            curve = _stage(state, by_name[order[k]], tuple(order[:k + 1]), by_name, seed=seed, budget=budget,
                           replay=replay, dim=dim)
            rows += _rows(state, tuple(order[:k + 1]), by_name, seed, learner, curve, time.process_time() - t0)
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def _walk(state, prefix, by_name, names, kw, rows, learner, max_depth):
    for name in names:
        if name in prefix:
            continue
        child = copy.deepcopy(state)
        t0 = time.process_time()
        p = prefix + (name,)
        curve = _stage(child, by_name[name], p, by_name, **kw)
        rows += _rows(child, p, by_name, kw["seed"], learner, curve, time.process_time() - t0)
        if len(p) < max_depth:
            _walk(child, p, by_name, names, kw, rows, learner, max_depth)


def orders_table(data: Sequence[TaskArrays], *, seed: int, budget: TrainBudget, trunk: Callable[[], object],
                 replay: bool = False, cache: str | Path | None = None,
                 log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Every order of ``data``'s tasks for one seed through the prefix trie; :data:`ORDER_COLUMNS` rows.

    One row per (prefix, task seen so far); the rows of the full-length prefixes give each order's
    accuracy matrix. With ``cache``, each first task's subtree is written as one CSV when finished.
    Raises InputError: duplicate task names or more than 7 tasks (7! orders is the practical limit).
    """
    names = [t.name for t in data]
    _check(data, names)
    if len(names) > 7:
        raise InputError(f"orders_table enumerates n! orders; use at most 7 tasks, got {len(names)}.")
    by_name = {t.name: t for t in data}
    learner = "replay" if replay else "naive"
    folder = None
    if cache is not None:
        with seeded_torch(0):
            described = repr(trunk())
        folder = Path(cache) / arrays_key(data, budget, described, seed, learner)
        folder.mkdir(parents=True, exist_ok=True)
    parts = []
    with torch_threads(1):
        for first in names:
            path = folder / f"{first}.csv" if folder is not None else None
            if path is not None and path.is_file():
                parts.append(pd.read_csv(path, keep_default_na=False,  # task names as written ("001" stays "001")
                                         dtype={"learner": str, "prefix": str, "task": str, "curve": str}))
                continue
            if log:
                log(f"seed {seed} {learner}: orders starting with {first}")
            body, dim = make_trunk(trunk, seed, data[0].train_x)
            rows: list[dict] = []
            kw = {"seed": seed, "budget": budget, "replay": replay, "dim": dim}
            _first_subtree(body, first, by_name, names, kw, rows, learner)
            part = pd.DataFrame(rows, columns=ORDER_COLUMNS)
            if path is not None:
                atomic_write_text(path, part.to_csv(index=False))
            parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    table["curve"] = table["curve"].astype(str)
    return table


def _first_subtree(body, first, by_name, names, kw, rows, learner):
    state = (body, {})
    t0 = time.process_time()
    curve = _stage(state, by_name[first], (first,), by_name, **kw)
    rows += _rows(state, (first,), by_name, kw["seed"], learner, curve, time.process_time() - t0)
    if len(names) > 1:
        _walk(state, (first,), by_name, names, kw, rows, learner, len(names))
