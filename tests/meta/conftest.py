"""Fixtures for the transfergraph.adapters.meta tests: a tiny CNAPsModel factory."""
from __future__ import annotations

import pytest
import torch

from transfergraph.adapters.meta import CNAPsModel

from ._data import TINY


@pytest.fixture
def tiny_model():
    def make(**kwargs) -> CNAPsModel:
        torch.manual_seed(0)
        params = dict(TINY)
        params.update(kwargs)
        return CNAPsModel(kwargs.pop("n_source_classes", 6), **{k: v for k, v in params.items() if k != "n_source_classes"})
    return make
