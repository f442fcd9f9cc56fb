"""transfergraph.planner.runtime.forward: the one batched forward pass behind scoring and head retraining."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from transfergraph.planner.runtime.forward import forward, prefers_channels_last


class StrideProbe(nn.Module):
    """Records whether each batch it sees is in channels-last order, then a conv classifier."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.seen: list[bool] = []
        self.net = nn.Sequential(
            nn.Conv2d(channels, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(4 * 4 * 4, 6), nn.ReLU(), nn.Linear(6, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.stride(1) == 1 and x.stride(3) == x.shape[1])
        return self.net(x)


@pytest.mark.parametrize("channels", [1, 3])
def test_conv_models_on_cpu_get_channels_last_batches_with_the_same_outputs(channels):
    """Channels-last is a speed choice only: logits and features match the NCHW pass to float32 rounding,
    in the same row order, for C = 1 (where .contiguous(channels_last) alone would not restride) and C = 3."""
    x = np.random.default_rng(0).random((70, channels, 8, 8), dtype=np.float32)
    model = StrideProbe(channels)
    fast = forward(model, x, batch_size=32)
    assert model.seen == [True, True, True]
    model.seen.clear()
    plain = forward(model, x, batch_size=32, channels_last=False)
    assert model.seen == [False, False, False]
    np.testing.assert_allclose(fast.logits, plain.logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast.features, plain.features, rtol=1e-5, atol=1e-6)
    # and equal to the model called directly on the samples in order
    with torch.no_grad():
        direct = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(fast.logits, direct, rtol=1e-5, atol=1e-6)


def test_channels_last_only_for_conv_models_on_cpu():
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 2))
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    assert prefers_channels_last(conv, torch.device("cpu"))
    assert not prefers_channels_last(mlp, torch.device("cpu"))
    assert not prefers_channels_last(conv, torch.device("cuda"))  # a device object needs no GPU to exist


def test_forward_is_deterministic_and_leaves_inputs_alone():
    x = np.random.default_rng(1).random((40, 1, 8, 8), dtype=np.float32)
    before = x.copy()
    model = StrideProbe(1)
    a, b = forward(model, x, batch_size=16), forward(model, x, batch_size=16)
    assert np.array_equal(a.logits, b.logits) and np.array_equal(a.features, b.features)
    assert np.array_equal(x, before)


def test_channels_last_must_be_a_bool_or_none():
    x = np.zeros((4, 1, 8, 8), dtype=np.float32)
    with pytest.raises(ValueError, match=r"channels_last of forward\(\) must be True, False or None; got 'yes'"):
        forward(StrideProbe(1), x, channels_last="yes")
