"""The forward-output store parses each ``.npy`` header once per process, and again when the file changes."""
from __future__ import annotations

import os

import numpy as np
import pytest

from transfergraph.planner.storage import stored_rows
from transfergraph.planner.storage.output_store import ForwardStore
from transfergraph.planner.storage.stored_rows import npy_header, read_npy_rows


@pytest.fixture
def parses(monkeypatch):
    """Counts NumPy's header parses."""
    count = {"n": 0}
    real = np.lib.format.read_array_header_1_0

    def counting(fh, *args, **kwargs):
        count["n"] += 1
        return real(fh, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "read_array_header_1_0", counting)
    return count


def _read(path, rows):
    rows = np.asarray(rows)
    return read_npy_rows(path, rows, np.arange(len(rows)), None, len(rows))


def test_a_files_header_is_parsed_once_and_again_after_it_is_rewritten(tmp_path, parses):
    path = tmp_path / "a.npy"
    first = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(path, first)
    for _ in range(3):
        np.testing.assert_array_equal(_read(path, [3, 1]), first[[3, 1]])
    assert parses["n"] == 1
    assert npy_header(path)[:3] == ((4, 3), False, np.dtype(np.float32))

    wider = np.arange(30, dtype=np.float64).reshape(5, 6)  # rewritten in place: another size
    np.save(path, wider)
    np.testing.assert_array_equal(_read(path, [4, 0]), wider[[4, 0]])
    assert parses["n"] == 2

    same_size = np.arange(30, dtype=np.int64).reshape(6, 5)  # replaced by a rename: a new inode, same size
    tmp = tmp_path / "b.npy"
    np.save(tmp, same_size)
    assert os.path.getsize(tmp) == os.path.getsize(path)
    os.replace(tmp, path)
    np.testing.assert_array_equal(_read(path, [5, 2]), same_size[[5, 2]])
    assert parses["n"] == 3
    np.testing.assert_array_equal(_read(path, [1]), same_size[[1]])
    assert parses["n"] == 3


def test_store_reads_parse_each_shard_header_once(tmp_path, parses):
    store = ForwardStore(tmp_path, "key")
    ids = np.arange(10, 20)
    logits = np.random.default_rng(0).random((10, 4)).astype(np.float32)
    store.write(ids, logits, None, None)
    found, rows = store.locate(ids, False)
    assert found.all()
    before = parses["n"]  # locate loads the ids file with np.load (parsed there)
    for block in (np.arange(3), np.arange(3, 10), np.arange(10)[::-1]):
        np.testing.assert_array_equal(rows.read("logits", block), logits[block])
    assert parses["n"] == before + 1


def test_the_cache_keeps_at_most_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(stored_rows, "_HEADER_CACHE_SIZE", 2)
    monkeypatch.setattr(stored_rows, "_HEADERS", type(stored_rows._HEADERS)())
    for i in range(4):
        np.save(tmp_path / f"{i}.npy", np.zeros((i + 1, 2)))
        assert npy_header(tmp_path / f"{i}.npy")[0] == (i + 1, 2)
    assert list(stored_rows._HEADERS) == [os.fspath(tmp_path / "2.npy"), os.fspath(tmp_path / "3.npy")]
