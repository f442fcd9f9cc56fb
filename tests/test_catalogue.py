"""Catalogue of bad inputs (issue 8): each case lists its expected exit code and message fragment.

Every case runs the real CLI in-process. Exit 2 = bad config/option/input (message names the key,
option or file; no traceback); exit 1 = per-pair failures (all outputs still written).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
import torch
import yaml
from torch import nn
from typer.testing import CliRunner

from transfergraph.adapters.models import SmallCNN, save_model
from transfergraph.adapters.models.checkpoint import ARCHITECTURES, register_architecture
from transfergraph.cli import app

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "configs/tiny.yaml").read_text())


class SpatialLogits(nn.Module):
    """A 'classifier' whose output is (b, K, H, W) instead of (b, K)."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.hparams = {"n_classes": n_classes}
        self.conv = nn.Conv2d(1, n_classes, 1)

    def forward(self, x):
        return self.conv(x)


class OneSampleOnly(nn.Module):
    """A classifier that flattens the whole batch into one row: it passes the one-sample fit check of the
    config and fails on every real batch, so each of its pairs fails at scoring time."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.hparams = {"n_classes": n_classes}
        self.fc = nn.Linear(64, n_classes)

    def forward(self, x):
        return self.fc(x.reshape(1, -1))


@pytest.fixture(autouse=True)
def _test_archs():
    register_architecture("spatial_logits", SpatialLogits)
    register_architecture("one_sample_only", OneSampleOnly)
    yield
    ARCHITECTURES.pop("spatial_logits", None)
    ARCHITECTURES.pop("one_sample_only", None)


def _config(tmp: Path, patch: Callable[[dict], None] | None = None, text: str | None = None) -> str:
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    cfg["models"]["per_task"] = False  # keep cases fast: only the external model(s)
    if patch:
        patch(cfg)
    path = tmp / "config.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(cfg))
    return str(path)


def _checkpoint(tmp: Path, kind: str) -> str:
    path = tmp / f"{kind}.pt"
    if kind == "garbage":
        path.write_bytes(b"this is not a checkpoint at all")
    elif kind in ("good", "truncated"):
        save_model(SmallCNN(3, width=4, feature_dim=8), path)
        if kind == "truncated":
            path.write_bytes(path.read_bytes()[:200])
    elif kind == "rgb":
        save_model(SmallCNN(3, in_channels=3, width=4, feature_dim=8), path)
    elif kind == "one_sample":
        save_model(OneSampleOnly(), path, arch="one_sample_only")
    elif kind == "spatial":
        save_model(SpatialLogits(), path, arch="spatial_logits")
    return str(path)


def _external(kind: str, **extra):
    def patch_fn(tmp):
        return lambda c: c["models"].update(external=[{"name": "mine", "checkpoint": _checkpoint(tmp, kind), **extra}])
    return patch_fn


@dataclass
class Case:
    name: str
    exit_code: int
    fragment: str
    build: Callable[[Path], list[str]]


def _run(tmp, patch=None, text=None, extra=()):
    return ["run", _config(tmp, patch, text), "--out", str(tmp / "out"), "--executor", "local", "--quiet", *extra]


CASES = [
    Case("malformed YAML", 2, "is not valid YAML at line", lambda t: _run(t, text="tasks: [ {name: a\n")),
    Case("unknown key", 2, "models.trainng: unknown key",
         lambda t: _run(t, lambda c: c["models"].update(trainng={}))),
    Case("wrong type", 2, "plan.top_k", lambda t: _run(t, lambda c: c["plan"].update(top_k="three"))),
    Case("boolean for an integer", 2, "plan.top_k: expected an integer; got bool True",
         lambda t: _run(t, lambda c: c["plan"].update(top_k=True))),
    Case("boolean for training epochs", 2, "models.training.epochs: expected an integer; got bool True",
         lambda t: _run(t, lambda c: c["models"]["training"].update(epochs=True))),
    Case("quoted number for an integer", 2, "plan.top_k: expected an integer; got str '3'",
         lambda t: _run(t, lambda c: c["plan"].update(top_k="3"))),
    Case("float for an integer", 2, "plan.budget: expected an integer; got float 2.0",
         lambda t: _run(t, lambda c: c["plan"].update(budget=2.0))),
    Case("missing required field", 2, "tasks: required key is missing", lambda t: _run(t, lambda c: c.pop("tasks"))),
    Case("unknown metric", 2, "scoring.metrics", lambda t: _run(t, lambda c: c["scoring"].update(metrics=["leap"]))),
    Case("nonexistent dataset root", 2, "root for Fashion-MNIST must contain",
         lambda t: _run(t, lambda c: c["data"].update(dataset="fashion_mnist", root=str(t / "no-such-dir")))),
    Case("class subset naming absent classes", 2, "[11] not in dataset 'digits'",
         lambda t: _run(t, lambda c: c["tasks"][0].update(classes=[0, 11]))),
    Case("single class absent from the dataset", 2, "tasks[0] (low).classes: [42] not in dataset 'digits'",
         lambda t: _run(t, lambda c: c["tasks"][0].update(classes=[42]))),
    Case("shift value of the wrong type", 2,
         "tasks.0.shift.rotate: expected a number or a boolean (true or false); got str 'lots'",
         lambda t: _run(t, lambda c: c["tasks"][0].update(shift={"rotate": "lots"}))),
    Case("empty image folder", 2, "data.root: image folder root",
         lambda t: _run(t, lambda c: c.update(data={"kind": "image_folder", "root": str(_mkdir(t / "empty"))}))),
    Case("image folder with an unreadable image file", 2, "file(s) cannot be read as images",
         lambda t: _run(t, lambda c: c.update(data={"kind": "image_folder", "root": str(_images(t, bad="b/1.png"))}))),
    Case("image folder class name that is no folder", 2, "(name -> position): {'a': 0, 'b': 1, 'c': 2}",
         lambda t: _run(t, lambda c: (c.update(data={"kind": "image_folder", "root": str(_images(t))}),
                                      c.update(tasks=[{"name": "first", "classes": ["a", "jacket"]}, {"name": "all"}])))),
    Case("image folder of mixed sizes without image_size", 2, "data.image_size: image folder",
         lambda t: _run(t, lambda c: c.update(data={"kind": "image_folder", "root": str(_images(t, big="c/9.png"))}))),
    Case("unreadable checkpoint", 2, "cannot be read safely", lambda t: _run(t, _external("garbage")(t))),
    Case("truncated checkpoint", 2, "cannot be read safely", lambda t: _run(t, _external("truncated")(t))),
    Case("checkpoint for a different architecture", 2, "holds architecture 'small_cnn'",
         lambda t: _run(t, _external("good", arch="spatial_logits")(t))),
    Case("missing checkpoint file", 2, "does not exist",
         lambda t: _run(t, lambda c: c["models"].update(external=[{"name": "m", "checkpoint": str(t / "none.pt")}]))),
    Case("model whose output is not 2-D", 2, "must return 2-D logits", lambda t: _run(t, _external("spatial", arch="spatial_logits")(t))),
    Case("model that fails on every real batch", 1, "some pairs failed",
         lambda t: _run(t, lambda c: (c["models"].update(per_task=True),
                                      c["models"].update(external=[{"name": "mine", "arch": "one_sample_only",
                                                                    "checkpoint": _checkpoint(t, "one_sample")}])))),
    Case("model that does not fit the inputs", 2, "Set preprocess (channels", lambda t: _run(t, _external("rgb")(t))),
    Case("output directory is a file", 2, "is a file, not a folder",
         lambda t: ["run", _config(t), "--out", str(_touch(t / "afile")), "--executor", "local"]),
    Case("output directory not writable", 2, "cannot be created",
         lambda t: ["run", _config(t), "--out", "/sys/transfergraph-out", "--executor", "local"]),
    Case("conflicting options --cache/--no-cache", 2, "--cache and --no-cache conflict",
         lambda t: _run(t, extra=("--cache", str(t / "c"), "--no-cache"))),
    Case("conflicting options --address with local", 2, "--address needs the ray executor",
         lambda t: _run(t, extra=("--address", "127.0.0.1:1"))),
    Case("unknown executor", 2, "--executor must be 'local' or 'ray'",
         lambda t: ["run", _config(t), "--executor", "spark"]),
    Case("unknown --device", 2, "--device: expected 'cpu' | 'cuda' | 'cuda:N'; got str 'tpu'",
         lambda t: _run(t, extra=("--device", "tpu"))),
    Case("--device naming an absent CUDA device", 2, "--device 'cuda:99'",
         lambda t: _run(t, extra=("--device", "cuda:99"))),
    Case("unknown scoring.device", 2, "scoring.device: expected 'cpu' | 'cuda' | 'cuda:N'",
         lambda t: _run(t, lambda c: c["scoring"].update(device="tpu"))),
    Case("nonexistent config", 2, "does not exist", lambda t: ["run", str(t / "missing.yaml")]),
    Case("duplicate task names", 2, "names must be unique",
         lambda t: _run(t, lambda c: c["tasks"][1].update(name=c["tasks"][0]["name"]))),
    Case("validate into another config's output folder", 2, "holds a run of config 'someone_else'",
         lambda t: ["validate", _config(t), "--out", str(_other_run(t / "out")), "--executor", "local"]),
    Case("validate --decisions into another config's output folder", 2, "holds a run of config 'someone_else'",
         lambda t: ["validate", _config(t), "--decisions", "--out", str(_other_run(t / "out"))]),
    Case("plan from a truncated score table", 2, "is the file truncated?",
         lambda t: ["plan", str(_write(t / "s.csv", "source,source_task,target,metric,score,normalized,status,error,"
                                       "n_target,n_source_classes,seconds\nm,,a,leep,-1.0,0.5,ok,,30,3,0.1\nm,,b,le")),
                    "--out", str(t / "p")]),
    Case("plan from a CSV that is not a score table", 2, "lacks columns",
         lambda t: ["plan", str(_write(t / "x.csv", "a,b\n1,2\n")), "--out", str(t / "p")]),
]


def _other_run(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text('{"summary": {"name": "someone_else"}}')
    return out


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _images(tmp: Path, bad: str | None = None, big: str | None = None) -> Path:
    """An image folder tmp/images/{a,b,c}/{0..3}.png (8 x 8 gray), with a garbage file ``bad`` or a
    larger image ``big`` when given."""
    import numpy as np
    from PIL import Image

    root = tmp / "images"
    for k, name in enumerate("abc"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(4):
            Image.fromarray(np.full((8, 8), 60 * k + i, np.uint8)).save(root / name / f"{i}.png")
    if bad:
        (root / bad).write_bytes(b"not an image")
    if big:
        Image.fromarray(np.zeros((12, 12), np.uint8)).save(root / big)
    return root


def _touch(path: Path) -> Path:
    path.write_text("")
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_catalogue(case: Case, tmp_path):
    result = CliRunner().invoke(app, case.build(tmp_path))
    output = result.output
    assert result.exit_code == case.exit_code, f"{case.name}: exit {result.exit_code}\n{output}"
    assert case.fragment in output, f"{case.name}: {case.fragment!r} not in\n{output}"
    assert "Traceback" not in output
    if case.exit_code == 1:  # per-pair failures: outputs are still written and the failure is explained
        out = tmp_path / "out"
        scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
        failed = scores[scores["status"] == "failed"]
        assert len(failed) and (failed["source"] == "mine").all() and failed["error"].str.len().min() > 10
        assert (scores[scores["source"] != "mine"]["status"] == "ok").all()
        assert "Failed pairs" in (out / "report.md").read_text()


def test_catalogue_has_at_least_15_cases():
    assert len(CASES) >= 15
