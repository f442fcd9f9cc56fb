"""LogME from feature rows that arrive in batches: one pass, O(d^2 + |Y| d) memory.

LogME (:func:`transfergraph.planner.metrics.logme.logme`) needs only three sums over the rows: the
Gram matrix :math:`F^\\top F` (d x d), the class sums :math:`F^\\top Y` (|Y| x d, Y one-hot) and the class
counts. :class:`LogmeAccumulator` adds them batch by batch and then runs the in-memory solver
(``profile``, the default method) on them.

**Equal to 1e-12, not bitwise, when n >= d**: the in-memory function forms :math:`F^\\top F` in one BLAS
product over all n rows; summed batch by batch, the Gram matrix's entries are the same sums in another
order (relative differences ~1e-16), and the evidence, maximized where its derivative in t vanishes,
moves by the same order (measured on random inputs in ``tests/metrics/test_streaming_metrics.py``:
at most 2e-15 relative). **Bitwise when n < d**: the in-memory function then works on the n x n matrix
:math:`F F^\\top`, which needs all rows; they are at most d rows of d values (d^2 memory), so the
accumulator keeps them and calls the in-memory function.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from transfergraph.planner.common.checks import check_features
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.metrics._backend import NUMPY
from transfergraph.planner.metrics._logme_solvers import profile
from transfergraph.planner.metrics.logme import PROFILE_MAX_ITER, TOL, logme
from transfergraph.planner.metrics.streaming import Batches, _check_codes, _check_size, _in_batch, _scatter_add

__all__ = ["LogmeAccumulator", "logme_stream"]


class LogmeAccumulator:
    """LogME (default ``method="profile"``, classification labels) of ``n`` feature rows fed by :meth:`add`.

    Parameters
    ----------
    n : int
        Rows in total (decides the n < d case, and is checked at the end).
    n_classes : int
        Number of classes k (>= 2); batches carry int codes in [0, k).

    Raises
    ------
    InputError
        For non-finite features, batches of different widths, codes out of range, or a row count
        other than n.
    """

    def __init__(self, n: int, n_classes: int) -> None:
        self.n, self.k = _check_size(n, n_classes, func="LogmeAccumulator")
        self.rows = 0
        self.counts = np.zeros(self.k)
        self._gram: np.ndarray | None = None
        self._sums: np.ndarray | None = None
        self._kept: list[tuple[np.ndarray, np.ndarray]] = []  # n < d: the rows themselves

    def add(self, features: Any, codes: Any) -> None:
        """Add a batch of features (b, d) and its class codes (b,)."""
        try:
            x = check_features(features, func="logme")
        except InputError as exc:
            raise _in_batch(exc, self.rows, len(features)) from None
        codes = _check_codes(codes, self.k, x.shape[0], func="logme")
        d = x.shape[1]
        if self._sums is None:
            self._sums = np.zeros((self.k, d))
            self._gram = np.zeros((d, d)) if self.n >= d else None
        elif self._sums.shape[1] != d:
            raise InputError(f"features of logme() batches must all have {self._sums.shape[1]} columns; got {d} "
                             f"at row {self.rows}.")
        if self.rows + x.shape[0] > self.n:
            raise InputError(f"logme() was told n={self.n} rows; got more.")
        self.rows += x.shape[0]
        if self._gram is None:
            self._kept.append((np.array(x), codes.copy()))
            return
        self._gram += x.T @ x
        self.counts += np.bincount(codes, minlength=self.k)
        _scatter_add(self._sums, codes, x)

    def value(self) -> float:
        """LogME of the n rows."""
        if self.rows != self.n or self._sums is None:
            raise InputError(f"logme() was told n={self.n} rows; got {self.rows}.")
        if self._gram is None:
            return logme(np.concatenate([x for x, _ in self._kept]), np.concatenate([c for _, c in self._kept]))
        # the in-memory spectrum() and logme() from here on, on the summed statistics
        sigma, v = np.linalg.eigh((self._gram + self._gram.T) / 2.0)
        sigma = np.maximum(sigma, 0.0)
        z = v.T @ self._sums.T
        present = self.counts > 0
        if present.sum() < 2:
            raise InputError(f"labels of logme() must contain at least 2 distinct classes; got {int(present.sum())}.")
        z, counts = z[:, present], self.counts[present]
        evidence = profile(NUMPY, sigma, z * z, counts, self.n, int(present.sum()), TOL, PROFILE_MAX_ITER)
        return float(evidence.mean()) / self.n


def logme_stream(batches: Batches, n: int, n_classes: int) -> float:
    """LogME of ``n`` feature rows from ``batches()`` (``(features (b, d), codes (b,))`` pairs, one
    pass); equal to :func:`~transfergraph.planner.metrics.logme.logme` to 1e-12 (bitwise when n < d)."""
    acc = LogmeAccumulator(n, n_classes)
    for features, codes in batches():
        acc.add(features, codes)
    return acc.value()
