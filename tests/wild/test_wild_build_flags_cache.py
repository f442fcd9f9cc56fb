"""Two sources rebuilt from ONE checkpoint file with different build flags are two models for the
score cache: runs against a cache (the first, which fills it, and the next, which reads it) give each
source the scores it gets without a cache.

torchvision's googlenet keeps ``transform_input`` as a plain attribute: neither the weights nor
``repr`` show it, yet it changes every output. ``from_pretrained: true`` rebuilds the file with
``transform_input=True`` (as ``googlenet(weights=...)`` does), ``from_pretrained: false`` without.
"""
from __future__ import annotations

from _wild_support import googlenet_as_pretrained

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from transfergraph.adapters.models.external import preprocess_for
from transfergraph.cli import app
from transfergraph.config.models import PreprocessSpec

runner = CliRunner()
N_CLASSES = 3
PRE = {"resize": 32}


def _googlenet(x: np.ndarray) -> torch.nn.Module:
    """A googlenet built as for pretrained weights, its BatchNorm statistics set on the preprocessed
    ``x`` so that its outputs depend on its input (random weights alone give near-constant logits)."""
    spec = type("Spec", (), {"arch": None, "preprocess": PreprocessSpec(**PRE)})()
    images = preprocess_for(spec, None, "torchvision:googlenet")(torch.from_numpy(x))
    return googlenet_as_pretrained(images, N_CLASSES)


def _scores(out) -> pd.Series:
    df = pd.read_csv(out / "scores.csv", keep_default_na=False)
    return df.set_index(["source", "target", "metric"])["score"].sort_index()


@pytest.mark.slow
def test_sources_of_one_file_with_other_build_flags_keep_their_own_cached_scores(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    x = np.clip(rng.uniform(size=(4, 3, 1, 1))[y] + rng.normal(0, 0.2, size=(40, 3, 16, 16)), 0, 1).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    model = _googlenet(x)
    torch.save(model.state_dict(), tmp_path / "g.pt")
    entry = {"arch": "torchvision:googlenet", "checkpoint": str(tmp_path / "g.pt"), "preprocess": PRE}
    cfg = {
        "name": "flags",
        "data": {"kind": "npy", "root": str(tmp_path / "x.npy"), "labels": str(tmp_path / "y.npy"),
                 "test_fraction": 0.25},
        "tasks": [{"name": "all"}, {"name": "pair", "classes": [0, 1]}],
        "models": {"per_task": False, "training": {"epochs": 1, "width": 4, "feature_dim": 8},
                   "external": [{"name": "g_pretrained", **entry, "from_pretrained": True},
                                {"name": "g_scratch", **entry, "from_pretrained": False}]},
        "scoring": {"metrics": ["leep"], "executor": "local", "batch_size": 16, "device": "cpu"},
        "plan": {"top_k": 1},
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    runs = {}
    for out, cache in (("plain", ["--no-cache"]), ("first", ["--cache", str(tmp_path / "cache")]),
                       ("second", ["--cache", str(tmp_path / "cache")])):
        result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / out), *cache])
        assert result.exit_code == 0, result.output
        runs[out] = _scores(tmp_path / out)
    plain = runs["plain"]
    pre, scratch = plain.xs("g_pretrained", level="source"), plain.xs("g_scratch", level="source")
    assert len(pre) == 2 and (pre != scratch.loc[pre.index]).all()  # the flag changes every score
    pd.testing.assert_series_equal(runs["first"], plain)  # the run that fills the cache
    pd.testing.assert_series_equal(runs["second"], plain)  # each source is served its own cached scores
