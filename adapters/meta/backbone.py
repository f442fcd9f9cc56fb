"""A small FiLM-able convolutional backbone (the frozen feature extractor θ of CNAPs)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FiLMBackbone", "FilmParams", "NormMoments"]

#: Per stage (gamma, beta), each of shape (C_stage,).
FilmParams = Sequence[tuple[torch.Tensor, torch.Tensor]]
#: Per stage (mean, var), each of shape (C_stage,): the moments the stage normalises with.
NormMoments = Sequence[tuple[torch.Tensor, torch.Tensor]]


def _affine_norm(h: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    """BN's affine normalisation with given (possibly differentiable) moments. h (n, C, H, W), moments (C,)."""
    scale = bn.weight / torch.sqrt(var + bn.eps)
    return h * scale.view(1, -1, 1, 1) + (bn.bias - mean * scale).view(1, -1, 1, 1)


class FiLMBackbone(nn.Module):
    """Stages ``conv3x3 -> BN -> FiLM -> ReLU -> max-pool 2``, then global average pooling.

    FiLM applies ``h <- gamma * h + beta`` per channel after each normalisation; with no FiLM
    parameters (or gamma = 1, beta = 0) the network is the plain pre-trained backbone.

    Parameters
    ----------
    in_channels : int
        Image channels.
    widths : sequence of int
        Output channels of each stage; the feature dimension is ``widths[-1]``.

    Shapes
    ------
    x: (n, in_channels, H, W), any H, W >= 1 (pooling uses ``ceil_mode``) -> features (n, widths[-1]).
    """

    def __init__(self, in_channels: int = 1, widths: Sequence[int] = (32, 64, 64, 64)) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.widths = tuple(int(w) for w in widths)
        chans = (self.in_channels,) + self.widths
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1, bias=False) for a, b in zip(chans[:-1], chans[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm2d(w) for w in self.widths)

    @property
    def feature_dim(self) -> int:
        return self.widths[-1]

    def _normalize(self, h: torch.Tensor, stage: int, batch_stats: bool, moments: NormMoments | None) -> torch.Tensor:
        bn = self.norms[stage]
        if moments is not None:
            return _affine_norm(h, *moments[stage], bn)
        return F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                            batch_stats, bn.momentum, bn.eps)

    def forward(self, x: torch.Tensor, film: FilmParams | None = None, *, batch_stats: bool = False,
                moments: NormMoments | None = None) -> torch.Tensor:
        """Features of ``x``.

        ``batch_stats=True`` (pre-training only) normalises with batch statistics and updates the
        running ones; otherwise the stored running moments (or the given ``moments``) are used, so
        the output of one sample never depends on the rest of the batch.
        """
        h = x
        for i, conv in enumerate(self.convs):
            h = self._normalize(conv(h), i, batch_stats, moments)
            if film is not None:
                gamma, beta = film[i]
                h = gamma.view(1, -1, 1, 1) * h + beta.view(1, -1, 1, 1)
            h = F.max_pool2d(F.relu(h), 2, ceil_mode=True)
        return h.mean(dim=(2, 3))

    def context_moments(self, x: torch.Tensor, film: FilmParams | None, alphas: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Task normalisation moments from a context set (TaskNorm-style, mixing with running moments).

        For stage l, with context moments (m_l, v_l) of the conv output over (n, H, W) and the
        running moments (r_l, s_l): mean = a_l m_l + (1 - a_l) r_l, var = a_l v_l + (1 - a_l) s_l,
        a_l = ``alphas[l]`` in [0, 1]. Stages are processed in order, each normalised with its mixed
        moments, so deeper moments see the adapted shallower stages.
        """
        out = []
        h = x
        for i, conv in enumerate(self.convs):
            c = conv(h)
            bn = self.norms[i]
            a = alphas[i]
            mean = a * c.mean(dim=(0, 2, 3)) + (1 - a) * bn.running_mean
            var = a * c.var(dim=(0, 2, 3), unbiased=False) + (1 - a) * bn.running_var
            out.append((mean, var))
            h = _affine_norm(c, mean, var, bn)
            if film is not None:
                gamma, beta = film[i]
                h = gamma.view(1, -1, 1, 1) * h + beta.view(1, -1, 1, 1)
            h = F.max_pool2d(F.relu(h), 2, ceil_mode=True)
        return out
