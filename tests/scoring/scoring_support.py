"""Tiny synthetic sources and tasks for the scoring tests (seconds, not minutes).

This module is pickled *by value* for Ray workers (they cannot import test modules).
"""
from __future__ import annotations

import hashlib
import sys
import time

import cloudpickle
import numpy as np
import torch
import torch.nn as nn

from transfergraph.planner import Source, Task

cloudpickle.register_pickle_by_value(sys.modules[__name__])
try:  # Ray vendors its own cloudpickle, with its own by-value registry
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover
    pass

COLS = ["source", "source_task", "target", "metric", "score", "normalized", "n_samples", "n_classes", "status", "error"]


def tiny_model(seed: int, n_out: int = 5, side: int = 8) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * side * side, 12), nn.ReLU(),
        nn.Linear(12, n_out),
    )


class Boom(nn.Module):
    """A source whose forward always raises."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom in forward")


class Recorder(nn.Module):
    """Wraps a model and records a digest of every sample it forwards (in-process only)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[bytes] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for row in x.detach().cpu().numpy():
            self.seen.append(hashlib.blake2b(row.tobytes(), digest_size=16).digest())
        return self.inner(x)


def sleepy(seconds: float):
    """A transform that sleeps (to make jobs long enough to interrupt)."""

    def transform(batch: torch.Tensor) -> torch.Tensor:
        time.sleep(seconds)
        return batch

    return transform


def base_data(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 4, n)
    return x, y


def tiny_tasks(seed: int = 0) -> list[Task]:
    """Overlapping tasks cut from one pool (copies of slices), a class subset with string labels,
    and a second pool of other samples."""
    x, y = base_data(seed=seed)
    rng = np.random.default_rng(seed + 1)
    x2 = rng.random((90, 1, 8, 8), dtype=np.float32)
    y2 = rng.integers(0, 3, 90)
    sub = np.isin(y, [0, 1, 2])
    names = np.array(["zero", "one", "two", "three"])
    return [
        Task("A", x[:150].copy(), y[:150]),
        Task("B", x[100:240].copy(), y[100:240]),
        Task("C", x[sub].copy(), names[y[sub]]),
        Task("D", x2, y2),
    ]


def tiny_sources() -> list[Source]:
    return [
        Source("m1", tiny_model(1), task="A"),
        Source("m2", tiny_model(2, n_out=7)),
        Source("m3", tiny_model(3), task="D", feature_layer="3"),
    ]


class FailingMetric:
    """A registry entry that raises on one target (by size) and works elsewhere."""

    name = "failing"
    input = "probs"
    version = "1"
    seeded = False

    def __init__(self, bad_n: int) -> None:
        self.bad_n = bad_n

    def __call__(self, x, labels, **opts) -> float:
        if len(labels) == self.bad_n:
            raise ArithmeticError(f"cannot score {len(labels)} samples")
        return float(-np.mean(np.max(x, axis=1)))

    def normalize(self, scores, *, n_classes, label_entropy):
        return np.asarray(scores, dtype=np.float64) * 0 + 0.5


class BlasThreadsProbe:
    """A registry entry whose score is the number of BLAS threads it runs under (to check the pinning)."""

    name = "blas_threads"
    input = "probs"
    version = "1"
    seeded = False

    def __call__(self, x, labels, **opts) -> float:
        from threadpoolctl import threadpool_info

        return float(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"))

    def normalize(self, scores, *, n_classes, label_entropy):
        return np.asarray(scores, dtype=np.float64) * 0 + 0.5
