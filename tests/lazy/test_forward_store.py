"""The forward-output store: a model forwards each sample of a dataset once, across score() calls."""
from __future__ import annotations

import numpy as np
import torch

from transfergraph.planner import Source, Task
from transfergraph.planner.inputs.lazy import ArrayFileReader, LazyInputs
from transfergraph.planner.scoring import score

from lazy_support import conv_model


class Counting(torch.nn.Module):
    """Counts the samples it forwards (in-process executor only)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.count = 0

    def forward(self, x):
        self.count += len(x)
        return self.inner(x)


def _data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 1, 8, 8)).astype(np.float32)
    y = np.repeat([0, 1, 2], 20)
    np.save(tmp_path / "x.npy", x)
    return x, y, np.load(tmp_path / "x.npy", mmap_mode="r")


def test_new_metric_new_target_and_rerun_never_forward_again(tmp_path):
    x, y, mm = _data(tmp_path)
    model = Counting(conv_model(0, 1))
    src = [Source("m", model)]
    first = [Task("a", LazyInputs(ArrayFileReader(mm), np.arange(40)), y[:40])]
    cache = tmp_path / "cache"
    s1 = score(src, first, metrics=("leep",), cache=cache, progress=False)
    assert model.count == 40
    # one more metric on the same target: the pair cache misses, the output store serves the forward
    s2 = score(src, first, metrics=("leep", "nce"), cache=cache, progress=False)
    assert model.count == 40
    assert s2.set_index("metric").loc["leep", "score"] == s1["score"].iloc[0]
    # a new target cut from the same data: only its 20 unseen rows are forwarded
    second = [Task("b", LazyInputs(ArrayFileReader(mm), np.arange(20, 60)), y[20:60])]
    s3 = score(src, second, metrics=("leep", "nce"), cache=cache, progress=False)
    assert model.count == 60
    fresh = score([Source("m", conv_model(0, 1))], [Task("b", x[20:60], y[20:60])], metrics=("leep", "nce"),
                  progress=False)
    np.testing.assert_array_equal(s3.sort_values("metric")["score"].to_numpy(),
                                  fresh.sort_values("metric")["score"].to_numpy())


def test_in_memory_pools_are_stored_by_sample_content(tmp_path):
    x, y, _ = _data(tmp_path)
    model = Counting(conv_model(1, 1))
    src = [Source("m", model)]
    score(src, [Task("a", x[:30], y[:30])], metrics=("leep",), cache=tmp_path / "c", progress=False)
    assert model.count == 30
    # a differently sliced copy of the same samples plus 10 new ones: only the new ones are forwarded
    score(src, [Task("b", x[::-1][20:60].copy(), y[::-1][20:60])], metrics=("h_score", "nce"), cache=tmp_path / "c",
          progress=False)
    assert model.count == 40


def test_a_changed_model_does_not_reuse_outputs(tmp_path):
    x, y, _ = _data(tmp_path)
    a, b = Counting(conv_model(0, 1)), Counting(conv_model(2, 1))
    score([Source("m", a)], [Task("t", x, y)], metrics=("leep",), cache=tmp_path / "c", progress=False)
    score([Source("m", b)], [Task("t", x, y)], metrics=("nce",), cache=tmp_path / "c", progress=False)
    assert a.count == 60 and b.count == 60
