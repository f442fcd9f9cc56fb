"""Validation on lazy targets: it reads them into memory, says so with the size, refuses what cannot fit."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from transfergraph.planner import Source, Task
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.lazy import ArrayFileReader, LazyInputs
from transfergraph.planner.validation import lazy_targets
from transfergraph.planner.validation.engine import run_validation
from transfergraph.planner.validation.lazy_targets import LazyValidationWarning

from lazy_support import conv_model


def _tasks(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 1, 8, 8)).astype(np.float32)
    y = np.repeat([0, 1, 2], 20)
    np.save(tmp_path / "x.npy", x)
    reader = ArrayFileReader(np.load(tmp_path / "x.npy", mmap_mode="r"))
    train, test = np.arange(0, 60, 2), np.arange(1, 60, 2)
    lazy = Task("t", LazyInputs(reader, train), y[train], test_inputs=LazyInputs(reader, test), test_labels=y[test])
    memory = Task("t", x[train], y[train], test_inputs=x[test], test_labels=y[test])
    return lazy, memory


def test_lazy_targets_warn_with_their_size_and_validate_like_in_memory(tmp_path):
    lazy, memory = _tasks(tmp_path)
    src = [Source("m", conv_model(0, 1))]
    with pytest.warns(LazyValidationWarning, match=r"'t' \(30 training samples, 15\.0 KB\)"):
        got = run_validation(src, [lazy], methods=["retrain_head"], progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LazyValidationWarning)  # in-memory targets: no warning
        want = run_validation(src, [memory], methods=["retrain_head"], progress=False)
    assert (got.status == "ok").all()
    np.testing.assert_array_equal(got["accuracy"].to_numpy(), want["accuracy"].to_numpy())


def test_a_lazy_target_larger_than_available_memory_is_refused_before_any_work(tmp_path, monkeypatch):
    lazy, _ = _tasks(tmp_path)
    assert lazy_targets.materialized_bytes(lazy) == 60 * 64 * 4
    monkeypatch.setattr(lazy_targets, "available_memory", lambda: 10_000)
    refused = r"lazy target 't' needs 15\.0 KB \(30 training samples\) where 9\.8 KB are available"
    with pytest.raises(InputError, match=refused):
        run_validation([Source("m", conv_model(0, 1))], [lazy], methods=["retrain_head"], progress=False)
