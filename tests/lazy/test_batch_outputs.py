"""Forward outputs stream batch by batch: a job with a forward-output store never holds more than one
batch of what it forwards, reads back only what its metrics use, and names bad batches by its batch size."""
from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn

from transfergraph.planner import Source, Task
from transfergraph.planner.runtime.forward import forward, forward_batches
from transfergraph.planner.storage.output_store import ForwardStore
from transfergraph.planner.scoring import score
from transfergraph.planner.scoring.outputs import forward_to_store, job_outputs

WIDTH = 256  # feature width: what holding the features of n samples would cost is n * WIDTH * 4 bytes
OPTIONS = dict(transform=None, feature_layer=None, pooling=None, want_features=True, batch_size=64,
               device=None, num_workers=0)


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, WIDTH), nn.ReLU(), nn.Linear(WIDTH, 3)).eval()


def _pool(n: int) -> np.ndarray:
    return np.random.default_rng(n).standard_normal((n, 8)).astype(np.float32)


def _traced_peak(fn) -> int:
    """Peak bytes NumPy and Python allocated while ``fn`` ran (torch's own buffers are not traced)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_forwarding_into_the_store_holds_one_batch_whatever_the_sample_count(tmp_path):
    model = _model()
    warm = np.arange(64)  # first calls import and cache things: not part of the pass's own memory
    forward_to_store(ForwardStore(tmp_path / "warm", "k"), warm, model, _pool(64), warm, OPTIONS)
    peaks, held = {}, {}
    for n in (512, 4096):
        x, ids = _pool(n), np.arange(n)
        store = ForwardStore(tmp_path / f"s{n}", "k")
        peaks[n] = _traced_peak(lambda: forward_to_store(store, ids, model, x, ids, OPTIONS))
        held[n] = _traced_peak(lambda: forward(model, x, ids, **OPTIONS))
    features_growth = (4096 - 512) * WIDTH * 4
    # the in-memory pass keeps every sample's features (the check can see it) ...
    assert held[4096] - held[512] >= features_growth
    # ... the streamed one does not grow with the samples (ids and bookkeeping only)
    assert peaks[4096] - peaks[512] < 0.05 * features_growth
    assert peaks[4096] < 4 * 64 * WIDTH * 4 + 64 * 1024


def test_the_stored_shard_and_the_batches_are_bitwise_the_in_memory_pass(tmp_path):
    model, x = _model(1), _pool(300)
    ids = np.arange(300)[::-1].copy()
    whole = forward(model, x, ids, **OPTIONS)
    parts = list(forward_batches(model, x, ids, **OPTIONS))
    assert [p.lo for p in parts] == list(range(0, 300, 64))
    np.testing.assert_array_equal(np.concatenate([p.logits for p in parts]), whole.logits)
    np.testing.assert_array_equal(np.concatenate([p.features for p in parts]), whole.features)
    store = ForwardStore(tmp_path, "k")
    forward_to_store(store, ids, model, x, ids, OPTIONS)
    found, out = store.lookup(np.arange(300), want_features=True)
    assert found.all()
    np.testing.assert_array_equal(out["logits"], whole.logits[::-1])
    np.testing.assert_array_equal(out["features"], whole.features[::-1])
    assert out["logits"].dtype == whole.logits.dtype and out["features"].dtype == whole.features.dtype


def test_a_job_reads_back_only_what_its_metrics_use(tmp_path):
    model, x = _model(2), _pool(200)
    union = np.arange(0, 200, 2)
    job = SimpleNamespace(store_dir=str(tmp_path), store_key="k", sample_ids=None, batch_size=32,
                          device=None, num_workers=0)
    payload = SimpleNamespace(load=lambda: model, transform=None, feature_layer=None, pooling=None)
    logits_only = job_outputs(job, payload, x, union, want_features=False)
    assert logits_only.features is None and logits_only.feature_error is None
    expected = forward(model, x, union, want_features=False, batch_size=32)
    np.testing.assert_array_equal(logits_only.logits, expected.logits)
    # the features were captured for the store all the same: a feature metric later reads them
    with_features = job_outputs(job, payload, x, union, want_features=True)
    np.testing.assert_array_equal(with_features.features, forward(model, x, union, batch_size=32).features)


class FailsAt(nn.Module):
    def __init__(self, at: int) -> None:
        super().__init__()
        self.inner, self.at, self.seen = _model(3), at, 0

    def forward(self, x):
        self.seen += len(x)
        if self.seen > self.at:
            raise RuntimeError("broken batch")
        return self.inner(x)


def test_a_pass_failing_midway_leaves_no_shard(tmp_path):
    store = ForwardStore(tmp_path, "k")
    ids = np.arange(300)
    with pytest.raises(RuntimeError, match="broken batch"):
        forward_to_store(store, ids, FailsAt(150), _pool(300), ids, OPTIONS)
    assert list(store.path.iterdir()) == []
    assert not store.lookup(ids, want_features=False)[0].any()


class NaNAt(nn.Module):
    """Logits NaN for inputs whose first value is exactly 9."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = _model(4)

    def forward(self, x):
        out = self.inner(x)
        return torch.where(x[:, :1] == 9.0, torch.full_like(out, float("nan")), out)


@pytest.mark.parametrize("batch_size, batch, rows", [(100, 2, "rows 200-299"), (None, 1, "rows 256-299")])
def test_non_finite_outputs_name_the_forward_batch_of_the_batch_size_in_use(batch_size, batch, rows):
    x = _pool(300)
    x[270, 0] = 9.0
    df = score([Source("broken", NaNAt())], [Task("t", x, np.arange(300) % 3)], metrics=["leep"],
               batch_size=batch_size, progress=False)
    err = df.error.iloc[0]
    size = batch_size or 256
    assert f"in forward batch {batch} of {size} rows ({rows} of the 300 distinct samples" in err


def test_non_finite_outputs_served_by_the_store_name_the_row_and_the_store(tmp_path):
    x = _pool(300)
    x[270, 0] = 9.0
    df = score([Source("broken", NaNAt())], [Task("t", x, np.arange(300) % 3)], metrics=["leep"],
               batch_size=100, cache=tmp_path / "c", progress=False)
    err = df.error.iloc[0]
    assert "target sample 270" in err and "row 270 of the 300 distinct samples" in err
    assert "forward-output store" in err and "forward batch" not in err
