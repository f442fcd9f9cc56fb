"""The scoring fingerprint covers a model's build flags (constructor arguments its forward pass reads,
which neither its weights nor ``repr`` show), and is unchanged for models built with their defaults."""
from __future__ import annotations

import functools

import pytest
import torch
import torch.nn as nn
import torchvision

from transfergraph.planner import Source
from transfergraph.planner.common.exceptions import CheckpointError
from transfergraph.planner.common.fingerprint import build_flags, model_fingerprint
from transfergraph.planner.inputs.model_ref import ModelRef, clear_loaded, weights_fingerprint


def _plain() -> nn.Module:
    m = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) / (10 + i))
    return m


def _googlenet(transform_input: bool, aux_logits: bool = False) -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.googlenet(num_classes=3, aux_logits=aux_logits, transform_input=transform_input,
                                        init_weights=False).eval()


class Scaled(nn.Module):
    """``scale`` is read by forward (a build flag); ``width`` only shapes the layer (not one)."""

    def __init__(self, scale: float = 1.0, width: int = 4) -> None:
        super().__init__()
        self.scale, self.width = scale, width
        torch.manual_seed(0)
        self.fc = nn.Linear(4, width)

    def forward(self, x):
        return self._head(x) * 1.0

    def _head(self, x):
        return self.fc(x) * self.scale


def test_keys_of_models_without_flags_are_the_ones_written_before():
    """Computed before build flags were hashed: caches of such models stay valid."""
    assert build_flags(_plain()) == []
    assert model_fingerprint(_plain()) == "06368626ff0b12298dcc64e7ca3d9a01"
    assert model_fingerprint(_plain(), feature_layer="2", pooling="avg") == "b46927a7132264c24db3cd21046862a7"
    for name in ("resnet18", "resnet50", "vit_b_16"):  # strides, groups, num_classes: structure only
        with torch.device("meta"):
            assert build_flags(torchvision.models.get_model(name, num_classes=3)) == [], name


def test_same_weights_with_other_flags_are_other_models():
    on, off = _googlenet(True), _googlenet(False)
    assert torch.equal(on.fc.weight, off.fc.weight) and repr(on) == repr(off)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(on(x), off(x))  # the flag changes the outputs ...
    assert build_flags(on) == [".aux_logits=False", ".transform_input=True"]
    assert build_flags(off) == [".aux_logits=False"]
    assert model_fingerprint(on) != model_fingerprint(off)  # ... so it changes the cache keys
    assert model_fingerprint(_googlenet(True)) == model_fingerprint(on)
    off.transform_input = True  # set after construction: what counts is the model as it is
    assert model_fingerprint(off) == model_fingerprint(on)


def test_flags_are_forward_reads_of_any_submodule():
    base = model_fingerprint(Scaled())
    assert build_flags(nn.Sequential(Scaled(scale=2.0))) == ["0.scale=2.0"]
    assert model_fingerprint(Scaled(scale=2.0)) != base
    assert model_fingerprint(Scaled(scale=1)) == base  # equal to the default: no flag
    assert build_flags(Scaled(width=4)) == [] and build_flags(Scaled(width=5)) == []  # shape, not flag


def test_refs_to_one_file_rebuilt_with_other_flags():
    on = Source("on", ModelRef(functools.partial(_googlenet, True), _googlenet(True), describe="g on"))
    off = Source("off", ModelRef(functools.partial(_googlenet, False), _googlenet(False), describe="g off"))
    assert on.model_fingerprint() != off.model_fingerprint()
    assert on.model_fingerprint() == model_fingerprint(_googlenet(True))
    # a file rewritten with the same weights but other flags is a changed model
    assert weights_fingerprint(_googlenet(True)) != weights_fingerprint(_googlenet(False))
    changed = ModelRef(functools.partial(_googlenet, False), _googlenet(True), describe="checkpoint g.pt")
    clear_loaded()
    with pytest.raises(CheckpointError, match=r"checkpoint g\.pt changed since this run loaded it"):
        changed.load()
