"""The seeded epoch loop every supervised trainer of the project runs (fine-tuning, the job's models).

One epoch: ``net.train()``, a permutation of the ``n`` samples drawn from ``generator``, then
consecutive batches of ``batch_size`` indices in that order; each batch is one optimizer step of
``loss_fn(net(x[batch]), y[batch])``. A last batch of a single sample is skipped (BatchNorm needs
two). Given the same generator state, weights and thread count, the losses and weights are the same
bit for bit.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["run_epochs"]


def run_epochs(net: Any, x: Any, y: Any, *, optimizer: Any, loss_fn: Callable[[Any, Any], Any], generator: Any,
               epochs: int, batch_size: int, device: Any = None,
               on_epoch: Callable[[int, Any], None] | None = None) -> list[float]:
    """Train ``net`` for ``epochs`` epochs; returns the mean training loss of each epoch.

    Parameters
    ----------
    net : torch.nn.Module, (b, ...) -> logits (b, K)
    x : torch.Tensor, shape (n, ...); y : torch.Tensor of int64, shape (n,)
    optimizer : torch.optim.Optimizer over ``net``'s parameters
    loss_fn : callable(logits, targets) -> scalar tensor (e.g. ``nn.CrossEntropyLoss()``)
    generator : torch.Generator that draws each epoch's permutation
    epochs, batch_size : int, >= 1 (checked by the callers)
    device : torch.device, optional
        Where each batch is moved before the forward pass (None: left where it is).
    on_epoch : callable(epoch, net), optional
        Called after each epoch (1-based); the next epoch puts ``net`` back in train mode.

    Returns
    -------
    list of float, length ``epochs``: sum of batch loss times batch size over the samples used.
    """
    import torch

    history: list[float] = []
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(x), generator=generator)
        total, count = 0.0, 0
        for lo in range(0, len(x), batch_size):
            idx = order[lo:lo + batch_size]
            if len(idx) < 2:
                continue
            xb, yb = (x[idx], y[idx]) if device is None else (x[idx].to(device), y[idx].to(device))
            optimizer.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        history.append(total / max(count, 1))
        if on_epoch is not None:
            on_epoch(epoch, net)
    return history
