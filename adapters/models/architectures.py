"""The registry of architectures known by name: built-ins and those plugins register.

``transfergraph.adapters.models.checkpoint`` re-exports both names (their documented home).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from transfergraph.adapters.models.small_cnn import SmallCNN

__all__ = ["ARCHITECTURES", "register_architecture"]

#: Architecture name -> constructor taking the saved hyper-parameters as keyword arguments.
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {"small_cnn": SmallCNN}


def register_architecture(name: str, builder: Callable[..., nn.Module]) -> None:
    """Make ``builder(**hparams)`` loadable by name (used by plugins)."""
    ARCHITECTURES[name] = builder
