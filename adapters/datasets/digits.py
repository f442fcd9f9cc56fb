"""scikit-learn's digits (1,797 8x8 images, 10 classes) as upsampled float images."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from planner.exceptions import InputError

__all__ = ["load_digits_images"]


@lru_cache(maxsize=4)
def _load(size: int) -> tuple[np.ndarray, np.ndarray]:
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0  # (n, 8, 8), values 0..16 -> [0, 1]
    x = torch.from_numpy(images[:, None])
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    out = x.clamp_(0.0, 1.0).numpy()
    out.setflags(write=False)
    labels = bunch.target.astype(np.int64)
    labels.setflags(write=False)
    return out, labels


def load_digits_images(size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's digits as images.

    Parameters
    ----------
    size : int
        Output side length; the 8x8 originals are bilinearly upsampled (values scaled to [0, 1]).

    Returns
    -------
    images : np.ndarray, float32, shape (1797, 1, size, size), read-only
    labels : np.ndarray, int64, shape (1797,), values 0..9, read-only
    """
    if not isinstance(size, int) or isinstance(size, bool) or not 4 <= size <= 128:
        raise InputError(f"size of load_digits_images must be an int in [4, 128]; got {size!r}.")
    return _load(size)
