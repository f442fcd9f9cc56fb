"""A named, picklable input preprocessing for source models: channels, resize, center crop, normalize.

:class:`Preprocess` maps a float batch (b, C, H, W) to the model's input space, in this order:

1. ``channels``: 1 -> 3 repeats the channel; 3 -> 1 averages the channels (equal weights);
2. ``resize``: the shorter side to ``resize`` pixels (bilinear, antialiased; as torchvision's
   ``Resize(int)``);
3. ``center_crop``: the central ``center_crop x center_crop`` window;
4. ``mean``/``std``: ``(x - mean[c]) / std[c]`` per channel.

It carries a ``fingerprint`` string (its parameters), so scoring caches key on what it does.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from transfergraph.planner.common.arguments import check_choice, check_scalar
from transfergraph.planner.common.exceptions import InputError

__all__ = ["Preprocess"]


class Preprocess:
    """See the module docstring. Every step is optional (None: skipped)."""

    def __init__(self, *, channels: int | None = None, resize: int | None = None, center_crop: int | None = None,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> None:
        if channels is not None:
            check_choice(channels, "channels", (1, 3), caller="Preprocess")
        for name, value in (("resize", resize), ("center_crop", center_crop)):
            check_scalar(value, name, int, caller="Preprocess", min_val=1, allow_none=True)
        if (mean is None) != (std is None):
            raise InputError("mean and std of Preprocess must be given together.")
        if mean is not None and (len(mean) != len(std) or any(s <= 0 for s in std)):
            raise InputError(f"mean and std of Preprocess need one value per channel and std > 0; got {mean}, {std}.")
        self.channels, self.resize, self.center_crop = channels, resize, center_crop
        self.mean = None if mean is None else [float(v) for v in mean]
        self.std = None if std is None else [float(v) for v in std]
        self.fingerprint = "preprocess:" + json.dumps(self.params(), sort_keys=True)

    def params(self) -> dict[str, Any]:
        return {"channels": self.channels, "resize": self.resize, "center_crop": self.center_crop,
                "mean": self.mean, "std": self.std}

    def __call__(self, batch: Any) -> Any:
        import torch
        import torchvision.transforms.v2.functional as TF

        if batch.ndim != 4:
            raise InputError(f"preprocess expects image batches of shape (b, C, H, W); got shape {tuple(batch.shape)}.")
        c = batch.shape[1]
        if self.channels is not None and c != self.channels:
            if c == 1 and self.channels == 3:
                batch = batch.expand(-1, 3, -1, -1)
            elif c == 3 and self.channels == 1:
                batch = batch.mean(dim=1, keepdim=True)
            else:
                raise InputError(f"preprocess cannot turn {c}-channel images into {self.channels} channels.")
        if self.resize is not None:
            batch = TF.resize(batch, [int(self.resize)], antialias=True)
        if self.center_crop is not None:
            batch = TF.center_crop(batch, [int(self.center_crop)])
        if self.mean is not None:
            if batch.shape[1] != len(self.mean):
                raise InputError(f"preprocess mean/std have {len(self.mean)} channels; the images have {batch.shape[1]}.")
            mean = torch.tensor(self.mean, dtype=batch.dtype).view(1, -1, 1, 1)
            std = torch.tensor(self.std, dtype=batch.dtype).view(1, -1, 1, 1)
            batch = (batch - mean) / std
        return batch.contiguous()

    def __repr__(self) -> str:
        return f"Preprocess({', '.join(f'{k}={v}' for k, v in self.params().items() if v is not None)})"
