"""A source's preprocessing settings are part of its scoring fingerprint (so of its cache keys)."""
import torch
import torch.nn as nn

from transfergraph.adapters.models.preprocess import Preprocess
from transfergraph.planner.common.fingerprint import model_fingerprint


def _plain() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3))


def test_preprocessing_settings_change_the_fingerprint():
    m = _plain()
    fp = model_fingerprint(m, transform=Preprocess(resize=16))
    assert model_fingerprint(m, transform=Preprocess(resize=16)) == fp
    assert model_fingerprint(m, transform=Preprocess(resize=32)) != fp
    assert model_fingerprint(m, transform=Preprocess(resize=16, mean=[0.5] * 3, std=[0.2] * 3)) != fp
