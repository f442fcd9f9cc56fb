"""Task-conditional heads built from a context set's features: generated linear, prototype, Mahalanobis.

All heads are functions of per-class statistics, so they work for any number of classes, and
permuting the context samples (or relabelling classes consistently) permutes nothing but rows.
"""
from __future__ import annotations

import torch
from torch import nn

from transfergraph.planner.common.exceptions import InputError

__all__ = [
    "class_means", "ClassifierGenerator", "prototype_head", "mahalanobis_head",
    "linear_logits", "mahalanobis_logits", "QuadraticLift", "mahalanobis_as_linear",
]


def class_means(features: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """nu_c = mean of ``features[labels == c]``. Shapes: (n, d), (n,) int in [0, n_classes) -> (n_classes, d)."""
    onehot = torch.nn.functional.one_hot(labels, n_classes).to(features.dtype)  # (n, C)
    return (onehot.T @ features) / onehot.sum(0).clamp_min(1.0)[:, None]


def _mlp(d_in: int, d_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(), nn.Linear(hidden, d_out))


class ClassifierGenerator(nn.Module):
    r"""Linear head generated class by class from the class means (Versa / CNAPs style).

    ``mode="faithful"`` (CNAPs): w_c = nu_c + f(nu_c), b_c = g(nu_c).
    ``mode="residual"``: w_c = 2 nu_c + s_w * f(nu_c), b_c = -||nu_c||^2 + s_b * g(nu_c), with learnable
    scales s initialised at ``init_scale``; at initialisation it is the prototype (nearest-mean) head.
    f: d -> d and g: d -> 1 are 3-layer ELU MLPs. Shapes: means (C, d) -> W (C, d), b (C,).
    """

    def __init__(self, dim: int, mode: str = "faithful", init_scale: float = 1e-3) -> None:
        super().__init__()
        if mode not in ("faithful", "residual"):
            raise InputError(f"mode of ClassifierGenerator must be 'faithful' or 'residual'; got {mode!r}.")
        self.mode = mode
        self.weight_net = _mlp(dim, dim, dim)
        self.bias_net = _mlp(dim, 1, dim)
        if mode == "residual":
            self.s_w = nn.Parameter(torch.full((dim,), float(init_scale)))
            self.s_b = nn.Parameter(torch.tensor(float(init_scale)))

    def forward(self, means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f, g = self.weight_net(means), self.bias_net(means).squeeze(-1)
        if self.mode == "faithful":
            return means + f, g
        return 2.0 * means + self.s_w * f, -means.pow(2).sum(-1) + self.s_b * g


def prototype_head(features: torch.Tensor, labels: torch.Tensor, n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Nearest-mean head as a linear map: -||x - nu_c||^2 = 2 nu_c.x - ||nu_c||^2 - ||x||^2 (last term is class-free)."""
    means = class_means(features, labels, n_classes)
    return 2.0 * means, -means.pow(2).sum(-1)


def _cov(x: torch.Tensor) -> torch.Tensor:
    """Sample covariance with denominator n - 1 (zero for a single sample). (n, d) -> (d, d)."""
    n = x.shape[0]
    if n < 2:
        return x.new_zeros(x.shape[1], x.shape[1])
    xc = x - x.mean(0, keepdim=True)
    return xc.T @ xc / (n - 1)


def _pooled_cov(x: torch.Tensor, labels: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Pooled within-class covariance sum_i (x_i - mu_{y_i})(...)^T / (n - C); zero when n <= C."""
    n, n_classes = x.shape[0], means.shape[0]
    if n <= n_classes:
        return x.new_zeros(x.shape[1], x.shape[1])
    r = x - means[labels]
    return r.T @ r / (n - n_classes)


def mahalanobis_head(features: torch.Tensor, labels: torch.Tensor, n_classes: int, beta: float | torch.Tensor = 1.0,
                     kappa: float | torch.Tensor = 1.0, pooled: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Simple CNAPs' class-wise Gaussian head.

    Q_c = lambda_c Sigma_c + (1 - lambda_c) Sigma_task + beta I, lambda_c = n_c / (n_c + kappa)
    (Simple CNAPs: kappa = 1, beta = 1; both may be learned tensors). Sigma_task is the covariance of
    all context features (Simple CNAPs), or with ``pooled=True`` the pooled *within-class* covariance,
    which leaves out the between-class scatter: at one shot it is 0 and the head is the prototype head;
    with more shots it is the LDA covariance estimate;
    returns means mu (C, d) and precisions P_c = Q_c^{-1} (C, d, d). Logits: -(x - mu_c)^T P_c (x - mu_c)
    (the ½ of the Gaussian log-density is dropped, as in the Simple CNAPs code).
    """
    d = features.shape[1]
    mu = class_means(features, labels, n_classes)
    sigma_task = _pooled_cov(features, labels, mu) if pooled else _cov(features)
    eye = torch.eye(d, dtype=features.dtype, device=features.device)
    qs = []
    for c in range(n_classes):
        fc = features[labels == c]
        lam = fc.shape[0] / (fc.shape[0] + kappa)
        qs.append(lam * _cov(fc) + (1.0 - lam) * sigma_task + beta * eye)
    return mu, torch.linalg.inv(torch.stack(qs))


def linear_logits(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """(n, d), (C, d), (C,) -> (n, C)."""
    return x @ weight.T + bias


def mahalanobis_logits(x: torch.Tensor, mu: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """-(x - mu_c)^T P_c (x - mu_c). Shapes: (n, d), (C, d), (C, d, d) -> (n, C)."""
    diff = x[:, None, :] - mu[None, :, :]  # (n, C, d)
    return -torch.einsum("ncd,cde,nce->nc", diff, precision, diff)


class QuadraticLift(nn.Module):
    """phi(x) = [x, x_i x_j for i <= j]: (n, d) -> (n, d + d(d+1)/2); makes a quadratic head linear."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        iu = torch.triu_indices(dim, dim)
        self.register_buffer("rows", iu[0], persistent=False)
        self.register_buffer("cols", iu[1], persistent=False)
        self.dim = int(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x[:, self.rows] * x[:, self.cols]], dim=1)


def mahalanobis_as_linear(mu: torch.Tensor, precision: torch.Tensor) -> tuple[QuadraticLift, nn.Linear]:
    r"""Exact rewrite of the Mahalanobis head as ``Linear(QuadraticLift(x))``.

    -(x-mu)^T P (x-mu) = 2 (P mu).x - \sum_{i<=j} (2 - [i=j]) P_ij x_i x_j - mu^T P mu  (P symmetric).
    """
    n_classes, d = mu.shape
    lift = QuadraticLift(d)
    p = 0.5 * (precision + precision.transpose(1, 2))
    factor = torch.where(lift.rows == lift.cols, 1.0, 2.0).to(p.dtype)
    quad = -p[:, lift.rows, lift.cols] * factor  # (C, d(d+1)/2)
    lin = 2.0 * torch.einsum("cde,ce->cd", p, mu)
    bias = -torch.einsum("cd,cde,ce->c", mu, p, mu)
    layer = nn.Linear(d + quad.shape[1], n_classes)
    with torch.no_grad():
        layer.weight.copy_(torch.cat([lin, quad], dim=1))
        layer.bias.copy_(bias)
    return lift, layer
