"""Streamed metrics (transfergraph.planner.metrics.streaming) are bitwise the in-memory ones for any
batch split, and their memory does not grow with the number of rows."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy.special import log_softmax

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.metrics import h_score, leep, logme, nce, reg_h_score
from transfergraph.planner.metrics._pairwise import PairwiseSum
from transfergraph.planner.metrics.streaming import (
    GaussianAccumulator,
    LeepAccumulator,
    NceAccumulator,
    h_score_stream,
    leep_stream,
    nce_stream,
    reg_h_score_stream,
)
from transfergraph.planner.metrics.streaming_logme import LogmeAccumulator, logme_stream


def _batches(x, codes, size):
    size = len(x) if size == "n" else size
    return lambda: ((x[s:s + size], codes[s:s + size]) for s in range(0, len(x), size))


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 127, 128, 129, 255, 256, 1000, 4097, 33333])
def test_pairwise_sum_is_numpy_sum_bit_for_bit_whatever_the_pieces(n):
    rng = np.random.default_rng(n)
    values = rng.standard_normal(n) * np.exp(rng.uniform(-20, 20, n))
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, 9), replace=False)) if n > 1 else []
    acc = PairwiseSum(n)
    for part in np.split(values, cuts):
        acc.add(part)
    assert acc.total() == float(values.sum())
    one = PairwiseSum(n)
    for v in values:
        one.add(np.array([v]))
    assert one.total() == float(values.sum())


def test_pairwise_sum_refuses_a_wrong_count():
    acc = PairwiseSum(3)
    acc.add(np.ones(2))
    with pytest.raises(ValueError, match="got only 2"):
        acc.total()
    with pytest.raises(ValueError, match="got 4"):
        acc.add(np.ones(2))


def _inputs(seed, n=600, z=13, k=5, d=9, dtype=np.float64):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, n)
    codes[:k] = np.arange(k)
    log_probs = log_softmax(rng.standard_normal((n, z)) * 3 + np.eye(k, z)[codes] * 2, axis=1)
    feats = (rng.standard_normal((n, d)) * np.exp(rng.uniform(-3, 3, d)) + codes[:, None] * 0.5).astype(dtype)
    feats[:, 2] = 4.0  # an exactly constant column: dropped by both paths
    return codes, log_probs.astype(dtype) if dtype == np.float32 else log_probs, feats, k


@pytest.mark.parametrize("size", [1, 7, 128, 599, "n"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_streamed_metrics_are_bitwise_the_in_memory_ones(size, dtype):
    codes, lp, feats, k = _inputs(int(dtype == np.float32), dtype=dtype)
    n = len(codes)
    probs = np.exp(lp.astype(np.float64)).astype(dtype)
    assert leep_stream(_batches(lp, codes, size), n, k, log_probs=True) == leep(lp, codes, log_probs=True)
    assert leep_stream(_batches(probs, codes, size), n, k) == leep(probs, codes)
    assert nce_stream(_batches(lp, codes, size), k, log_probs=True) == nce(lp, codes, log_probs=True)
    assert nce_stream(_batches(probs, codes, size), k) == nce(probs, codes)
    assert h_score_stream(_batches(feats, codes, size), n, k) == h_score(feats, codes)
    assert reg_h_score_stream(_batches(feats, codes, size), n, k) == reg_h_score(feats, codes)


@pytest.mark.parametrize("seed", range(12))
def test_streamed_metrics_equal_on_random_shapes(seed):
    rng = np.random.default_rng(100 + seed)
    n, z = int(rng.integers(20, 3000)), int(rng.integers(2, 60))
    k, d = int(rng.integers(2, 9)), int(rng.integers(1, 70))
    codes, lp, feats, k = _inputs(seed, n=n, z=z, k=k, d=max(d, 3))
    size = int(rng.integers(1, n))
    assert leep_stream(_batches(lp, codes, size), n, k, log_probs=True) == leep(lp, codes, log_probs=True)
    assert nce_stream(_batches(lp, codes, size), k, log_probs=True) == nce(lp, codes, log_probs=True)
    assert h_score_stream(_batches(feats, codes, size), n, k) == h_score(feats, codes)
    assert reg_h_score_stream(_batches(feats, codes, size), n, k) == reg_h_score(feats, codes)


@pytest.mark.parametrize("seed", range(10))
def test_streamed_logme_equals_in_memory_to_1e_12_and_bitwise_when_n_below_d(seed):
    rng = np.random.default_rng(200 + seed)
    n, d, k = int(rng.integers(10, 2000)), int(rng.integers(1, 160)), int(rng.integers(2, 9))
    codes = rng.integers(0, k, n)
    codes[:k] = np.arange(k)
    feats = rng.standard_normal((n, d)) * np.exp(rng.uniform(-2, 2, d)) + codes[:, None] * rng.uniform(0, 1)
    if seed % 2:
        feats = np.maximum(feats, 0.0)  # ReLU features: dead units, a rank-deficient Gram matrix
    want = logme(feats, codes)
    for size in (1, 97, "n") if n <= 300 else (97, 1000, "n"):
        got = logme_stream(_batches(feats, codes, size), n, k)
        if n < d:
            assert got == want
        else:
            assert abs(got - want) <= 1e-12 * abs(want), (got, want)


def test_streamed_logme_refuses_bad_streams():
    codes, _, feats, k = _inputs(4, n=40)
    with pytest.raises(InputError, match="told n=50 rows; got 40"):
        logme_stream(_batches(feats, codes, 10), 50, k)
    acc = LogmeAccumulator(40, k)
    acc.add(feats[:20], codes[:20])
    with pytest.raises(InputError, match="must all have 9 columns; got 8"):
        acc.add(feats[20:, :8], codes[20:])


def test_the_covariance_spans_several_in_memory_blocks_bitwise():
    # d = 32: the in-memory kernels sum the covariance over blocks of 2**21 / 32 = 65,536 rows
    rng = np.random.default_rng(7)
    n, d, k = 70_000, 32, 4
    codes = rng.integers(0, k, n)
    feats = rng.standard_normal((n, d)) + codes[:, None] * 0.1
    for size in (4096, 65_536, 69_999):
        assert h_score_stream(_batches(feats, codes, size), n, k) == h_score(feats, codes)
        assert reg_h_score_stream(_batches(feats, codes, size), n, k) == reg_h_score(feats, codes)
    feats[:, 5] = -1.0  # a dropped column: the in-memory kernels then work on Fortran-ordered blocks
    for size in (4096, 69_999):
        assert h_score_stream(_batches(feats, codes, size), n, k) == h_score(feats, codes)
        assert reg_h_score_stream(_batches(feats, codes, size), n, k) == reg_h_score(feats, codes)


def test_all_constant_features_score_zero_as_in_memory():
    codes = np.arange(20) % 2
    feats = np.ones((20, 3))
    assert h_score_stream(_batches(feats, codes, 6), 20, 2) == h_score(feats, codes) == 0.0
    assert reg_h_score_stream(_batches(feats, codes, 6), 20, 2) == reg_h_score(feats, codes) == 0.0


def test_bad_streams_are_refused_with_the_argument_named():
    codes, lp, feats, k = _inputs(3, n=50)
    with pytest.raises(InputError, match="told n=60 rows; pass 1 got 50"):
        leep_stream(_batches(lp, codes, 10), 60, k, log_probs=True)
    with pytest.raises(InputError, match="told n=40 rows; pass 1 got more"):
        leep_stream(_batches(lp, codes, 10), 40, k, log_probs=True)
    with pytest.raises(InputError, match=r"codes of leep\(\) must lie in \[0, 3\)"):
        leep_stream(_batches(lp, codes, 10), 50, 3, log_probs=True)
    with pytest.raises(InputError, match="logits were passed.*batch of rows 0..9"):
        leep_stream(_batches(lp * -1.0 + 5.0, codes, 10), 50, k, log_probs=True)
    with pytest.raises(InputError, match="rows summing to 1"):
        nce_stream(_batches(lp, codes, 10), k)  # log-probabilities without log_probs=True
    with pytest.raises(InputError, match="must be finite"):
        bad = feats.copy()
        bad[3, 1] = np.nan
        h_score_stream(_batches(bad, codes, 10), 50, k)
    with pytest.raises(InputError, match="n_classes of LeepAccumulator"):
        LeepAccumulator(50, 1)
    acc = LeepAccumulator(50, k, log_probs=True)
    for x, c in _batches(lp, codes, 25)():
        acc.add_joint(x, c)
    acc.add_likelihood(lp[:25], codes[:25])
    with pytest.raises(InputError, match="after pass 2 began"):
        acc.add_joint(lp[:25], codes[:25])
    with pytest.raises(InputError, match="pass 2 got 25"):
        acc.value()
    with pytest.raises(InputError, match="at least one row"):
        NceAccumulator(3).value()
    gauss = GaussianAccumulator(50, k)
    gauss.add_means(feats[:25], codes[:25])
    with pytest.raises(InputError, match="must all have 9 columns; got 8"):
        gauss.add_means(feats[25:, :8], codes[25:])


def _generated(n, width, k, seed, kind):
    """Batches of ``n`` rows made on the fly (the same on every pass): nothing of size n is held."""
    def batches():
        for s in range(0, n, 4096):
            rng = np.random.default_rng((seed, s))
            m = min(4096, n - s)
            codes = rng.integers(0, k, m)
            x = rng.standard_normal((m, width)) + codes[:, None] * 0.2
            yield (log_softmax(x, axis=1) if kind == "probs" else x), codes
    return batches


def _peak(func, *args) -> float:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        func(*args)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _all_streamed(n):
    k = 10
    leep_stream(_generated(n, 10, k, 1, "probs"), n, k, log_probs=True)
    nce_stream(_generated(n, 10, k, 1, "probs"), k, log_probs=True)
    acc = GaussianAccumulator(n, k)
    for x, c in _generated(n, 32, k, 2, "features")():
        acc.add_means(x, c)
    for x, _ in _generated(n, 32, k, 2, "features")():
        acc.add_covariance(x)
    acc.h_score()
    acc.reg_h_score()
    logme_stream(_generated(n, 32, k, 2, "features"), n, k)


def test_the_streamed_metrics_memory_does_not_grow_with_n():
    # Z = 10, d = 32; both sizes fill the covariance's 16 MiB block (65,536 rows at d = 32)
    small, large = _peak(_all_streamed, 80_000), _peak(_all_streamed, 320_000)
    assert large < 1.1 * small, (small, large)
    assert large < 24 * 2**20  # one 16 MiB block, one batch and the (|Y|, Z), (d, d) statistics
