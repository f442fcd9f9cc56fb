"""Pre-training of the backbone and episodic meta-training of the adaptation networks.

Both run on one torch thread (the shared machine has 2 cores), under a step or wall-clock budget,
seeded: with a ``steps`` budget the result is a pure function of the inputs and the seed; a
``seconds`` budget stops after a machine-dependent number of steps.
"""
from __future__ import annotations

import contextlib
import random
import time
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from transfergraph.planner.common.arguments import check_bool, check_int_sequence, check_scalar
from transfergraph.planner.common.exceptions import InputError, TransfergraphError
from transfergraph.planner.runtime.threads import torch_threads

from transfergraph.adapters.meta.episodes import EpisodeSampler
from transfergraph.adapters.meta.model import CNAPsModel
from transfergraph.adapters.meta.pools import ClassPool

__all__ = ["pretrain_backbone", "meta_train", "single_thread", "seeded", "NonFiniteStepError"]


def single_thread() -> contextlib.AbstractContextManager[None]:
    """Run torch on one intra-op thread, then restore the previous setting (the project's one thread
    limiter, :func:`transfergraph.planner.runtime.threads.torch_threads`)."""
    return torch_threads(1)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python's ``random`` (learn2learn samples with it) and torch; restore ``random``'s state after."""
    state = random.getstate()
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


class NonFiniteStepError(TransfergraphError, FloatingPointError):
    """A training step produced a non-finite loss or gradient; the model was left as it was before it."""


def _budget(steps: int | None, seconds: float | None, name: str) -> tuple[int, float]:
    if steps is None and seconds is None:
        raise InputError(f"{name}() needs a budget: pass steps=<int> or seconds=<float>; got neither.")
    steps = check_scalar(steps, "steps", int, caller=name, min_val=1, allow_none=True)
    seconds = check_scalar(seconds, "seconds", float, caller=name, min_val=0.0, include_boundaries="neither",
                           allow_none=True)
    return (steps if steps is not None else 10**9), (seconds if seconds is not None else float("inf"))


def _check_common(caller: str, *, lr: Any, seed: Any, progress: Any) -> float:
    check_scalar(seed, "seed", int, caller=caller)
    check_bool(progress, "progress", caller=caller)
    return check_scalar(lr, "lr", float, caller=caller, min_val=0.0, include_boundaries="neither")


def _buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the floating-point buffers (batch-norm running statistics), which a forward pass
    in train mode updates before any optimizer step."""
    return {k: b.detach().clone() for k, b in model.named_buffers() if b.is_floating_point()}


def _guard_step(loss: float, params: Sequence[torch.Tensor], step: int, caller: str,
                model: torch.nn.Module, buffers: dict[str, torch.Tensor]) -> None:
    """Raise :class:`NonFiniteStepError` (before ``opt.step()``, so no parameter changes; the buffers
    saved before the step's forward passes are put back) when the loss or any gradient of ``params``
    is NaN or inf; ``step`` is 1-based, as the user counts."""
    bad_loss = not np.isfinite(loss)
    bad_grads = sum(1 for p in params if p.grad is not None and not bool(torch.isfinite(p.grad).all()))
    if bad_loss or bad_grads:
        live = dict(model.named_buffers())
        with torch.no_grad():
            for k, saved in buffers.items():
                live[k].copy_(saved)
        what = f"loss {loss!r}" if bad_loss else "a finite loss"
        raise NonFiniteStepError(
            f"{caller}() stopped at step {step}: {what} and {bad_grads} parameter tensor(s) with non-finite "
            f"gradients; the step was not applied, so the model keeps the parameters of step {step - 1}. "
            f"Check the inputs for NaN/inf, or lower lr."
        )


def _pool(data: Any, labels: Any, transforms: Sequence[str]) -> ClassPool:
    return data if isinstance(data, ClassPool) else ClassPool(data, labels, transforms)


def pretrain_backbone(model: CNAPsModel, inputs: Any, labels: Any = None, *, transforms: Sequence[str] = ("rot0",),
                      steps: int | None = None, seconds: float | None = None, batch_size: int = 128, lr: float = 2e-3,
                      seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Supervised pre-training of ``model.backbone`` + ``model.source_head`` on a class pool.

    Cross-entropy over the pool's classes (``len(transforms) * distinct labels``, which must equal
    ``model.hparams["n_source_classes"]``), Adam, mini-batches of ``batch_size`` drawn with replacement.
    ``inputs`` is (n, C, H, W) float in [0, 1] or a :class:`ClassPool` (then ``labels`` is ignored).

    Returns ``{"steps", "seconds", "loss", "train_accuracy"}`` (last 50 steps' mean loss / accuracy).
    """
    max_steps, max_seconds = _budget(steps, seconds, "pretrain_backbone")
    lr = _check_common("pretrain_backbone", lr=lr, seed=seed, progress=progress)
    batch_size = check_scalar(batch_size, "batch_size", int, caller="pretrain_backbone", min_val=1)
    pool = _pool(inputs, labels, transforms)
    if pool.n_classes != model.hparams["n_source_classes"]:
        raise InputError(f"the pool has {pool.n_classes} classes ({pool.k} labels x {len(pool.transforms)} transforms) "
                         f"but model.hparams['n_source_classes'] is {model.hparams['n_source_classes']}; build the model with that many.")
    params = list(model.backbone.parameters()) + list(model.source_head.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    losses, accs, start, step = [], [], time.perf_counter(), 0
    with single_thread(), seeded(seed):
        gen = torch.Generator().manual_seed(seed)
        bar = tqdm(total=None if steps is None else max_steps, desc="pretrain", disable=not progress, leave=False)
        model.train()
        while step < max_steps and time.perf_counter() - start < max_seconds:
            x, y = pool.batch(torch.randint(len(pool), (batch_size,), generator=gen))
            saved = _buffers(model)
            logits = model.source_head(model.backbone(x, batch_stats=True))
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            _guard_step(loss.item(), params, step + 1, "pretrain_backbone", model, saved)
            opt.step()
            losses.append(loss.item())
            accs.append((logits.argmax(1) == y).float().mean().item())
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        bar.close()
        model.eval()
    return {"steps": step, "seconds": time.perf_counter() - start,
            "loss": float(np.mean(losses[-50:])), "train_accuracy": float(np.mean(accs[-50:]))}


def meta_train(model: CNAPsModel, inputs: Any, labels: Any = None, *, transforms: Sequence[str] = ("rot0",),
               ways: Sequence[int] = (3, 4, 5), shots: Sequence[int] = (1, 5, 10), queries: int = 10,
               tasks_per_step: int = 4, lr: float = 1e-3, reg_weight: float = 1e-3, steps: int | None = None,
               seconds: float | None = None, seed: int = 0, progress: bool = True,
               domains: Sequence[Sequence[str]] | None = None) -> dict[str, Any]:
    r"""Episodic meta-training of the set encoder, FiLM generator and head generator (backbone frozen).

    Each step averages over ``tasks_per_step`` learn2learn episodes (way from ``ways``, shot from
    ``shots``, ``queries`` query images per class) the loss
    CE(query logits, query labels) + ``reg_weight`` * \sum ||r||^2, then takes one Adam step.

    ``domains``: optional list of transform lists; each makes a pool of its own (e.g. sharp and
    low-resolution rotations) and every episode is drawn from one domain, so the FiLM generator sees
    domain shifts between tasks. Default: the single domain ``transforms``.

    Integer arguments (``ways`` >= 2 and ``shots`` >= 1 element-wise, ``queries``, ``tasks_per_step``,
    ``steps`` >= 1) are checked before learn2learn is touched (bools and floats rejected).

    Returns ``{"steps", "tasks", "seconds", "loss", "train_accuracy"}`` (means over the last 50 steps).

    Raises
    ------
    InputError
        A bad argument (the message names it, what was expected and what was given).
    NonFiniteStepError
        A step's loss or a gradient is NaN/inf; raised before that step is applied, so the caller's
        model keeps the parameters of the previous step (the backbone's ``requires_grad`` flags are
        restored as well).
    """
    max_steps, max_seconds = _budget(steps, seconds, "meta_train")
    lr = _check_common("meta_train", lr=lr, seed=seed, progress=progress)
    ways = check_int_sequence(ways, "ways", caller="meta_train", min_val=2)
    shots = check_int_sequence(shots, "shots", caller="meta_train", min_val=1)
    queries = check_scalar(queries, "queries", int, caller="meta_train", min_val=1)
    tasks_per_step = check_scalar(tasks_per_step, "tasks_per_step", int, caller="meta_train", min_val=1)
    reg_weight = check_scalar(reg_weight, "reg_weight", float, caller="meta_train", min_val=0.0)
    pool = _pool(inputs, labels, transforms)
    if domains:
        pool = [pool.with_transforms(t) for t in domains]
    params = model.meta_parameters()
    backbone_flags = [(p, p.requires_grad) for p in list(model.backbone.parameters()) + list(model.source_head.parameters())]
    losses, accs, start, step = [], [], time.perf_counter(), 0
    with single_thread(), seeded(seed):
        sampler = EpisodeSampler(pool, ways, shots, queries)
        opt = torch.optim.Adam(params, lr=lr)
        for p, _ in backbone_flags:
            p.requires_grad_(False)
        model.train()
        bar = tqdm(total=None if steps is None else max_steps, desc="meta-train", disable=not progress, leave=False)
        try:
            while step < max_steps and time.perf_counter() - start < max_seconds:
                opt.zero_grad()
                saved = _buffers(model)
                loss_sum, acc_sum = 0.0, 0.0
                for _ in range(tasks_per_step):
                    way, cx, cy, qx, qy = sampler.sample()
                    logits = model.episode_logits(cx, cy, qx, way)
                    loss = (F.cross_entropy(logits, qy) + reg_weight * model.regularization()) / tasks_per_step
                    loss.backward()
                    loss_sum += loss.item()
                    acc_sum += (logits.argmax(1) == qy).float().mean().item() / tasks_per_step
                _guard_step(loss_sum, params, step + 1, "meta_train", model, saved)
                opt.step()
                losses.append(loss_sum)
                accs.append(acc_sum)
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", acc=f"{np.mean(accs[-50:]):.3f}")
        finally:
            bar.close()
            for p, flag in backbone_flags:
                p.requires_grad_(flag)
            model.eval()
    return {"steps": step, "tasks": step * tasks_per_step, "seconds": time.perf_counter() - start,
            "loss": float(np.mean(losses[-50:])) if losses else float("nan"),
            "train_accuracy": float(np.mean(accs[-50:])) if accs else float("nan")}
