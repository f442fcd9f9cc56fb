"""NumPy's float64 sum of n values, computed from pieces that arrive one batch at a time.

``np.sum`` of a contiguous float64 vector is a pairwise sum: a block of at most 128 values is summed
by NumPy's unrolled kernel, and a longer range [0, n) is split at n2 = n // 2 rounded down to a
multiple of 8, the two halves summed recursively and then added. :class:`PairwiseSum` walks that
same tree left to right: leaves are summed by ``np.add.reduce`` on exactly the same 128-or-fewer
values and inner nodes added in the same order, so the total is bitwise ``np.sum`` of the whole
vector (checked against ``np.sum`` in ``tests/metrics/test_streaming_metrics.py``), while memory is one
leaf (128 values) plus a stack of O(log n) partial sums.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = ["PairwiseSum", "LEAF"]

#: NumPy's pairwise-summation block (``PW_BLOCKSIZE`` in its loops): ranges up to this size are leaves.
LEAF = 128


def _tree(n: int) -> Iterator[int]:
    """Post-order operations of NumPy's pairwise sum over n values: a leaf length (> 0), or 0 for
    "add the last two partial sums"."""
    if n <= LEAF:
        yield n
        return
    half = n // 2
    half -= half % 8
    yield from _tree(half)
    yield from _tree(n - half)
    yield 0


class PairwiseSum:
    """Sum of exactly ``n`` float64 values fed by :meth:`add` in any batch sizes; :meth:`total` equals
    ``float(np.sum(all_values))`` bit for bit.

    Raises
    ------
    transfergraph.planner.common.exceptions.InputError
        (a ``ValueError``) from :meth:`add` when more than ``n`` values come, from :meth:`total` when fewer came.
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise InputError(f"PairwiseSum needs n >= 1 values; got n={n}")
        self.n, self.seen = int(n), 0
        self._ops = _tree(self.n)
        self._stack: list[float] = []
        self._buf = np.empty(min(self.n, LEAF))
        self._fill = 0
        self._leaf = self._next_leaf()

    def _next_leaf(self) -> int:
        for op in self._ops:
            if op:
                return op
            right, left = self._stack.pop(), self._stack.pop()
            self._stack.append(left + right)
        return 0

    def add(self, values: np.ndarray) -> None:
        """Feed the next values (any shape; flattened in C order, converted to float64)."""
        values = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        if self.seen + len(values) > self.n:
            raise InputError(f"PairwiseSum of {self.n} values got {self.seen + len(values)}")
        self.seen += len(values)
        i = 0
        while i < len(values):
            need = self._leaf - self._fill
            if self._fill == 0 and len(values) - i >= need:  # a whole leaf inside this batch
                self._stack.append(float(np.add.reduce(values[i:i + need])))
                i += need
            else:
                take = min(need, len(values) - i)
                self._buf[self._fill:self._fill + take] = values[i:i + take]
                self._fill += take
                i += take
                if self._fill < self._leaf:
                    continue
                self._stack.append(float(np.add.reduce(self._buf[:self._leaf])))
                self._fill = 0
            self._leaf = self._next_leaf()

    def total(self) -> float:
        """The sum of the ``n`` values (all must have come)."""
        if self.seen != self.n:
            raise InputError(f"PairwiseSum of {self.n} values got only {self.seen}")
        return 0.0 + self._stack[0]
