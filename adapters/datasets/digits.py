"""scikit-learn's digits (1,797 8x8 images, 10 classes) as upsampled float images."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from transfergraph.planner.common.arguments import check_scalar

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
    return _load(check_scalar(size, "size", int, caller="load_digits_images", min_val=4, max_val=128))
