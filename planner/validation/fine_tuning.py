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

from ..exceptions import InputError
from ..task import Source, Task
from ._common import encode, evaluate_codes, require_test_split, seeded_torch, torch_threads, transformed

__all__ = ["FINE_TUNE_DEFAULTS", "replace_head", "reinitialize", "fine_tune", "fine_tune_curve"]

#: Default budget: epochs of Adam over the training split.
FINE_TUNE_DEFAULTS = {"epochs": 5, "lr": 1e-3, "batch_size": 64, "weight_decay": 0.0}


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
    on_epoch: Callable[[int, Any], None] | None = None,
) -> list[float]:
    """Adam + cross-entropy on (x, y) for ``epochs`` seeded epochs; returns the mean loss per epoch.

    Parameters
    ----------
    net : nn.Module, (b, ...) -> logits (b, K)
    x : torch.Tensor, shape (n, ...), float32
    y : torch.Tensor of int64, shape (n,), values in [0, K)
    on_epoch : callable(epoch, net), optional
        Called after each epoch (1-based) with the network (left in train mode afterwards).

    Batches are a seeded permutation; a last batch of one sample is skipped (BatchNorm needs two).
    """
    import torch
    from torch import nn

    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    device = _device(net)
    history = []
    with seeded_torch(seed):  # dropout and other in-model randomness
        _run_epochs(net, x, y, opt, loss_fn, gen, device, epochs, batch_size, history, on_epoch)
    net.eval()
    return history


def _run_epochs(net, x, y, opt, loss_fn, gen, device, epochs, batch_size, history, on_epoch) -> None:  # noqa: ANN001
    import torch

    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(x), generator=gen)
        total, count = 0.0, 0
        for lo in range(0, len(x), batch_size):
            idx = order[lo:lo + batch_size]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            loss = loss_fn(net(x[idx].to(device)), y[idx].to(device))
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        history.append(total / max(count, 1))
        if on_epoch is not None:
            on_epoch(epoch, net)


def _check_budget(epochs: Any, lr: Any, batch_size: Any, func: str) -> None:
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise InputError(f"epochs of {func}() must be an int >= 1; got {epochs!r}.")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 2:
        raise InputError(f"batch_size of {func}() must be an int >= 2; got {batch_size!r}.")
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise InputError(f"lr of {func}() must be a positive number; got {lr!r}.")


def fine_tune_curve(
    source: Source,
    task: Task,
    *,
    seed: int = 0,
    from_scratch: bool = False,
    epochs: int = FINE_TUNE_DEFAULTS["epochs"],
    lr: float = FINE_TUNE_DEFAULTS["lr"],
    batch_size: int = FINE_TUNE_DEFAULTS["batch_size"],
    weight_decay: float = FINE_TUNE_DEFAULTS["weight_decay"],
    threads: int | None = 1,
) -> dict[str, Any]:
    """Fine-tune (or train from scratch) and record test accuracy and macro F1 after every epoch.

    Returns
    -------
    dict with ``accuracy``, ``f1`` (after the last epoch), ``curve`` (list of test accuracies,
    one per epoch), ``f1_curve``, ``losses`` (mean training loss per epoch), ``seconds``
    (training wall time, evaluations excluded), ``n_train``, ``n_test``, ``n_classes``.
    """
    import torch

    require_test_split(task, "fine_tune")
    _check_budget(epochs, lr, batch_size, "fine_tune")
    with torch_threads(threads):
        start = time.perf_counter()
        x = transformed(task.inputs, source.transform)
        xt = transformed(task.test_inputs, source.transform)
        y = torch.from_numpy(encode(task.labels, task.classes))
        yt = encode(task.test_labels, task.classes)
        base = reinitialize(source.model, seed=seed + 1) if from_scratch else source.model
        net = replace_head(base, task.n_classes, seed=seed)
        curve: list[float] = []
        f1s: list[float] = []
        eval_time = [0.0]

        def record(epoch: int, model: Any) -> None:
            t0 = time.perf_counter()
            m = evaluate_codes(_predict(model, xt), yt)
            curve.append(m["accuracy"])
            f1s.append(m["f1"])
            eval_time[0] += time.perf_counter() - t0

        losses = train_epochs(net, x, y, epochs=epochs, lr=lr, batch_size=batch_size,
                              weight_decay=weight_decay, seed=seed, on_epoch=record)
        seconds = time.perf_counter() - start - eval_time[0]
    return {"accuracy": curve[-1], "f1": f1s[-1], "curve": curve, "f1_curve": f1s, "losses": losses,
            "seconds": seconds, "n_train": task.n_samples, "n_test": len(yt), "n_classes": task.n_classes}


def fine_tune(
    source: Source,
    task: Task,
    *,
    seed: int = 0,
    epochs: int = FINE_TUNE_DEFAULTS["epochs"],
    lr: float = FINE_TUNE_DEFAULTS["lr"],
    batch_size: int = FINE_TUNE_DEFAULTS["batch_size"],
    weight_decay: float = FINE_TUNE_DEFAULTS["weight_decay"],
    threads: int | None = 1,
) -> dict[str, Any]:
    """Fine-tune a copy of ``source.model`` (new head) on ``task``'s training split; test on its test split.

    Every parameter is trained with Adam(lr, weight_decay) for ``epochs`` epochs of seeded
    mini-batches of cross-entropy; ``Source.transform`` is applied to the inputs first. The
    source model itself is not modified.

    Returns
    -------
    dict(accuracy, f1, seconds, n_train, n_test, n_classes, status="ok", error="").
    """
    import torch

    require_test_split(task, "fine_tune")
    _check_budget(epochs, lr, batch_size, "fine_tune")
    with torch_threads(threads):
        start = time.perf_counter()
        x = transformed(task.inputs, source.transform)
        y = torch.from_numpy(encode(task.labels, task.classes))
        net = replace_head(source.model, task.n_classes, seed=seed)
        train_epochs(net, x, y, epochs=epochs, lr=lr, batch_size=batch_size, weight_decay=weight_decay, seed=seed)
        metrics = evaluate_codes(_predict(net, transformed(task.test_inputs, source.transform)),
                                 encode(task.test_labels, task.classes))
        seconds = time.perf_counter() - start
    return {**metrics, "seconds": seconds, "n_train": task.n_samples, "n_test": len(task.test_labels),
            "n_classes": task.n_classes, "status": "ok", "error": ""}
