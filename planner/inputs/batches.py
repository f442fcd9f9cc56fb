"""Batches of samples for a forward pass, from an in-memory pool or read lazily from disk.

:func:`iter_batches` yields ``(lo, batch)``: ``batch`` is a CPU ``torch.Tensor`` holding the samples
``index[lo:lo + batch_size]`` of the pool, in order. An in-memory pool (``np.ndarray``) is sliced;
a lazy pool (:class:`transfergraph.planner.inputs.lazy.LazyInputs` or a :class:`~transfergraph.planner.inputs.lazy.Reader`) is read with a
``torch.utils.data.DataLoader`` over exactly those rows (sequential, ``num_workers`` reader
processes, ``pin_memory`` for a GPU), so memory stays O(batch) whatever the dataset size. Both give
the same values, so the forward pass sees the same bits from either.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = ["iter_batches", "input_dtype"]


def input_dtype(dtype: Any) -> str:
    """How a batch of ``dtype`` (a torch or NumPy dtype) enters the model: "float32" for floats,
    bool and uint8 (images), "keep" for the other integer dtypes (token ids keep their dtype)."""
    import torch

    if isinstance(dtype, torch.dtype):
        if dtype.is_floating_point or dtype in (torch.uint8, torch.bool) or dtype.is_complex:
            return "float32"
        return "keep"
    dtype = np.dtype(dtype)
    return "keep" if dtype.kind in "iu" and dtype != np.uint8 else "float32"


class _Rows:
    """A map-style dataset over chosen rows of a lazy pool; item ``j`` is row ``rows[j]`` as a tensor.

    With ``shape`` (the pool's sample shape), a sample of another shape is an ``InputError`` naming its
    row (:func:`transfergraph.planner.inputs.lazy.check_sample_shape`) rather than the collate step's
    "stack expects each tensor to be equal size" about a position in a batch."""

    def __init__(self, reader: Any, rows: np.ndarray, shape: tuple[int, ...] | None = None) -> None:
        self.reader, self.rows, self.shape = reader, rows, shape

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, j: int) -> Any:
        import torch

        row = int(self.rows[j])
        x = self.reader.read(row)
        if self.shape is not None:
            from transfergraph.planner.inputs.lazy import check_sample_shape

            check_sample_shape(self.reader, row, x, self.shape)
        return torch.from_numpy(np.ascontiguousarray(x))


def iter_batches(pool: Any, index: np.ndarray, batch_size: int, *, num_workers: int = 0,
                 pin_memory: bool = False) -> Iterator[tuple[int, Any]]:
    """Yield ``(lo, batch)`` for consecutive chunks of ``index`` (see the module docstring).

    Parameters
    ----------
    pool : np.ndarray, LazyInputs or Reader
        The samples; rows are addressed by ``index`` (pool rows for arrays, dataset rows for lazy).
    index : np.ndarray of int64, shape (n,)
    batch_size : int
    num_workers : int
        DataLoader reader processes for lazy pools (0: read in this process).
    pin_memory : bool
        Page-lock lazy batches (only useful when the model runs on a GPU).
    """
    import torch

    if isinstance(pool, np.ndarray):
        for lo in range(0, len(index), batch_size):
            yield lo, torch.from_numpy(np.ascontiguousarray(pool[index[lo:lo + batch_size]]))
        return
    reader = getattr(pool, "reader", pool)
    if hasattr(reader, "read_rows") and num_workers == 0:  # memory-mapped array: one fancy-index per batch
        for lo in range(0, len(index), batch_size):
            yield lo, torch.from_numpy(reader.read_rows(index[lo:lo + batch_size]))
        return
    from torch.utils.data import DataLoader

    shape = getattr(pool, "sample_shape", None)
    loader = DataLoader(_Rows(reader, index, shape), batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        pin_memory=pin_memory, persistent_workers=False)
    lo = 0
    batches = iter(loader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except InputError as exc:  # from a reader process: keep the reader's message, not the wrapper's
            raise InputError(_worker_message(str(exc))) from None
        yield lo, batch
        lo += len(batch)


def _worker_message(text: str) -> str:
    """The original message of an error re-raised by a ``DataLoader`` worker ("Caught InputError in
    DataLoader worker process 0. Original Traceback ... InputError: <message>"); ``text`` otherwise."""
    if "Original Traceback" not in text:
        return text
    tail = text.rstrip().rsplit("InputError: ", 1)
    return tail[1] if len(tail) == 2 else text
