"""Small generated on-disk datasets and models for the lazy-input tests (pickled by value for Ray)."""
from __future__ import annotations

import sys
from pathlib import Path

import cloudpickle
import numpy as np
import torch
import torch.nn as nn

cloudpickle.register_pickle_by_value(sys.modules[__name__])
try:  # Ray vendors its own cloudpickle
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:  # pragma: no cover
    pass


def image_folder(root: Path, *, classes: int = 3, per_class: int = 20, size: int = 12, seed: int = 0) -> Path:
    """PNG images ROOT/c<k>/<i>.png, RGB, size x size, class-dependent colours plus noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for k in range(classes):
        (root / f"c{k}").mkdir(parents=True, exist_ok=True)
        base = rng.uniform(0, 255, size=(1, 1, 3))
        for i in range(per_class):
            img = np.clip(base + rng.normal(0, 60, size=(size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / f"c{k}" / f"{i:03d}.png")
    return root


def conv_model(seed: int, in_channels: int = 3, n_out: int = 6) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, n_out),
    ).eval()


class HFStyle(nn.Module):
    """Returns an object with a ``.logits`` attribute (as Hugging Face models do)."""

    class Output:
        def __init__(self, logits):
            self.logits = logits

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return HFStyle.Output(self.inner(x))


class DictOut(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return {"logits": self.inner(x), "aux": x.sum()}


class TokenModel(nn.Module):
    """Embedding bag over int64 token ids: fails on float inputs, so it proves the dtype is kept."""

    def __init__(self, vocab: int = 50, n_out: int = 4, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.emb = nn.Embedding(vocab, 8)
        self.fc = nn.Linear(8, n_out)

    def forward(self, ids):
        return self.fc(self.emb(ids).mean(dim=1))
