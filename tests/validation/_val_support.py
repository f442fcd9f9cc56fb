"""Tiny digits sources/tasks and small fakes for the validation tests (pickled by value for Ray)."""
from __future__ import annotations

import sys

import cloudpickle
import numpy as np
import torch
import torch.nn as nn

from transfergraph.adapters.datasets import load_digits_images
from transfergraph.adapters.models import SmallCNN, train_classifier
from transfergraph.planner import Source, Task

cloudpickle.register_pickle_by_value(sys.modules[__name__])
try:  # Ray vendors its own cloudpickle, with its own by-value registry
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover
    pass

SIDE = 8  # digits at their native 8x8: the smallest images SmallCNN takes, so tests stay fast


def digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits_images(size=SIDE)
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order]


def train_source(name: str, classes: tuple[int, ...], *, seed: int, n: int = 300, task: str | None = None) -> Source:
    """A SmallCNN trained for one epoch on ``n`` digits of ``classes`` (labels re-coded 0..K-1)."""
    x, y = digits(seed)
    keep = np.flatnonzero(np.isin(y, classes))[:n]
    codes = np.searchsorted(np.array(sorted(classes)), y[keep])
    torch.manual_seed(seed)
    model = SmallCNN(len(classes), width=8, feature_dim=16)
    train_classifier(model, x[keep], codes, epochs=1, batch_size=32, seed=seed)
    return Source(name, model, task=task)


def class_task(name: str, classes: tuple, *, n_train: int = 40, n_test: int = 40, offset: int = 900,
               labels=None) -> Task:
    """A target of digits ``classes`` drawn from the second half of the shuffled set (disjoint from sources).

    ``labels``: optional mapping digit -> label value (e.g. strings)."""
    x, y = digits(0)
    x, y = x[offset:], y[offset:]
    idx = np.flatnonzero(np.isin(y, classes))
    tr, te = idx[:n_train], idx[n_train:n_train + n_test]
    lab = (lambda v: np.array([labels[int(i)] for i in v], dtype=object)) if labels else (lambda v: v)
    return Task(name, x[tr], lab(y[tr]), test_inputs=x[te], test_labels=lab(y[te]))


class NearestCentroidMeta(nn.Module):
    """A fake CNAPs-style model: ``adapt`` builds a nearest-class-mean classifier on raw pixels.

    -||x - mu_c||^2 = 2 mu_c.x - ||mu_c||^2 + const, so the adapted model is Flatten + nn.Linear.
    """

    def adapt(self, context_inputs: torch.Tensor, context_labels: torch.Tensor) -> nn.Module:
        x = context_inputs.reshape(len(context_inputs), -1).double()
        classes = torch.unique(context_labels)
        mu = torch.stack([x[context_labels == c].mean(0) for c in classes])
        head = nn.Linear(x.shape[1], len(classes)).double()
        with torch.no_grad():
            head.weight.copy_(2 * mu)
            head.bias.copy_(-(mu * mu).sum(1))
        return nn.Sequential(nn.Flatten(), _Double(), head)


class _Double(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.double()


class OnlySide:
    """A transform that raises for images whose side is not ``side`` (to make one pair fail)."""

    def __init__(self, side: int) -> None:
        self.side = side

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.shape[-1] != self.side:
            raise ValueError(f"this source takes {self.side}x{self.side} images; got {tuple(batch.shape[-2:])}")
        return batch


#: three digits tasks of the decision tests: two class splits and an inverted copy of the first
DECISION_SPEC = [{"name": "a0to4", "classes": [0, 1, 2, 3, 4]}, {"name": "b5to9", "classes": [5, 6, 7, 8, 9]},
                 {"name": "c_inv", "classes": [0, 1, 2, 3, 4], "shift": {"invert": True}}]


def decision_trunk():
    """The shared trunk of the decision tests' networks (SmallCNN width 8, feature 16)."""
    return SmallCNN(2, 1, 8, 16).features


def decision_tasks():
    """:data:`DECISION_SPEC` as prepared training arrays (12 training images per class, 8x8 digits)."""
    from transfergraph.config import parse_config
    from transfergraph.jobs.suite import build_tasks
    from transfergraph.planner.validation._training_core import prepare_tasks

    cfg = parse_config({"name": "t0", "seed": 0, "data": {"dataset": "digits", "image_size": 8}, "tasks": DECISION_SPEC})
    return prepare_tasks(build_tasks(cfg), train_per_class=12)
