"""Synthetic image sets and tiny model sizes for the transfergraph.adapters.meta tests."""
from __future__ import annotations

import numpy as np
import torch


SIZE = 12
TINY = dict(widths=(8, 16), encoder_width=8, encoder_layers=2, processor_layers=2)


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 1, SIZE, SIZE), dtype=np.float32)


def labeled_pool(n_classes: int = 6, per_class: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class c has a bright c-th horizontal band plus noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_classes * per_class, 1, SIZE, SIZE), dtype=np.float32) * 0.3
    y = np.repeat(np.arange(n_classes), per_class)
    for i, c in enumerate(y):
        x[i, 0, (2 * c) % SIZE] += 0.7
    return x, y


