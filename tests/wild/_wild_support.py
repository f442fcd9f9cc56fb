"""Helpers shared by the wild-input tests."""
from __future__ import annotations

import torch
import torchvision


def googlenet_as_pretrained(images: torch.Tensor, n_classes: int) -> torch.nn.Module:
    """A googlenet as ``googlenet(weights=...)`` builds it (transform_input=True, no auxiliary heads),
    its BatchNorm statistics set on ``images`` so that its outputs depend on its input (random weights
    alone give near-constant logits)."""
    torch.manual_seed(0)
    model = torchvision.models.googlenet(num_classes=n_classes, aux_logits=False, transform_input=True,
                                         init_weights=False)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average
    with torch.no_grad():
        model.train()(images)
    return model.eval()
