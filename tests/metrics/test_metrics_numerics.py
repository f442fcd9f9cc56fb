"""Numerical promises of the metrics: LogME's fixed point for n < D (item 4), GBC without cancellation
(item 7), one fused validation pass and a bounded BLAS pool for direct calls (item 8), and
non-finite model outputs reported as the source model's (item 6)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from transfergraph.planner import Source, Task, score
from transfergraph.planner.common.checks import check_probabilities, probability_argmax
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.metrics import gbc, get_blas_threads, logme, nce, set_blas_threads
from transfergraph.planner.metrics._threads import bounded_threads
from transfergraph.planner.metrics.logme import LogMEConvergenceWarning

# ---- item 4: LogME fixed point with n < D ----

ISSUE_LOGME = -0.939972848


def test_logme_fixed_point_n_lt_d_is_finite_warns_and_matches_profile():
    f = np.random.default_rng(6).standard_normal((6, 12))
    labels = [0, 0, 0, 1, 1, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert logme(f, labels) == pytest.approx(ISSUE_LOGME, abs=5e-10)  # profile: no warning at all
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = logme(f, labels, method="fixed_point")
    kinds = {w.category for w in caught}
    assert kinds == {LogMEConvergenceWarning}, kinds  # no NumPy RuntimeWarning (no NaN on the way)
    assert value == pytest.approx(ISSUE_LOGME, abs=5e-10)


def test_logme_fixed_point_sweep_of_random_n_lt_d_inputs_is_finite():
    worst = 0.0
    for s in range(80):
        rng = np.random.default_rng(s)
        n = int(rng.integers(4, 30))
        d, k = int(rng.integers(n + 1, 3 * n + 2)), int(rng.integers(2, 4))
        f, labels = rng.standard_normal((n, d)), np.arange(n) % k
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # NumPy overflow / invalid: NaN on the way
            warnings.simplefilter("ignore", LogMEConvergenceWarning)  # (checked first: a subclass)
            fp = logme(f, labels, method="fixed_point", max_iter=200)
        assert math.isfinite(fp), (s, n, d, k)
        prof = logme(f, labels)
        assert fp <= prof + 1e-9 * abs(prof)  # the profile is the global maximum
        worst = max(worst, (prof - fp) / abs(prof))
    assert worst < 0.03  # a local maximum or an iteration cap, never a wild value


# ---- item 7: GBC without cancellation ----

def _two_classes(sep: float) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 at (+-1, +-1), class 1 at (sep +- 1, +-1): spherical variance 1 in both classes, so
    D_B = sep^2 / 8 and GBC = -2 exp(-sep^2 / 8) exactly."""
    corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=float)
    f = np.concatenate([corners, corners + [sep, 0.0]])
    return f, np.repeat([0, 1], 4)


@pytest.mark.parametrize("sep", [16.3, 20.0, 33.0, 44.0, 60.0, 75.0])
def test_gbc_keeps_exact_values_of_well_separated_classes(sep):
    f, labels = _two_classes(sep)
    expected = -2.0 * math.exp(-sep * sep / 8.0)  # from -1.8e-15 down to -1.3e-305
    assert gbc(f, labels, n_components=None) == pytest.approx(expected, rel=1e-9)
    assert gbc(torch.tensor(f), labels, n_components=None) == pytest.approx(expected, rel=1e-9)


def test_gbc_ranks_easy_targets():
    values = [gbc(*_two_classes(sep), n_components=None) for sep in (40.0, 50.0, 60.0)]
    assert values[0] < values[1] < values[2] < 0.0  # they used to tie at -0.0


# ---- item 8: one validation pass, bounded threads ----

def test_fused_probability_pass_matches_the_separate_checks():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3000, 77))
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    p = np.exp(logp)
    src, z = probability_argmax(p, func="nce")
    assert z == 77 and np.array_equal(src, p.argmax(1))
    src_log, _ = probability_argmax(logp, func="nce", log_probs=True)
    assert np.array_equal(src_log, src)
    scaled, negative, nan = p.copy(), p.copy(), p.copy()
    scaled[1700] *= 3
    negative[5, 2] = -0.1
    nan[2999, 76] = np.nan
    for bad in (scaled, negative, nan):
        with pytest.raises(InputError) as fused:
            probability_argmax(bad, func="nce")
        with pytest.raises(InputError) as separate:
            check_probabilities(bad, func="nce")
        assert str(fused.value) == str(separate.value)
    labels = np.arange(3000) % 4
    assert nce(p, labels) == nce(logp, labels, log_probs=True)


def test_direct_metric_calls_use_one_blas_thread_unless_told_otherwise():
    from threadpoolctl import threadpool_info

    probe = bounded_threads(lambda: [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"])
    assert get_blas_threads() == 1 and set(probe()) == {1}
    try:
        set_blas_threads(None)
        assert probe() == [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        with pytest.raises(InputError, match=r"threads of set_blas_threads\(\) must be an int >= 1 or None; got True"):
            set_blas_threads(True)
    finally:
        set_blas_threads(1)
    assert logme.__blas_bounded__ and nce.__blas_bounded__


# ---- item 6: non-finite model outputs named as the source model's ----

class NaNAt(nn.Module):
    """Logits (and features) NaN for inputs whose first value is exactly 9."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        h = torch.where(x[:, :1] == 9.0, torch.full_like(h, float("nan")), h)
        return self.head(h)


def test_non_finite_logits_are_reported_as_the_source_models_output():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 4)).astype(np.float32)
    x[270, 0] = 9.0  # the second forward batch (256 rows per batch)
    task = Task("t", x, np.arange(300) % 3)
    df = score([Source("broken", NaNAt())], [task], metrics=["leep", "h_score"], progress=False)
    assert (df.status == "failed").all()
    for err in df.error:
        assert "source model 'broken' returned non-finite" in err
        assert "target sample 270" in err and "forward batch 1" in err
        assert "of leep()" not in err and "probs" not in err
    assert "logits" in df.set_index("metric").error["leep"]
    assert "features" in df.set_index("metric").error["h_score"]
