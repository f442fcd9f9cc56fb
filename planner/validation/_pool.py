"""Content dedupe of many tasks' samples into one pool, so a source forwards each sample once.

Validation of many targets drawn from the same dataset (class subsets, train and test splits) sees
the same image many times; :func:`build_pool` keeps one copy of each distinct sample (equal bytes,
dtype and per-sample shape) and an index per input array into the pool.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.fingerprint import row_digests

__all__ = ["build_pool"]


def build_pool(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Distinct samples of ``arrays`` and, for each array, the pool row of each of its samples.

    Parameters
    ----------
    arrays : sequence of np.ndarray, each of shape (n_k, ...) with one common dtype and per-sample shape

    Returns
    -------
    pool : np.ndarray, shape (N, ...), N <= sum n_k
        Distinct samples in order of first appearance.
    index : list of np.ndarray of int64, ``index[k]`` of shape (n_k,)
        ``pool[index[k]]`` equals ``arrays[k]``.

    Cost: O(sum n_k * sample bytes) hashing; memory O(N * sample bytes) for the pool.
    """
    if not arrays:
        raise InputError("arrays of build_pool() must hold at least one array; got none.")
    first = np.asarray(arrays[0])
    dtype, shape = first.dtype, first.shape[1:]
    slot: dict[bytes, int] = {}
    picks: list[tuple[int, int]] = []  # (array number, row) of each pool sample
    index: list[np.ndarray] = []
    for k, arr in enumerate(arrays):
        arr = np.asarray(arr)
        if arr.dtype != dtype or arr.shape[1:] != shape:
            raise InputError(
                f"arrays[{k}] of build_pool() must have dtype {dtype} and per-sample shape {shape} like arrays[0]; "
                f"got dtype {arr.dtype} and per-sample shape {arr.shape[1:]}."
            )
        idx = np.empty(len(arr), dtype=np.int64)
        for i, digest in enumerate(row_digests(arr)):
            j = slot.get(digest)
            if j is None:
                j = slot[digest] = len(picks)
                picks.append((k, i))
            idx[i] = j
        index.append(idx)
    pool = np.empty((len(picks),) + shape, dtype=dtype)
    for j, (k, i) in enumerate(picks):
        pool[j] = arrays[k][i]
    return pool, index
