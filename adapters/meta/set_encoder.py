"""Permutation-invariant (DeepSets) encoder of a context set's images."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SetEncoder"]


class SetEncoder(nn.Module):
    r"""z_G = (1/n) \sum_i phi(x_i), phi = ``n_layers`` x [conv3x3 -> BN -> ReLU -> max-pool 2] -> GAP.

    The BN always normalises with the statistics of the current set (no running statistics), as in
    CNAPs, so the encoding is a function of the set only: invariant to the order of its images.

    Shapes
    ------
    x: (n, in_channels, H, W) -> z: (width,)
    """

    def __init__(self, in_channels: int = 1, width: int = 32, n_layers: int = 3) -> None:
        super().__init__()
        chans = (int(in_channels),) + (int(width),) * int(n_layers)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans[:-1], chans[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm2d(width, track_running_stats=False) for _ in range(n_layers))
        self.out_dim = int(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv, bn in zip(self.convs, self.norms):
            h = F.max_pool2d(F.relu(bn(conv(h))), 2, ceil_mode=True)
        return h.mean(dim=(2, 3)).mean(dim=0)
