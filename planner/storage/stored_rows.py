"""Stored forward outputs of a list of ids, read back in row blocks on demand.

:meth:`transfergraph.planner.storage.output_store.ForwardStore.locate` finds which shard holds each
id; a :class:`StoredRows` then reads any positions of that list (a block of a target's rows, or all of
them) with plain file reads, so a scoring job that streams its metrics holds one block of logits or
features at a time, plus 12 bytes per id for the locations. :func:`read_npy_rows` is the row read
of one shard file, shared with the store's whole reads; it parses each file's ``.npy`` header once per
process (:func:`npy_header`), not on every read.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from transfergraph.planner.common.exceptions import CacheError, InputError
from transfergraph.planner.storage.row_reads import read_rows_into

__all__ = ["StoredRows", "read_npy_rows", "npy_header"]

_CHUNK_BYTES = 8 << 20  # largest block a reader reads at once
_HEADER_CACHE_SIZE = 4096  # parsed headers kept per process (least recently used dropped first)
_HEADERS: "OrderedDict[str, tuple[tuple[int, int, int, int], Any]]" = OrderedDict()
_HEADERS_LOCK = threading.Lock()


class StoredRows:
    """Reader of the stored outputs of ``ids[found]`` (positions 0 .. n-1 in that order).

    ``kinds`` are the arrays every row has ("logits", plus "features" when each shard holds them);
    ``feature_error`` the recorded reason a model has no features (or None).
    """

    def __init__(self, path: Path, parts: list, found: np.ndarray, feature_error: str | None) -> None:
        self.path, self.feature_error = Path(path), feature_error
        self.n = int(found.sum())
        slot = np.cumsum(found) - 1
        self.shard = np.zeros(self.n, dtype=np.int32)
        self.row = np.zeros(self.n, dtype=np.int64)
        self.stems = []
        for s, (stem, where, rows, _) in enumerate(parts):
            self.shard[slot[where]] = s
            self.row[slot[where]] = rows
            self.stems.append(stem)
        self.kinds = ("logits", "features") if parts and all(p[3] for p in parts) else ("logits",)

    def width(self, kind: str) -> int:
        """Columns of the stored ``kind`` arrays (from a shard's ``.npy`` header: no rows read).

        Raises
        ------
        CacheError
            When ``kind`` is not stored for every row, or the shard cannot be read.
        """
        if kind not in self.kinds or not self.stems:
            raise CacheError(f"forward-output store {str(self.path)!r} holds no {kind} for these rows")
        try:
            header = npy_header(self.path / f"{self.stems[0]}.{kind}.npy")
        except (OSError, ValueError) as exc:
            raise CacheError(f"forward-output store {str(self.path)!r} cannot be read: {exc}") from exc
        if header is None or len(header[0]) != 2:  # not written by this module: read one row
            return int(self.read(kind, np.zeros(1, dtype=np.int64)).shape[1])
        return int(header[0][1])

    def read(self, kind: str, positions: np.ndarray | None = None) -> np.ndarray:
        """Rows ``positions`` (default: all, in order) of ``kind``, shape (len(positions), width).

        Raises
        ------
        CacheError
            When ``kind`` is not stored for every row, or a shard cannot be read.
        """
        if kind not in self.kinds:
            raise CacheError(f"forward-output store {str(self.path)!r} holds no {kind} for these rows")
        positions = np.arange(self.n) if positions is None else np.asarray(positions, dtype=np.int64)
        shard, row = self.shard[positions], self.row[positions]
        out = None
        try:
            for s in np.unique(shard):
                mask = shard == s
                dest = np.flatnonzero(mask) if len(self.stems) > 1 else np.arange(len(positions))
                rows = row[mask] if len(self.stems) > 1 else row
                out = read_npy_rows(self.path / f"{self.stems[s]}.{kind}.npy", rows, dest, out, len(positions))
        except (OSError, ValueError) as exc:
            raise CacheError(f"forward-output store {str(self.path)!r} cannot be read: {exc}") from exc
        if out is None:
            raise CacheError(f"forward-output store {str(self.path)!r}: no rows to read")
        return out


def npy_header(path: str | os.PathLike) -> tuple[tuple[int, ...], bool, np.dtype, int] | None:
    """``(shape, fortran_order, dtype, data_offset)`` of the ``.npy`` file ``path``, or None when its
    format version is not 1.0 or 2.0.

    Parsing a header costs ~0.2-0.3 ms (NumPy reads it with ``ast.literal_eval``), as much as reading
    a small block of rows, and a scoring job reads the same shard files block after block. So each
    file's header is parsed once per process and kept (the last 4,096 files), keyed by the path and
    checked against the file's inode, size and modification time (``os.stat``, ~2 us) on every call:
    a file replaced (the store's atomic renames give it a new inode) or rewritten to another size or
    time is parsed again.

    Raises
    ------
    OSError
        When ``path`` cannot be opened; ValueError when its header is malformed.
    """
    key = os.fspath(path)
    st = os.stat(key)
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _HEADERS_LOCK:
        hit = _HEADERS.get(key)
        if hit is not None and hit[0] == stamp:
            _HEADERS.move_to_end(key)
            return hit[1]
    with open(key, "rb") as fh:
        st = os.fstat(fh.fileno())  # the stamp of the file actually parsed
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        version = np.lib.format.read_magic(fh)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        header = None
        if version in readers:
            shape, fortran, dtype = readers[version](fh)
            header = (tuple(shape), bool(fortran), dtype, fh.tell())
    with _HEADERS_LOCK:
        _HEADERS[key] = (stamp, header)
        _HEADERS.move_to_end(key)
        while len(_HEADERS) > _HEADER_CACHE_SIZE:
            _HEADERS.popitem(last=False)
    return header


def read_npy_rows(path: Path, rows: np.ndarray, dest: np.ndarray, out: np.ndarray | None, n_out: int) -> np.ndarray:
    """Copy rows ``rows`` of the ``.npy`` file ``path`` to ``out[dest]`` (``out`` allocated as
    (n_out, ...) when None), with file reads (:func:`transfergraph.planner.storage.row_reads.read_rows_into`);
    the header comes from :func:`npy_header`."""
    header = npy_header(path)
    if header is None:  # not written by this module: let NumPy read it
        stored = np.load(path, mmap_mode="r")
        out = np.empty((n_out,) + stored.shape[1:], dtype=stored.dtype) if out is None else out
        out[dest] = stored[rows]
        return out
    shape, fortran, dtype, base = header
    if fortran:
        raise InputError(f"{path.name} is Fortran-ordered; the store reads C-ordered shards only")
    if out is None:
        out = np.empty((n_out,) + tuple(shape[1:]), dtype=dtype)
    return read_rows_into(path, base, shape, dtype, rows, out, dest, _CHUNK_BYTES)
