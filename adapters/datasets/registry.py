"""Named dataset builders usable from configs, each returning a seeded train/held-out split.

A builder is ``fn(*, root, image_size, test_fraction, max_per_class, seed) -> DatasetSplit``.
Plugins add builders with :func:`register_dataset` (see README, "Plugins").
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from transfergraph.planner.common.exceptions import InputError

from transfergraph.adapters.datasets.digits import load_digits_images
from transfergraph.adapters.datasets.fashion_mnist import load_fashion_mnist

__all__ = ["DatasetSplit", "DATASETS", "register_dataset", "load_dataset"]


@dataclass(frozen=True)
class DatasetSplit:
    """Images float32 (n, C, H, W) in [0, 1] and integer labels, split into train and held-out test."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    @property
    def classes(self) -> list:
        return sorted(set(self.train_y.tolist()))


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    import torch
    import torch.nn.functional as F

    out = F.interpolate(torch.from_numpy(np.ascontiguousarray(images)), size=(size, size), mode="bilinear",
                        align_corners=False, antialias=True)
    return out.clamp_(0, 1).numpy()


def _cap_per_class(y: np.ndarray, cap: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices keeping at most ``cap`` samples of each class (seeded choice), in ascending order."""
    if cap is None:
        return np.arange(len(y))
    keep = [rng.permutation(np.flatnonzero(y == c))[:cap] for c in np.unique(y)]
    return np.sort(np.concatenate(keep))


def _digits(*, root, image_size, test_fraction, max_per_class, seed) -> DatasetSplit:
    from sklearn.model_selection import train_test_split

    x, y = load_digits_images(image_size)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=seed)
    idx_train, idx_test = np.sort(idx_train), np.sort(idx_test)
    rng = np.random.default_rng(seed)
    tr = idx_train[_cap_per_class(y[idx_train], max_per_class, rng)]
    te_cap = None if max_per_class is None else max(2, int(np.ceil(max_per_class * test_fraction / (1 - test_fraction))))
    te = idx_test[_cap_per_class(y[idx_test], te_cap, rng)]
    return DatasetSplit(x[tr], y[tr], x[te], y[te])


def _fashion_mnist(*, root, image_size, test_fraction, max_per_class, seed) -> DatasetSplit:
    xtr, ytr = load_fashion_mnist(root, "train")
    xte, yte = load_fashion_mnist(root, "test")
    rng = np.random.default_rng(seed)
    cap_tr = max_per_class if max_per_class is not None else None
    cap_te = None if max_per_class is None else max(2, int(np.ceil(max_per_class * test_fraction / (1 - test_fraction))))
    tr, te = _cap_per_class(ytr, cap_tr, rng), _cap_per_class(yte, cap_te, rng)
    return DatasetSplit(_resize(xtr[tr], image_size), ytr[tr], _resize(xte[te], image_size), yte[te])


DATASETS: dict[str, Callable[..., DatasetSplit]] = {"digits": _digits, "fashion_mnist": _fashion_mnist}


def register_dataset(name: str, builder: Callable[..., DatasetSplit]) -> None:
    """Make ``builder`` available to configs as ``dataset: name``."""
    DATASETS[name] = builder
    _load_cached.cache_clear()


@lru_cache(maxsize=8)
def _load_cached(name, root, image_size, test_fraction, max_per_class, seed) -> DatasetSplit:
    return DATASETS[name](root=root, image_size=image_size, test_fraction=test_fraction,
                          max_per_class=max_per_class, seed=seed)


def load_dataset(name: str, *, root: str | None = None, image_size: int = 16, test_fraction: float = 0.3,
                 max_per_class: int | None = None, seed: int = 0) -> DatasetSplit:
    """Build dataset ``name`` (cached per arguments)."""
    if name not in DATASETS:
        raise InputError(f"dataset must be one of {sorted(DATASETS)}; got {name!r}.", key="data.dataset")
    return _load_cached(name, root, image_size, test_fraction, max_per_class, seed)
