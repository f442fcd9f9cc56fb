"""Meta-training class pools: every (image transform, base class) pair is a class of its own.

Rotating or inverting the images of each base class gives new classes (the Omniglot-rotation
trick), widening the task distribution that the FiLM and head generators learn from. The pool is
lazy: images are transformed on access, so a 4x wider pool costs no extra memory.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.task import as_numpy

from transfergraph.planner.common.checks import encode_labels

__all__ = ["ClassPool", "TRANSFORMS", "ROTATIONS", "ROTATIONS_INVERTED", "ROTATIONS_LOWRES"]

#: name -> (number of 90-degree counter-clockwise turns, invert intensities, low resolution)
#: "low resolution" = area-downsample to 8x8 and bilinear upsample back (how sklearn digits look at 28x28).
TRANSFORMS = {f"rot{90 * k}": (k, False, False) for k in range(4)}
TRANSFORMS.update({f"rot{90 * k}_inv": (k, True, False) for k in range(4)})
TRANSFORMS.update({f"rot{90 * k}_low": (k, False, True) for k in range(4)})
ROTATIONS = ("rot0", "rot90", "rot180", "rot270")
ROTATIONS_INVERTED = ROTATIONS + tuple(f"{r}_inv" for r in ROTATIONS)
ROTATIONS_LOWRES = tuple(f"{r}_low" for r in ROTATIONS)
LOWRES_SIDE = 8


def _apply(images: torch.Tensor, name: str) -> torch.Tensor:
    k, invert, low = TRANSFORMS[name]
    out = torch.rot90(images, k, dims=(-2, -1)) if k else images
    if low:
        batch = out if out.ndim == 4 else out.unsqueeze(0)
        size = batch.shape[-2:]
        small = F.adaptive_avg_pool2d(batch, LOWRES_SIDE)
        batch = F.interpolate(small, size=size, mode="bilinear", align_corners=False).clamp(0.0, 1.0)
        out = batch if out.ndim == 4 else batch[0]
    return 1.0 - out if invert else out


class ClassPool(Dataset):
    """Images ``x`` (n, C, H, W) with labels ``y`` widened by ``transforms``.

    Item ``t * n + i`` is ``transform_t(x[i])`` with label ``t * K + index(y[i])``, K = distinct base
    labels (sorted). ``labels_to_indices`` is precomputed for ``learn2learn.data.MetaDataset``.
    """

    def __init__(self, inputs: Any, labels: Any, transforms: Sequence[str] = ("rot0",)) -> None:
        x = torch.from_numpy(np.array(as_numpy(inputs), dtype=np.float32, copy=True))
        if x.ndim != 4:
            raise InputError(f"inputs of ClassPool must have shape (n, C, H, W); got {tuple(x.shape)}.")
        y, classes = encode_labels(labels, func="ClassPool", arg="labels")
        if len(y) != len(x):
            raise InputError(f"inputs and labels of ClassPool must have the same length; got {len(x)} and {len(y)}.")
        unknown = [t for t in transforms if t not in TRANSFORMS]
        if unknown or not transforms:
            raise InputError(f"transforms of ClassPool must be a non-empty subset of {sorted(TRANSFORMS)}; got {list(transforms)}.")
        self.x, self.base_classes, self.transforms = x, classes, tuple(transforms)
        self.n, self.k = len(x), len(classes)
        self.base_labels = torch.from_numpy(y)
        self.labels = torch.cat([self.base_labels + t * self.k for t in range(len(self.transforms))])
        order = np.argsort(self.labels.numpy(), kind="stable")
        counts = np.bincount(self.labels.numpy(), minlength=self.n_classes)
        splits = np.split(order, np.cumsum(counts)[:-1])
        self.labels_to_indices = {c: s.tolist() for c, s in enumerate(splits)}

    def with_transforms(self, transforms: Sequence[str]) -> "ClassPool":
        """The same images and base labels under other transforms (another domain of episodes)."""
        return ClassPool(self.x, self.base_classes[self.base_labels.numpy()], transforms)

    @property
    def n_classes(self) -> int:
        return self.k * len(self.transforms)

    def __len__(self) -> int:
        return self.n * len(self.transforms)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        t, i = divmod(int(index), self.n)
        return _apply(self.x[i], self.transforms[t]), int(self.labels[index])

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Vectorised ``[self[i] for i in indices]``: images (b, C, H, W), labels (b,)."""
        t, i = indices // self.n, indices % self.n
        out = self.x[i].clone()
        for j, name in enumerate(self.transforms):
            mask = t == j
            if mask.any():
                out[mask] = _apply(out[mask], name)
        return out, self.labels[indices]
