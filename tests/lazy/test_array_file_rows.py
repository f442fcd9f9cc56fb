"""On-disk arrays are read with file reads, not through a memory map, and a slice of a memory map
reads its own rows in every process."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from transfergraph.planner import Source, Task
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.readers import ArrayFileReader
from transfergraph.planner.scoring import score

from lazy_support import conv_model


def _saved(tmp_path, order="C"):
    x = np.random.default_rng(0).normal(size=(90, 1, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", np.asfortranarray(x) if order == "F" else x)
    return x, np.load(tmp_path / "x.npy", mmap_mode="r")


def test_a_worker_reads_rows_without_opening_a_memory_map(tmp_path):
    x, mm = _saved(tmp_path)
    worker = pickle.loads(pickle.dumps(ArrayFileReader(mm)))  # what a Ray worker receives
    rows = np.array([89, 0, 45, 44, 3])
    np.testing.assert_array_equal(worker.read_rows(rows), x[rows])
    np.testing.assert_array_equal(worker.read(-1), x[-1])
    # touched pages of a map stay resident in the worker: the C-ordered file is read, never mapped
    assert getattr(worker, "_handle", None) is None
    with pytest.raises(IndexError, match=r"out of range \[0, 90\)"):
        worker.read_rows(np.array([90]))


def test_a_fortran_ordered_file_is_read_through_its_map(tmp_path):
    x, mm = _saved(tmp_path, "F")
    worker = pickle.loads(pickle.dumps(ArrayFileReader(mm)))
    np.testing.assert_array_equal(worker.read_rows(np.array([7, 2])), x[[7, 2]])


def test_a_slice_of_a_memory_map_reads_its_own_rows_everywhere(tmp_path):
    x, mm = _saved(tmp_path)
    a, b = ArrayFileReader(mm[0:30]), ArrayFileReader(mm[30:60])
    assert a.identity != b.identity  # the store must not serve one slice's outputs for the other
    worker = pickle.loads(pickle.dumps(b))
    np.testing.assert_array_equal(worker.read_rows(np.arange(30)), x[30:60])
    y = np.repeat([0, 1, 2], 10)
    src = [Source("m", conv_model(0, 1))]
    lazy = score(src, [Task("t", mm[30:60], y)], metrics=("leep", "h_score"), cache=tmp_path / "c", progress=False)
    memory = score(src, [Task("t", x[30:60], y)], metrics=("leep", "h_score"), progress=False)
    np.testing.assert_array_equal(lazy["score"].to_numpy(), memory["score"].to_numpy())
    with pytest.raises(InputError, match="strided view"):
        ArrayFileReader(mm[::2])
