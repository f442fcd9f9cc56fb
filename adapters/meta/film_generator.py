"""FiLM generator: one network per backbone stage, mapping the set encoding to (gamma, beta)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["ResidualProcessor", "StageFilmNetwork", "FilmGenerator"]


class ResidualProcessor(nn.Module):
    """``n_layers`` residual linear layers ``h <- h + W relu(h)`` on a C-vector (identity skips)."""

    def __init__(self, dim: int, n_layers: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(n_layers))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            h = h + layer(torch.relu(h) if i else h)
        return h


class StageFilmNetwork(nn.Module):
    r"""FiLM parameters of one stage with C channels.

    h = relu(W_s z + b_s);  gamma = 1 + r_gamma * P_gamma(h);  beta = r_beta * P_beta(h),
    where P are residual processors and r are learnable per-channel scales initialised
    N(0, ``init_scale``^2), so a fresh network is (nearly) the identity: gamma ≈ 1, beta ≈ 0.
    """

    def __init__(self, z_dim: int, channels: int, n_layers: int = 2, init_scale: float = 1e-3) -> None:
        super().__init__()
        self.shared = nn.Linear(z_dim, channels)
        self.gamma_proc = ResidualProcessor(channels, n_layers)
        self.beta_proc = ResidualProcessor(channels, n_layers)
        self.r_gamma = nn.Parameter(torch.randn(channels) * init_scale)
        self.r_beta = nn.Parameter(torch.randn(channels) * init_scale)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.shared(z))
        return 1.0 + self.r_gamma * self.gamma_proc(h), self.r_beta * self.beta_proc(h)

    def penalty(self) -> torch.Tensor:
        return self.r_gamma.pow(2).sum() + self.r_beta.pow(2).sum()


class FilmGenerator(nn.Module):
    """One :class:`StageFilmNetwork` per backbone stage.

    Shapes
    ------
    z: (z_dim,) -> list of (gamma, beta), each (C_l,), one pair per stage l.
    """

    def __init__(self, z_dim: int, widths: Sequence[int], n_layers: int = 2, init_scale: float = 1e-3) -> None:
        super().__init__()
        self.stages = nn.ModuleList(StageFilmNetwork(z_dim, w, n_layers, init_scale) for w in widths)

    def forward(self, z: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [stage(z) for stage in self.stages]

    def penalty(self) -> torch.Tensor:
        r"""L2 penalty toward identity FiLM: \sum_l ||r_gamma,l||^2 + ||r_beta,l||^2."""
        return sum(stage.penalty() for stage in self.stages)
