"""A small convolutional classifier that trains in seconds on CPU."""
from __future__ import annotations

import torch
from torch import nn

from transfergraph.planner.common.arguments import check_scalar

__all__ = ["SmallCNN"]


class SmallCNN(nn.Module):
    """conv(w)-BN-ReLU-pool -> conv(2w)-BN-ReLU-pool -> GAP -> Linear(2w, d) -> ReLU -> Linear(d, classes).

    The input of the final ``nn.Linear`` (``d``-dimensional, ``feature_dim``) is the feature vector
    used by feature-based metrics.

    Parameters
    ----------
    n_classes : int
        Number of output logits |Z|.
    in_channels : int
        Image channels C.
    width : int
        Channels w of the first conv layer.
    feature_dim : int
        Penultimate feature size d.

    Shape
    -----
    input (b, C, H, W) float32 -> logits (b, n_classes); any H, W >= 4.
    """

    def __init__(self, n_classes: int, in_channels: int = 1, width: int = 16, feature_dim: int = 64) -> None:
        super().__init__()
        for name, value, low in (("n_classes", n_classes, 2), ("in_channels", in_channels, 1),
                                 ("width", width, 1), ("feature_dim", feature_dim, 1)):
            check_scalar(value, name, int, caller="SmallCNN", min_val=low)
        self.hparams = {"n_classes": n_classes, "in_channels": in_channels, "width": width,
                        "feature_dim": feature_dim}
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(2 * width, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
