"""Frozen, task-adapted classifiers returned by :meth:`CNAPsModel.adapt` (usable as ``transfergraph.planner.Source`` models)."""
from __future__ import annotations

import copy
from typing import Any, Sequence

import torch
from torch import nn

from transfergraph.adapters.meta.backbone import FiLMBackbone

__all__ = ["AdaptedFeatures", "AdaptedClassifier", "SourceClassifier"]


def _as_images(x: torch.Tensor, in_channels: int) -> torch.Tensor:
    if x.ndim == 3 and in_channels == 1:
        x = x.unsqueeze(1)
    return x.float()


class AdaptedFeatures(nn.Module):
    """The backbone with one task's FiLM parameters (and normalisation moments) baked in as buffers.

    Shapes: x (n, C, H, W) (or (n, H, W) for one channel) -> features (n, d), or (n, 2d) with
    ``concat_frozen`` ([adapted features, frozen features], for the residual-ensemble head).
    """

    def __init__(self, backbone: FiLMBackbone, film: Sequence[tuple[torch.Tensor, torch.Tensor]] | None,
                 moments: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None, concat_frozen: bool = False) -> None:
        super().__init__()
        self.concat_frozen = bool(concat_frozen)
        self.backbone = copy.deepcopy(backbone).eval().requires_grad_(False)
        self.n_stages = len(self.backbone.widths)
        self.has_film, self.has_moments = film is not None, moments is not None
        for i in range(self.n_stages):
            if film is not None:
                self.register_buffer(f"gamma{i}", film[i][0].detach().clone())
                self.register_buffer(f"beta{i}", film[i][1].detach().clone())
            if moments is not None:
                self.register_buffer(f"mean{i}", moments[i][0].detach().clone())
                self.register_buffer(f"var{i}", moments[i][1].detach().clone())

    def film(self) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        if not self.has_film:
            return None
        return [(getattr(self, f"gamma{i}"), getattr(self, f"beta{i}")) for i in range(self.n_stages)]

    def moments(self) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        if not self.has_moments:
            return None
        return [(getattr(self, f"mean{i}"), getattr(self, f"var{i}")) for i in range(self.n_stages)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _as_images(x, self.backbone.in_channels)
        feats = self.backbone(x, self.film(), moments=self.moments())
        return torch.cat([feats, self.backbone(x)], dim=1) if self.concat_frozen else feats


class AdaptedClassifier(nn.Module):
    """``classifier(lift(features(x)))``: logits over ``classes`` (the context's sorted labels).

    ``features`` is the FiLM-adapted feature extractor; for the linear and prototype heads ``lift`` is
    the identity, so the final ``nn.Linear``'s input is the adapted feature vector. For the Mahalanobis
    head ``lift`` is :class:`~transfergraph.adapters.meta.heads.QuadraticLift` (an exact rewrite of the quadratic
    head), so pass ``feature_layer="features"`` to ``transfergraph.planner.Source`` to score the d-dim features
    (:func:`~transfergraph.adapters.meta.sources.build_meta_sources` does). ``feature_layer`` holds that name.
    """

    feature_layer = "features"

    def __init__(self, features: AdaptedFeatures, lift: nn.Module, classifier: nn.Linear, classes: Sequence[Any], head: str) -> None:
        super().__init__()
        self.features = features
        self.lift = lift
        self.classifier = classifier
        self.classes = list(classes)
        self.head = head
        self.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.lift(self.features(x)))

    def extra_repr(self) -> str:
        return f"head={self.head!r}, classes={self.classes}"


class SourceClassifier(nn.Module):
    """The frozen backbone with its own source-class head: features -> ``nn.Linear`` (LEEP use (i))."""

    def __init__(self, backbone: FiLMBackbone, head: nn.Linear) -> None:
        super().__init__()
        self.backbone = copy.deepcopy(backbone)
        self.classifier = copy.deepcopy(head)
        self.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.backbone(_as_images(x, self.backbone.in_channels)))
