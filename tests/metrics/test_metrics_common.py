"""Registry-driven contract tests: every metric in ``transfergraph.planner.metrics.REGISTRY`` (like scikit-learn's
``metrics/tests/test_common.py``): a finite float, invariances, documented bounds, determinism, no
mutation, torch parity, and a clear ``InputError`` for every bad input listed in SPEC §1.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings

import numpy as np
import pytest
import torch

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.metrics import REGISTRY, Reference, label_entropy

NAMES = sorted(REGISTRY)
N, Z, D, K = 90, 7, 6, 3
RTOL = 1e-9


def _data(seed: int = 0, n: int = N):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(K), n // K)
    rng.shuffle(labels)
    features = rng.normal(size=(n, D)) + 1.5 * np.eye(K, D)[labels]
    logits = rng.normal(size=(n, Z)) + 2.0 * np.eye(K, Z)[labels]
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return features, log_probs, labels


def _x(metric, features, log_probs):
    return np.exp(log_probs) if metric.input == "probs" else features


def _call(metric, x, labels, **kw):
    return metric(x, labels, **kw)


def _reference():
    """A fixed reference sample (features, labels, head) for metrics that need one (tta)."""
    features, _, labels = _data(20)
    head = np.random.default_rng(21).normal(size=(K, D))
    return Reference(features, labels, head, np.zeros(K))


@pytest.fixture(params=NAMES)
def metric(request):
    m = REGISTRY[request.param]
    if m.input == "features+reference":  # the contract is checked with a fixed reference sample
        m = dataclasses.replace(m, func=functools.partial(m.func, reference=_reference()))
    return m


def test_registry_contents_and_metadata():
    assert set(REGISTRY) == {"leep", "nce", "h_score", "reg_h_score", "logme", "nleep", "gbc", "transrate", "tta"}
    for name, m in REGISTRY.items():
        assert m.name == name
        assert m.input in ("probs", "features", "features+reference")
        assert isinstance(m.version, str) and m.version
        assert m.paper.startswith("https://")
        assert ("seed" in inspect.signature(m.func).parameters) == m.seeded
        assert m.func.__doc__ and "normalized" in m.func.__doc__  # every metric documents its normalization
    assert REGISTRY["leep"].input == REGISTRY["nce"].input == "probs"


def test_finite_float_deterministic_and_no_warnings(metric):
    features, log_probs, labels = _data()
    x = _x(metric, features, log_probs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = _call(metric, x, labels)
    assert type(first) is float and np.isfinite(first)
    assert _call(metric, x, labels) == first


def test_documented_bounds(metric):
    for seed in range(3):
        features, log_probs, labels = _data(seed)
        value = _call(metric, _x(metric, features, log_probs), labels)
        lo, hi = metric.bounds(K, label_entropy(labels))
        assert lo - 1e-9 <= value <= hi + 1e-9, (metric.name, value, lo, hi)


def test_sample_order_invariance(metric):
    features, log_probs, labels = _data(1)
    x = _x(metric, features, log_probs)
    perm = np.random.default_rng(5).permutation(N)
    assert _call(metric, x[perm], labels[perm]) == pytest.approx(_call(metric, x, labels), rel=RTOL, abs=1e-12)


def test_target_relabel_invariance(metric):
    """Renaming the classes (ints -> permuted strings) does not change the score."""
    features, log_probs, labels = _data(2)
    x = _x(metric, features, log_probs)
    names = np.array(["zebra", "ant", "moth"])
    renamed = names[labels]
    gapped = np.array([0, 1, 5])[labels]
    base = _call(metric, x, labels)
    assert _call(metric, x, renamed) == pytest.approx(base, rel=RTOL, abs=1e-12)
    assert _call(metric, x, gapped.tolist()) == pytest.approx(base, rel=RTOL, abs=1e-12)


def test_dataset_duplication_invariance(metric):
    if not metric.duplication_invariant:
        pytest.skip(f"{metric.name} depends on n by definition")
    features, log_probs, labels = _data(3)
    x = _x(metric, features, log_probs)
    doubled = _call(metric, np.concatenate([x, x]), np.concatenate([labels, labels]))
    assert doubled == pytest.approx(_call(metric, x, labels), rel=1e-9, abs=1e-12)


def test_inputs_not_mutated(metric):
    features, log_probs, labels = _data(4)
    x = _x(metric, features, log_probs)
    x_before, labels_before = x.copy(), labels.copy()
    _call(metric, x, labels)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(labels, labels_before)
    t = torch.tensor(x)
    t_before = t.clone()
    _call(metric, t, torch.tensor(labels))
    assert torch.equal(t, t_before)


def test_torch_tensor_matches_numpy(metric):
    features, log_probs, labels = _data(6)
    x = _x(metric, features, log_probs)
    assert _call(metric, torch.tensor(x), torch.tensor(labels)) == pytest.approx(
        _call(metric, x, labels), rel=1e-9, abs=1e-12
    )
    # float32 input is promoted to float64 (same number as the float64 copy of the float32 array)
    x32 = x.astype(np.float32)
    if metric.input == "probs":
        x32 = x32 / x32.sum(axis=1, keepdims=True)
    assert _call(metric, x32, labels) == pytest.approx(_call(metric, x32.astype(np.float64), labels), rel=1e-12)


def test_log_probs_path_matches_probs(metric):
    if metric.input != "probs":
        pytest.skip("features metric")
    _, log_probs, labels = _data(7)
    assert metric(log_probs, labels, log_probs=True) == pytest.approx(metric(np.exp(log_probs), labels), rel=1e-12)


def test_mixed_type_labels(metric):
    features, log_probs, labels = _data(8)
    x = _x(metric, features, log_probs)
    mixed = [{0: 0, 1: "one", 2: 2.5}[int(v)] for v in labels]
    assert _call(metric, x, mixed) == pytest.approx(_call(metric, x, labels), rel=RTOL, abs=1e-12)
    tuples = [("class", int(v)) for v in labels]  # composite hashable labels
    assert _call(metric, x, tuples) == pytest.approx(_call(metric, x, labels), rel=RTOL, abs=1e-12)


# ---- bad input: every error of SPEC §1 names the argument, the function and what was given ----

def _bad_cases(metric):
    features, log_probs, labels = _data(9)
    x = _x(metric, features, log_probs)
    arg = "probs" if metric.input == "probs" else "features"
    nan = x.copy()
    nan[3, 1] = np.nan
    inf = x.copy()
    inf[0, 0] = np.inf
    cases = [
        ("nan", nan, labels, rf"{arg} of {metric.name}\(\).*NaN"),
        ("inf", inf, labels, rf"{arg} of {metric.name}\(\).*(NaN or inf|inf)"),
        ("1-D", x[:, 0], labels, rf"{arg} of {metric.name}\(\) must be a 2-D.*shape \({N},\)"),
        ("3-D", x[:, :, None], labels, rf"{arg} of {metric.name}\(\) must be a 2-D.*shape \({N}, {x.shape[1]}, 1\)"),
        ("empty", x[:0], labels[:0], rf"{arg} of {metric.name}\(\) must be a non-empty.*shape \(0, {x.shape[1]}\)"),
        ("length", x, labels[:-1], rf"{arg} and labels of {metric.name}\(\) must have the same number.*{N} rows.*{N - 1} labels"),
        ("one class", x, np.zeros(N, dtype=int), rf"labels of {metric.name}\(\) must contain at least 2 distinct classes; got 1"),
        ("2-D labels", x, labels[:, None], rf"labels of {metric.name}\(\) must be 1-D.*shape \({N}, 1\)"),
        ("NaN label", x, np.where(labels == 0, np.nan, labels), rf"labels of {metric.name}\(\) must not contain NaN"),
        ("strings", np.full(x.shape, "a"), labels, rf"{arg} of {metric.name}\(\) must be a numeric"),
    ]
    if metric.input == "probs":
        cases += [
            ("negative", x - 0.5, labels, rf"probs of {metric.name}\(\) must contain probabilities.*negative.*logits"),
            ("logits", np.exp(log_probs) * 3.0, labels, rf"probs of {metric.name}\(\) must have rows summing to 1.*sums to.*logits"),
        ]
    return cases


def test_bad_inputs_raise_input_error(metric):
    for what, x, labels, pattern in _bad_cases(metric):
        with pytest.raises(InputError, match=pattern):
            metric(x, labels)
        with pytest.raises(ValueError):  # SPEC §1: a ValueError subclass
            metric(x, labels)


def test_bad_log_probs_raise(metric):
    if metric.input != "probs":
        pytest.skip("features metric")
    features, log_probs, labels = _data(10)
    with pytest.raises(InputError, match=rf"probs of {metric.name}\(\) with log_probs=True.*logits.*log_softmax"):
        metric(log_probs + 2.0, labels, log_probs=True)  # positive values
    with pytest.raises(InputError, match=rf"probs of {metric.name}\(\) with log_probs=True must have rows with logsumexp 0"):
        metric(log_probs - 1.0, labels, log_probs=True)
    bad = log_probs.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        metric(bad, labels, log_probs=True)
    ok = log_probs.copy()
    ok[:, -1] = -np.inf  # probability 0 is fine
    ok -= np.log(np.exp(ok).sum(axis=1, keepdims=True))
    assert np.isfinite(metric(ok, labels, log_probs=True))


def test_bad_tensor_input_raises(metric):
    features, log_probs, labels = _data(11)
    x = torch.tensor(_x(metric, features, log_probs))
    x[2, 2] = float("nan")
    with pytest.raises(InputError, match="NaN"):
        metric(x, labels)
    with pytest.raises(InputError, match="2-D"):
        metric(x[:, 0], labels)


# ---- normalization (SPEC §2 `normalized`) ----

def test_normalize_contract(metric):
    features, log_probs, labels = _data(12)
    h = label_entropy(labels)
    raw = np.array([_call(metric, _x(metric, *_data(s)[:2]), labels) for s in range(12, 16)])
    out = metric.normalize(raw, n_classes=K, label_entropy=h)
    assert out.shape == raw.shape and np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
    np.testing.assert_array_equal(out, metric.normalize(raw, n_classes=K, label_entropy=h))
    # NaN (failed pair) stays NaN and does not move the others
    with_nan = np.insert(raw, 1, np.nan)
    out_nan = metric.normalize(with_nan, n_classes=K, label_entropy=h)
    assert np.isnan(out_nan[1])
    np.testing.assert_allclose(np.delete(out_nan, 1), out, rtol=0, atol=0)
    # a single source is fine
    single = metric.normalize(raw[:1], n_classes=K, label_entropy=h)
    assert single.shape == (1,) and np.isfinite(single[0]) and 0 <= single[0] <= 1
    # monotone: a higher raw score never gets a lower normalized value
    order = np.argsort(raw)
    assert np.all(np.diff(out[order]) >= 0)
    # the input is not modified
    copy = raw.copy()
    metric.normalize(raw, n_classes=K, label_entropy=h)
    np.testing.assert_array_equal(raw, copy)
