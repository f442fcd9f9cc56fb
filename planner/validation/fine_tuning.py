"""Transfer by fine-tuning: a copy of the whole source network with a new head, trained with Adam.

The LEEP paper's second transfer method (Nguyen et al., ICML 2020, §5): every weight of the source
network is updated on the target's training split, starting from the source weights; only the last
``nn.Linear`` is replaced by a freshly initialised one with one output per target class.
:func:`fine_tune_curve` also records the test accuracy after every epoch, optionally from a
re-initialised network (the "from scratch" reference of the paper's §5.5).
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable

import numpy as np

from transfergraph.planner.common.arguments import check_bool, check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.inputs.task import Source, Task
from transfergraph.planner.runtime.epochs import run_epochs
from transfergraph.planner.validation._common import encode, evaluate_codes, require_test_split, seeded_torch, torch_threads, transformed

__all__ = ["FINE_TUNE_DEFAULTS", "effective_epochs", "replace_head", "reinitialize", "train_epochs", "fine_tune",
           "fine_tune_curve"]

#: Default budget: epochs of Adam over the training split, raised on small targets so that at
#: least ``min_steps`` optimizer steps happen (a 60-sample target gives one batch per epoch).
#: The new head learns at ``head_lr`` (default 10 x ``lr``, the usual recipe for a freshly initialised
#: layer): with one rate, ~100 Adam steps leave a random head far from converged on frozen-quality features.
FINE_TUNE_DEFAULTS = {"epochs": 5, "min_steps": 100, "lr": 1e-3, "head_lr": None, "batch_size": 32,
                      "weight_decay": 0.0}


def effective_epochs(n: int, epochs: int, min_steps: int, batch_size: int) -> int:
    """``max(epochs, ceil(min_steps / batches per epoch))`` for ``n`` training samples."""
    per_epoch = max(1, n // batch_size + (1 if n % batch_size >= 2 else 0))
    return max(int(epochs), -(-int(min_steps) // per_epoch))


def last_linear(net: Any) -> Any:
    """The last ``nn.Linear`` of ``net`` in module order (the head), or None."""
    import torch.nn as nn

    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    return linears[-1] if linears else None


def replace_head(model: Any, n_classes: int, *, seed: int) -> Any:
    """A deep copy of ``model`` whose last ``nn.Linear`` maps to ``n_classes`` outputs (seeded init)."""
    import torch.nn as nn

    net = copy.deepcopy(model)
    linears = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise InputError(
            f"model of fine_tune() must contain an nn.Linear head to replace; {type(model).__name__} has none."
        )
    name, old = linears[-1]
    parent = net.get_submodule(name.rpartition(".")[0]) if "." in name else net
    with seeded_torch(seed):
        new = nn.Linear(old.in_features, n_classes, bias=old.bias is not None)
    new = new.to(device=old.weight.device, dtype=old.weight.dtype)
    setattr(parent, name.rpartition(".")[2], new)
    return net


def reinitialize(model: Any, *, seed: int) -> Any:
    """A deep copy of ``model`` with every submodule's ``reset_parameters()`` called (seeded)."""
    net = copy.deepcopy(model)
    with seeded_torch(seed):
        for m in net.modules():
            if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
                m.reset_parameters()
    return net


def _device(net: Any) -> Any:
    import torch

    for p in net.parameters():
        return p.device
    return torch.device("cpu")


def _predict(net: Any, x: Any, batch_size: int = 512) -> np.ndarray:
    import torch

    net.eval()
    with torch.no_grad():
        out = [net(x[i:i + batch_size].to(_device(net))).argmax(1).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy().astype(np.int64)


def train_epochs(
    net: Any,
    x: Any,
    y: Any,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float,
    seed: int,
    head_lr: float | None = None,
    on_epoch: Callable[[int, Any], None] | None = None,
) -> list[float]:
    """Adam + cross-entropy on (x, y) for ``epochs`` seeded epochs; returns the mean loss per epoch.

    Parameters
    ----------
    net : nn.Module, (b, ...) -> logits (b, K)
    x : torch.Tensor, shape (n, ...), float32
    y : torch.Tensor of int64, shape (n,), values in [0, K)
    head_lr : float, optional
        Learning rate of the last ``nn.Linear`` (default: ``10 * lr``); the rest uses ``lr``.
    on_epoch : callable(epoch, net), optional
        Called after each epoch (1-based) with the network (left in train mode afterwards).

    Batches are a seeded permutation; a last batch of one sample is skipped (BatchNorm needs two).
    """
    import torch
    from torch import nn

    gen = torch.Generator().manual_seed(int(seed))
    head = last_linear(net)
    head_ids = {id(p) for p in head.parameters()} if head is not None else set()
    groups = [{"params": [p for p in net.parameters() if id(p) not in head_ids], "lr": lr}]
    if head_ids:
        groups.append({"params": list(head.parameters()), "lr": 10 * lr if head_lr is None else head_lr})
    opt = torch.optim.Adam([g for g in groups if g["params"]], lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    device = _device(net)
    with seeded_torch(seed):  # dropout and other in-model randomness
        history = run_epochs(net, x, y, optimizer=opt, loss_fn=loss_fn, generator=gen, epochs=epochs,
                             batch_size=batch_size, device=device, on_epoch=on_epoch)
    net.eval()
    return history


def _check_budget(epochs: Any, lr: Any, batch_size: Any, min_steps: Any, head_lr: Any, weight_decay: Any) -> None:
    check_scalar(epochs, "epochs", int, caller="fine_tune", min_val=1)
    check_scalar(min_steps, "min_steps", int, caller="fine_tune", min_val=0)
    check_scalar(batch_size, "batch_size", int, caller="fine_tune", min_val=2)
    check_scalar(lr, "lr", float, caller="fine_tune", min_val=0, include_boundaries="neither")
    check_scalar(head_lr, "head_lr", float, caller="fine_tune", min_val=0, include_boundaries="neither", allow_none=True)
    check_scalar(weight_decay, "weight_decay", float, caller="fine_tune", min_val=0)


def fine_tune(
    source: Source,
    task: Task,
    *,
    seed: int = 0,
    epochs: int = FINE_TUNE_DEFAULTS["epochs"],
    min_steps: int = FINE_TUNE_DEFAULTS["min_steps"],
    lr: float = FINE_TUNE_DEFAULTS["lr"],
    head_lr: float | None = FINE_TUNE_DEFAULTS["head_lr"],
    batch_size: int = FINE_TUNE_DEFAULTS["batch_size"],
    weight_decay: float = FINE_TUNE_DEFAULTS["weight_decay"],
    threads: int | None = 1,
) -> dict[str, Any]:
    """Fine-tune a copy of ``source.model`` (new head) on ``task``'s training split; test on its test split.

    Every parameter is trained with Adam(lr, weight_decay) (the new head with ``head_lr``,
    default 10 x lr) for ``epochs`` epochs of seeded
    mini-batches of cross-entropy, or more on a small target so that at least ``min_steps``
    optimizer steps happen (:func:`effective_epochs`); ``Source.transform`` is applied to the
    inputs first. The source model itself is not modified.

    Returns
    -------
    dict(accuracy, f1, seconds, n_train, n_test, n_classes, status="ok", error="").

    Raises
    ------
    InputError
        A task without a test split, a model without an ``nn.Linear`` head, or a budget option of
        the wrong type or range (ints >= 1, ``batch_size`` >= 2, rates > 0; bools refused).
    """
    budget = dict(epochs=epochs, min_steps=min_steps, lr=lr, head_lr=head_lr, batch_size=batch_size,
                  weight_decay=weight_decay, threads=threads)
    out = _fine_tune_run(source, task, seed=seed, from_scratch=False, per_epoch=False, **budget)
    return {k: out[k] for k in ("accuracy", "f1", "seconds", "n_train", "n_test", "n_classes")} | {
        "status": "ok", "error": ""}


def fine_tune_curve(source: Source, task: Task, *, seed: int = 0, from_scratch: bool = False,
                    **budget: Any) -> dict[str, Any]:
    """Fine-tune (or train from scratch) and record test accuracy and macro F1 after every epoch.

    ``budget`` takes :func:`fine_tune`'s keyword options (``epochs``, ``min_steps``, ``lr``,
    ``head_lr``, ``batch_size``, ``weight_decay``, ``threads``; same defaults). With
    ``from_scratch=True`` the network is first re-initialised (seed ``seed + 1``, every submodule's
    ``reset_parameters``). Training is the same as :func:`fine_tune`'s with the same seed: the
    per-epoch evaluations draw no random numbers, so the last point equals its accuracy.

    Returns
    -------
    dict with ``accuracy``, ``f1`` (after the last epoch), ``curve`` (list of test accuracies,
    one per epoch; ``effective_epochs(n, epochs, min_steps, batch_size)`` entries), ``f1_curve``, ``losses`` (mean training loss per epoch), ``seconds``
    (training wall time, evaluations excluded), ``n_train``, ``n_test``, ``n_classes``.
    """
    unknown = sorted(set(budget) - set(FINE_TUNE_DEFAULTS) - {"threads"})
    if unknown:
        raise InputError(f"fine_tune_curve() got unknown option(s) {unknown}; options: "
                         f"{sorted([*FINE_TUNE_DEFAULTS, 'threads'])}.")
    check_bool(from_scratch, "from_scratch", caller="fine_tune_curve")
    return _fine_tune_run(source, task, seed=seed, from_scratch=from_scratch, per_epoch=True,
                          **{**FINE_TUNE_DEFAULTS, "threads": 1, **budget})


def _fine_tune_run(source: Source, task: Task, *, seed: int, from_scratch: bool, per_epoch: bool, epochs: int,
                   min_steps: int, lr: float, head_lr: float | None, batch_size: int, weight_decay: float,
                   threads: int | None) -> dict[str, Any]:
    """The one fine-tuning run behind :func:`fine_tune` and :func:`fine_tune_curve` (``per_epoch``:
    evaluate after every epoch, and leave the evaluations out of ``seconds``)."""
    import torch

    require_test_split(task, "fine_tune")
    _check_budget(epochs, lr, batch_size, min_steps, head_lr, weight_decay)
    check_scalar(threads, "threads", int, caller="fine_tune", min_val=1, allow_none=True)
    epochs = effective_epochs(task.n_samples, epochs, min_steps, batch_size)
    with torch_threads(threads):
        start = time.perf_counter()
        x = transformed(task.inputs, source.transform)
        y = torch.from_numpy(encode(task.labels, task.classes))
        yt = encode(task.test_labels, task.classes)
        base = reinitialize(source.model, seed=derive_seed(seed, 1, scheme="offset")) if from_scratch else source.model
        net = replace_head(base, task.n_classes, seed=seed)
        xt = transformed(task.test_inputs, source.transform) if per_epoch else None
        curve: list[dict[str, float]] = []
        eval_time = [0.0]

        def record(epoch: int, model: Any) -> None:
            t0 = time.perf_counter()
            curve.append(evaluate_codes(_predict(model, xt), yt))
            eval_time[0] += time.perf_counter() - t0

        losses = train_epochs(net, x, y, epochs=epochs, lr=lr, head_lr=head_lr, batch_size=batch_size,
                              weight_decay=weight_decay, seed=seed, on_epoch=record if per_epoch else None)
        if not per_epoch:
            curve.append(evaluate_codes(_predict(net, transformed(task.test_inputs, source.transform)), yt))
        seconds = time.perf_counter() - start - eval_time[0]
    return {**curve[-1], "curve": [m["accuracy"] for m in curve], "f1_curve": [m["f1"] for m in curve],
            "losses": losses, "seconds": seconds, "n_train": task.n_samples, "n_test": len(yt),
            "n_classes": task.n_classes}
