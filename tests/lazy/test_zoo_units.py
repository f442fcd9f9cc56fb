"""Zoo building blocks: architectures by name, state_dict loading, preprocessing, optional extras."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torchvision

from transfergraph.adapters.models.preprocess import Preprocess
from transfergraph.adapters.models.zoo import arch_preprocess_defaults, build_architecture, load_zoo_model, num_classes_of
from transfergraph.planner.common.exceptions import CheckpointError, InputError


def test_torchvision_state_dict_round_trip_infers_the_class_count(tmp_path):
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_small(num_classes=7)
    torch.save({"state_dict": model.state_dict()}, tmp_path / "m.pt")  # a wrapped state_dict
    loaded = load_zoo_model("torchvision:mobilenet_v3_small", tmp_path / "m.pt")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x), rtol=0, atol=0)
    assert num_classes_of(model.state_dict()) == 7


def test_timm_architecture_with_a_local_checkpoint(tmp_path):
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=4)
    torch.save(model.state_dict(), tmp_path / "t.pt")
    loaded = load_zoo_model("timm:test_resnet", tmp_path / "t.pt")
    assert loaded(torch.rand(1, 3, 32, 32)).shape == (1, 4)
    defaults = arch_preprocess_defaults("timm:test_resnet", loaded)
    assert set(defaults) == {"resize", "center_crop", "mean", "std"}


def test_missing_timm_extra_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(InputError, match=r"pip install 'transfergraph\[timm\]'"):
        build_architecture("timm:resnet18")


def test_unknown_architectures_and_bad_checkpoints(tmp_path):
    with pytest.raises(InputError, match="torchvision has no model 'resnet_x'"):
        build_architecture("torchvision:resnet_x")
    with pytest.raises(InputError, match="prefix must be 'torchvision:' or 'timm:'"):
        build_architecture("keras:resnet18")
    with pytest.raises(InputError, match="registered"):
        build_architecture("no_such_plugin")
    with pytest.raises(CheckpointError, match="never downloads weights"):
        load_zoo_model("torchvision:resnet18", tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_zoo_model("torchvision:resnet18", tmp_path / "junk.pt")


def test_torchvision_defaults_come_from_the_weights_metadata():
    d = arch_preprocess_defaults("torchvision:resnet18")
    assert d["resize"] == 256 and d["center_crop"] == 224
    np.testing.assert_allclose(d["mean"], [0.485, 0.456, 0.406])


def test_preprocess_channels_resize_crop_normalize():
    x = torch.rand(2, 1, 20, 30)
    out = Preprocess(channels=3, resize=10, center_crop=8, mean=[0.5] * 3, std=[0.25] * 3)(x)
    assert out.shape == (2, 3, 8, 8)
    ref = torchvision.transforms.v2.functional.center_crop(
        torchvision.transforms.v2.functional.resize(x.expand(-1, 3, -1, -1), [10], antialias=True), [8])
    torch.testing.assert_close(out, (ref - 0.5) / 0.25)
    assert Preprocess(channels=1)(torch.ones(1, 3, 4, 4)).shape == (1, 1, 4, 4)
    with pytest.raises(ValueError, match="mean/std have 3 channels"):
        Preprocess(mean=[0.5] * 3, std=[1.0] * 3)(torch.rand(1, 1, 4, 4))
    assert Preprocess(resize=4).fingerprint != Preprocess(resize=5).fingerprint
