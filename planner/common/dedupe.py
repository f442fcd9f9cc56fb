"""Content dedupe: many arrays of samples as one pool of distinct samples plus an index per array.

Scoring (:func:`transfergraph.planner.scoring.pools.build_pools`) and validation (head retraining of
many targets cut from one dataset) both forward each distinct sample once: :func:`dedupe_rows`
keeps one copy of each distinct sample (equal bytes, dtype and per-sample shape, compared through
the 128-bit :func:`transfergraph.planner.common.fingerprint.row_digests`) and maps every input row
to its pool row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.fingerprint import row_digests

__all__ = ["DedupedRows", "dedupe_rows"]


@dataclass(frozen=True)
class DedupedRows:
    """The pool of distinct samples of some arrays.

    Attributes
    ----------
    data : np.ndarray, shape (N, ...)
        Distinct samples in order of first appearance over the arrays (N <= sum n_k).
    index : list of np.ndarray of int64, ``index[k]`` of shape (n_k,)
        ``data[index[k]]`` equals ``arrays[k]``.
    digests : list of list of bytes
        ``digests[k][i]``: the 16-byte content digest of ``arrays[k][i]``.
    ids : np.ndarray of dtype S16, shape (N,)
        The content digest of each pool row.
    """

    data: np.ndarray = field(repr=False)
    index: list[np.ndarray] = field(repr=False)
    digests: list[list[bytes]] = field(repr=False)
    ids: np.ndarray = field(repr=False)


def dedupe_rows(arrays: Sequence[np.ndarray], *, caller: str = "dedupe_rows") -> DedupedRows:
    """Deduplicate the samples (rows) of ``arrays`` by content.

    Parameters
    ----------
    arrays : sequence of np.ndarray, each of shape (n_k, ...) with one common dtype and per-sample shape
    caller : name of the public function, for error messages

    Returns
    -------
    DedupedRows

    Raises
    ------
    InputError
        No array, or an array whose dtype or per-sample shape differs from the first one's.

    Cost: one digest per sample (O(sum n_k * sample bytes)) and one dict lookup per sample; memory: the
    pool plus 16 bytes per distinct sample.
    """
    if not len(arrays):
        raise InputError(f"arrays of {caller}() must hold at least one array; got none.")
    first = np.asarray(arrays[0])
    dtype, shape = first.dtype, first.shape[1:]
    seen: dict[bytes, int] = {}
    firsts: list[tuple[int, np.ndarray, np.ndarray]] = []  # (array, its rows that are new, their pool slots)
    index: list[np.ndarray] = []
    digests: list[list[bytes]] = []
    for k, arr in enumerate(arrays):
        arr = np.asarray(arr)
        if arr.dtype != dtype or arr.shape[1:] != shape:
            raise InputError(
                f"arrays[{k}] of {caller}() must have dtype {dtype} and per-sample shape {shape} like arrays[0]; "
                f"got dtype {arr.dtype} and per-sample shape {arr.shape[1:]}."
            )
        rows = row_digests(arr)
        before = len(seen)
        idx = np.fromiter((seen.setdefault(d, len(seen)) for d in rows), dtype=np.int64, count=len(rows))
        new = np.flatnonzero(idx >= before)
        if len(new):  # the first occurrence of each new slot within this array
            slots, first_rows = np.unique(idx[new], return_index=True)
            firsts.append((k, new[first_rows], slots))
        index.append(idx)
        digests.append(rows)
    data = np.empty((len(seen),) + tuple(shape), dtype=dtype)
    for k, rows_k, slots in firsts:
        data[slots] = np.asarray(arrays[k])[rows_k]
    ids = np.frombuffer(b"".join(seen), dtype="S16") if seen else np.empty(0, dtype="S16")
    return DedupedRows(data, index, digests, ids)
