"""Seeded, deterministic supervised training of a classifier on in-memory arrays."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.runtime.epochs import run_epochs
from transfergraph.planner.runtime.threads import torch_threads

__all__ = ["train_classifier", "predict_logits"]


def train_classifier(
    model: nn.Module,
    inputs: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    threads: int | None = 1,
) -> list[float]:
    """Train ``model`` with Adam and cross-entropy; returns the mean training loss per epoch.

    Deterministic on CPU for a given ``seed`` (the shuffling order and initial weights derive from
    it; ``threads=1`` by default so the reduction order is fixed).

    Parameters
    ----------
    model : nn.Module mapping (b, ...) float32 -> logits (b, K)
    inputs : np.ndarray, shape (n, ...), float32
    labels : np.ndarray, shape (n,), ints in [0, K)
    """
    x = torch.tensor(np.asarray(inputs), dtype=torch.float32)  # a private copy (inputs may be read-only)
    y = torch.tensor(np.asarray(labels), dtype=torch.long)
    if x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise InputError(f"inputs and labels of train_classifier must have the same length >= 2; got {x.shape[0]} and {y.shape[0]}.")
    epochs = check_scalar(epochs, "epochs", int, caller="train_classifier", min_val=1)
    batch_size = check_scalar(batch_size, "batch_size", int, caller="train_classifier", min_val=1)
    lr = check_scalar(lr, "lr", float, caller="train_classifier", min_val=0, include_boundaries="neither")
    weight_decay = check_scalar(weight_decay, "weight_decay", float, caller="train_classifier", min_val=0)
    seed = check_scalar(seed, "seed", int, caller="train_classifier")
    threads = check_scalar(threads, "threads", int, caller="train_classifier", min_val=1, allow_none=True)
    with torch_threads(threads):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        loss_fn = nn.CrossEntropyLoss()
        history = run_epochs(model, x, y, optimizer=opt, loss_fn=loss_fn, generator=gen, epochs=epochs,
                             batch_size=batch_size)
        model.eval()
        return history


@torch.no_grad()
def predict_logits(model: nn.Module, inputs: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Logits of ``model`` (eval mode) on ``inputs``; returns float32 array of shape (n, K)."""
    model.eval()
    x = torch.tensor(np.asarray(inputs), dtype=torch.float32)
    outs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(outs).numpy()
