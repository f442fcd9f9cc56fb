"""Configs with on-disk data (data.kind) and zoo models (arch + checkpoint + preprocess), via the CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision
import yaml
from typer.testing import CliRunner

from transfergraph.cli import app

from lazy_support import image_folder

runner = CliRunner()


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    base = tmp_path_factory.mktemp("zoo")
    root = image_folder(base / "imgs", classes=4, per_class=10, size=24)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(num_classes=5).state_dict(), base / "r18.pt")
    torch.save(torchvision.models.squeezenet1_1(num_classes=3).state_dict(), base / "sq.pt")
    return base, root


def _config(base, root, external, **data):
    cfg = {
        "name": "zoo",
        "data": {"kind": "image_folder", "root": str(root), "test_fraction": 0.25, **data},
        "tasks": [{"name": "all"}, {"name": "first", "classes": [0, 1]}, {"name": "last", "classes": [2, 3]},
                  {"name": "rot", "classes": [0, 1, 2], "shift": {"rotate": 20}}],
        "models": {"per_task": False, "external": external},
        "scoring": {"metrics": ["leep", "h_score"], "executor": "local", "batch_size": 8, "device": "cpu"},
        "plan": {"top_k": 1},
    }
    path = base / f"cfg{len(list(base.glob('cfg*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(path, out):
    return runner.invoke(app, ["run", str(path), "--out", str(out), "--quiet", "--no-cache"])


def test_torchvision_checkpoint_with_preprocess_runs_end_to_end(zoo, tmp_path):
    base, root = zoo
    path = _config(base, root, [
        {"name": "r18", "arch": "torchvision:resnet18", "checkpoint": str(base / "r18.pt"),
         "preprocess": {"resize": 32, "center_crop": 28}},
        {"name": "sq", "arch": "torchvision:squeezenet1_1", "checkpoint": str(base / "sq.pt"),
         "preprocess": {"resize": 32}, "feature_layer": "features", "pooling": "avg"},
    ])
    result = _run(path, tmp_path / "out")
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(tmp_path / "out" / "scores.csv", keep_default_na=False)
    assert len(scores) == 2 * 4 * 2 and (scores["status"] == "ok").all()
    assert set(scores["target"]) == {"all", "first", "last", "rot"}
    assert np.isfinite(scores["score"]).all()


@pytest.mark.parametrize("entry, match", [
    ({"arch": "torchvision:resnet_does_not_exist", "checkpoint": "r18.pt"},
     r"models\.external\[0\] \(bad\)\.arch: unknown architecture 'torchvision:resnet_does_not_exist'"),
    ({"arch": "torchvision:resnet18", "checkpoint": "missing.pt"},
     r"models\.external\[0\] \(bad\)\.checkpoint: checkpoint .*missing\.pt does not exist"),
    ({"arch": "torchvision:resnet18", "checkpoint": "r18.pt", "preprocess": {"channels": 1, "resize": 32}},
     r"models\.external\[0\] \(bad\)\.preprocess: the model does not accept task 'all'"),
    ({"arch": "torchvision:resnet18", "checkpoint": "sq.pt"},
     r"models\.external\[0\] \(bad\)\.checkpoint: checkpoint .*sq\.pt does not fit architecture"),
])
def test_zoo_entry_errors_exit_2_naming_the_entry(zoo, tmp_path, entry, match):
    base, root = zoo
    entry = dict(entry, name="bad", checkpoint=str(base / entry["checkpoint"]))
    result = _run(_config(base, root, [entry]), tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    import re

    assert re.search(match, " ".join(result.output.split())), result.output


def test_arch_from_a_zoo_without_checkpoint_is_a_config_error(zoo, tmp_path):
    base, root = zoo
    result = _run(_config(base, root, [{"name": "nock", "arch": "torchvision:resnet18"}]), tmp_path / "out")
    assert result.exit_code == 2 and "never downloads weights" in result.output, result.output


def test_npy_and_hf_datasets_kinds(zoo, tmp_path):
    base, _ = zoo
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(48, 3, 16, 16)).astype(np.float32)
    y = np.repeat(np.arange(4), 12)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    ext = [{"name": "sq", "arch": "torchvision:squeezenet1_1", "checkpoint": str(base / "sq.pt"),
            "preprocess": {"resize": 32}, "feature_layer": "features", "pooling": "max"}]
    cfg = _config(base, tmp_path, ext)
    data = yaml.safe_load(cfg.read_text())
    data["data"] = {"kind": "npy", "root": str(tmp_path / "x.npy"), "labels": str(tmp_path / "y.npy")}
    cfg.write_text(yaml.safe_dump(data))
    result = _run(cfg, tmp_path / "npy")
    assert result.exit_code == 0, result.output
    npy_scores = pd.read_csv(tmp_path / "npy" / "scores.csv")
    datasets = pytest.importorskip("datasets")
    feats = datasets.Features({"pixels": datasets.Array3D((3, 16, 16), "float32"), "label": datasets.Value("int64")})
    datasets.Dataset.from_dict({"pixels": list(x), "label": y}, features=feats).save_to_disk(str(tmp_path / "hf"))
    data["data"] = {"kind": "hf_datasets", "root": str(tmp_path / "hf"), "input_column": "pixels"}
    cfg.write_text(yaml.safe_dump(data))
    result = _run(cfg, tmp_path / "hf_out")
    assert result.exit_code == 0, result.output
    hf_scores = pd.read_csv(tmp_path / "hf_out" / "scores.csv")
    np.testing.assert_array_equal(hf_scores["score"].to_numpy(), npy_scores["score"].to_numpy())
