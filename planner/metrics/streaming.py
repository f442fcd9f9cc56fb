"""Metrics from outputs that arrive in row batches: sufficient statistics accumulated batch by batch.

A scoring job that reads a model's outputs from the forward-output store, or a user with more
samples than memory, feeds the rows of one target in batches of any size; memory is one batch plus
the statistics, never the (n, Z) probabilities or the (n, d) features:

- :class:`LeepAccumulator` (two passes): the joint :math:`P(y, z)` (|Y| x Z), then the
  log-likelihood of each batch under :math:`P(y \\mid z)`, summed by :class:`~._pairwise.PairwiseSum`.
- :class:`NceAccumulator` (one pass): the |Y| x Z counts of (label, argmax) pairs.
- :class:`GaussianAccumulator` (two passes): column range, class counts and class sums, then the
  centred covariance (d x d) and, for the Ledoit-Wolf shrinkage, :math:`\\sum_i \\|x_i\\|^4`; it
  finishes H-score (:func:`~.hscore.h_score`) and the shrinkage H-score
  (:func:`~.reg_hscore.reg_h_score`).

**Bitwise equal** to the in-memory functions for every batch split (the test suite checks batch sizes
1, a few odd sizes and n): each statistic is reduced in the same order as there. Scatter sums add rows
one at a time in row order into the same (|Y|, width) array (SciPy's kernel of the in-memory sparse
one-hot product, continued across batches); per-row values (``exp``, row sums, the row-wise dot of
LEEP) do not depend on their neighbours; the final sum of LEEP replays NumPy's pairwise summation
tree; and the covariance is summed over the in-memory kernels' own row blocks (``CHUNK_ELEMENTS`` =
2**21 values, 16 MiB) in their memory layout (Fortran order once constant columns are dropped): the
accumulator re-blocks the incoming rows into a buffer of that size, so its memory is bounded by
16 MiB however large n is.

Memory: LEEP O(batch Z + |Y| Z + log n); NCE O(batch Z + |Y| Z); the Gaussian statistics
O(batch d + 16 MiB + |Y| d + d^2). Labels come as integer codes 0..k-1 in the class order of
:func:`transfergraph.planner.common.labels.encode_labels` (the order the in-memory functions use).

LogME streams too, equal to 1e-12 rather than bitwise (:mod:`~.streaming_logme`: the in-memory
function forms ``F.T @ F`` in one BLAS product over all n rows, which batches cannot reproduce).
Metrics that do not stream, and why:

- TransRate takes one Gram product per class: streaming it needs |Y| (d, d) accumulators (|Y| d^2
  memory, more than the features at ImageNet-like |Y| and d) or one pass per class.
- GBC needs four passes (column mean, covariance for the PCA, projected class means, then the class
  variances around them), and its projection ``f @ top`` is not bitwise per block (BLAS rounds a
  row's products differently for other block heights: measured).
- N-LEEP fits a Gaussian mixture by EM, which revisits every sample on every iteration (sklearn
  holds the (n, p) PCA projection).
- The TTA bound trains on the features with a reference sample.

Those keep their O(n d) inputs.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from transfergraph.planner.common.checks import check_features, check_probabilities, probability_argmax, sum_tolerance
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.metrics._backend import CHUNK_ELEMENTS, NUMPY
from transfergraph.planner.metrics._pairwise import PairwiseSum
from transfergraph.planner.metrics.hscore import h_score_from_stats
from transfergraph.planner.metrics.reg_hscore import ledoit_wolf_from_moments, reg_h_score_from_stats

__all__ = [
    "LeepAccumulator", "NceAccumulator", "GaussianAccumulator", "STREAMED",
    "leep_stream", "nce_stream", "h_score_stream", "reg_h_score_stream",
]

#: Metrics with a streamed path (the names of ``transfergraph.planner.metrics.REGISTRY``): these four
#: bitwise, LogME to 1e-12 (:mod:`transfergraph.planner.metrics.streaming_logme`).
STREAMED = frozenset({"leep", "nce", "h_score", "reg_h_score", "logme"})

Batches = Callable[[], Iterable[tuple[Any, Any]]]

#: Rows per sub-block when squaring the buffered covariance block (:meth:`GaussianAccumulator._flush`).
SQUARE_ROWS = 1024


try:  # the kernel of SciPy's CSC one-hot product, which the in-memory scatter sums use
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
except ImportError:  # pragma: no cover - a SciPy without it: np.add.at does the same sums, 10x slower
    _csc_matvecs = None


def _scatter_add(out: np.ndarray, codes: np.ndarray, x: np.ndarray, weights: np.ndarray | None = None) -> None:
    """``out[codes[i]] += weights[i] * x[i]`` for the rows i of ``x`` in order (weights default 1).

    The same products and additions, in the same order, as the in-memory
    :meth:`~transfergraph.planner.metrics._backend._NumpyOps.scatter_rows` (SciPy's ``csc_matvecs``
    kernel behind a CSC one-hot times ``x``), but adding into ``out`` rather than into a new zero
    array, so that batches continue the same running sums.
    """
    rows, width = x.shape
    data = np.ones(rows) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    if _csc_matvecs is not None and out.flags.c_contiguous:
        _csc_matvecs(out.shape[0], rows, width, np.arange(rows + 1, dtype=np.int64), codes, data,
                     np.ascontiguousarray(x, dtype=np.float64).ravel(), out.ravel())
    else:
        np.add.at(out, codes, x * data[:, None])


def _check_codes(codes: Any, k: int, rows: int, *, func: str) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 1 or codes.shape[0] != rows or not np.issubdtype(codes.dtype, np.integer):
        raise InputError(f"codes of {func}() must be a 1-D int array with one class code per row ({rows}); "
                         f"got shape {codes.shape}, dtype {codes.dtype}.")
    if rows and (codes.min() < 0 or codes.max() >= k):
        raise InputError(f"codes of {func}() must lie in [0, {k}) (the number of classes); got "
                         f"{int(codes.min())}..{int(codes.max())}.")
    return codes.astype(np.int64, copy=False)


def _check_size(n: Any, k: Any, *, func: str) -> tuple[int, int]:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InputError(f"n of {func}() must be the number of rows, an int >= 1; got {n!r}.")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 2:
        raise InputError(f"n_classes of {func}() must be an int >= 2; got {k!r}.")
    return int(n), int(k)


def _advance(rows: list[int], pass_: int, shape: tuple[int, ...], width: int | None, n: int, what: str,
             func: str) -> None:
    """Count a batch of ``shape`` into pass ``pass_`` of ``rows``: every batch has ``width`` columns (the
    first batch's when None), and a pass holds at most ``n`` rows."""
    lo = rows[pass_]
    if width is not None and shape[1] != width:
        raise InputError(f"{what} of {func}() batches must all have {width} columns; got {shape[1]} at row {lo}.")
    if lo + shape[0] > n:
        raise InputError(f"{func}() was told n={n} rows; pass {pass_ + 1} got more.")
    rows[pass_] += shape[0]


def _in_batch(exc: InputError, lo: int, rows: int) -> InputError:
    """``exc`` with the batch it came from (its row numbers count from the batch's first row)."""
    return InputError(f"{exc} (row numbers within the batch of rows {lo}..{lo + rows - 1})")


class LeepAccumulator:
    """LEEP (:func:`transfergraph.planner.metrics.leep.leep`) of ``n`` rows fed in batches, in two passes.

    Pass 1: :meth:`add_joint` for every batch, in row order (the joint
    :math:`P(y, z) = \\frac1n \\sum_{i: y_i = y} \\theta_{iz}`, rows renormalized by their sums).
    Pass 2: :meth:`add_likelihood` for the same batches in the same row order
    (:math:`\\log \\sum_z \\theta_{iz} P(y_i \\mid z)`, summed pairwise). Then :meth:`value`.
    Batches are validated as :func:`~transfergraph.planner.common.checks.check_probabilities` does
    (rows >= 0 summing to 1, or log-probabilities with ``log_probs=True``).

    Parameters
    ----------
    n : int
        Rows in total (the joint is divided by n as each row is added, as in the in-memory kernel).
    n_classes : int
        Number of target classes k (>= 2); batches carry int codes in [0, k).
    log_probs : bool
        Batches hold log-probabilities.

    Raises
    ------
    InputError
        For a batch that is not (log-)probabilities, codes out of range, a pass with a row count
        other than n, or a pass out of order.
    """

    def __init__(self, n: int, n_classes: int, *, log_probs: bool = False) -> None:
        self.n, self.k = _check_size(n, n_classes, func="LeepAccumulator")
        self.log_probs = bool(log_probs)
        self.joint: np.ndarray | None = None
        self._cond: np.ndarray | None = None
        self._sum = PairwiseSum(self.n)
        self._rows = [0, 0]

    def _theta(self, probs: Any, codes: Any, pass_: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo = self._rows[pass_]
        try:
            theta, row_sum = check_probabilities(probs, func="leep", log_probs=self.log_probs,
                                                 tol=sum_tolerance(probs))
        except InputError as exc:
            raise _in_batch(exc, lo, len(probs)) from None
        codes = _check_codes(codes, self.k, theta.shape[0], func="leep")
        _advance(self._rows, pass_, theta.shape, None if self.joint is None else self.joint.shape[1], self.n,
                 "probs", "leep")
        return theta, row_sum, codes

    def add_joint(self, probs: Any, codes: Any) -> None:
        """Pass 1: add a batch (b, Z) with its class codes (b,) to the joint."""
        if self._cond is not None:
            raise InputError("LeepAccumulator.add_joint() after pass 2 began.")
        theta, row_sum, codes = self._theta(probs, codes, 0)
        if self.joint is None:
            self.joint = np.zeros((self.k, theta.shape[1]))
        _scatter_add(self.joint, codes, theta, (1.0 / row_sum) / self.n)

    def _finish_joint(self) -> np.ndarray:
        if self._rows[0] != self.n or self.joint is None:
            raise InputError(f"leep() was told n={self.n} rows; pass 1 got {self._rows[0]}.")
        joint = self.joint
        marginal = joint.sum(axis=0)
        positive = marginal > 0
        return np.where(positive, joint / np.where(positive, marginal, 1.0), 0.0)

    def add_likelihood(self, probs: Any, codes: Any) -> None:
        """Pass 2: add the log expected empirical predictions of a batch (same rows as pass 1, in order)."""
        if self._cond is None:
            self._cond = self._finish_joint()
        theta, row_sum, codes = self._theta(probs, codes, 1)
        weight = 1.0 / row_sum
        self._sum.add(np.log(NUMPY.rowdot(theta, self._cond[codes]) * weight))

    def value(self) -> float:
        """LEEP of the n rows (both passes complete)."""
        if self._rows[1] != self.n:
            raise InputError(f"leep() was told n={self.n} rows; pass 2 got {self._rows[1]}.")
        return self._sum.total() / self.n


class NceAccumulator:
    """NCE (:func:`transfergraph.planner.metrics.nce.nce`) of rows fed in batches, in one pass:
    :meth:`add` counts (label, argmax) pairs in a |Y| x Z table; :meth:`value` is
    :math:`\\sum_{y,z} P(y, z) \\log P(y \\mid z)` over all rows added. Counts are exact integers, so
    the value is bitwise the in-memory one whatever the batches.

    Raises
    ------
    InputError
        For a batch that is not (log-)probabilities, codes out of range, batches of different widths.
    """

    def __init__(self, n_classes: int, *, log_probs: bool = False) -> None:
        _, self.k = _check_size(1, n_classes, func="NceAccumulator")
        self.log_probs = bool(log_probs)
        self.counts: np.ndarray | None = None
        self.rows = 0

    def add(self, probs: Any, codes: Any) -> None:
        """Add a batch (b, Z) of (log-)probabilities and its class codes (b,)."""
        try:
            src, z = probability_argmax(probs, func="nce", log_probs=self.log_probs)
        except InputError as exc:
            raise _in_batch(exc, self.rows, len(probs)) from None
        codes = _check_codes(codes, self.k, src.shape[0], func="nce")
        if self.counts is None:
            self.counts = np.zeros(self.k * z)
        elif self.counts.shape[0] != self.k * z:
            raise InputError(f"probs of nce() batches must all have {self.counts.shape[0] // self.k} columns; "
                             f"got {z} at row {self.rows}.")
        self.counts += np.bincount(codes * z + src, minlength=self.k * z)
        self.rows += src.shape[0]

    def value(self) -> float:
        """NCE of all rows added (at least one)."""
        if self.counts is None:
            raise InputError("nce() of a stream needs at least one row; got none.")
        counts = self.counts.reshape(self.k, -1)
        per_source = counts.sum(axis=0)
        nonzero = counts > 0
        ratio = np.where(nonzero, counts / np.where(per_source > 0, per_source, 1.0)[None, :], 1.0)
        return float((counts * np.log(ratio)).sum()) / self.rows


class GaussianAccumulator:
    """Class counts, class means and the centred covariance of ``n`` feature rows fed in batches
    (two passes), finishing H-score and the shrinkage H-score.

    Pass 1, :meth:`add_means` (every batch with its codes, in row order): column minimum and maximum
    (exactly constant columns are dropped, as the in-memory metrics do), class counts and class
    sums. Pass 2, :meth:`add_covariance` (the same batches in the same order): the rows centred by
    the mean, summed as ``block.T @ block`` over blocks of ``CHUNK_ELEMENTS // d`` rows (the in-memory
    blocks, hence a buffer of at most 16 MiB), and :math:`\\sum_i \\|x_i\\|^4` for Ledoit-Wolf.
    Then :meth:`h_score` and :meth:`reg_h_score`, each bitwise equal to the in-memory function.

    Parameters
    ----------
    n : int
        Rows in total.
    n_classes : int
        Number of classes k (>= 2); batches carry int codes in [0, k).
    func : str
        Name used in error messages.

    Raises
    ------
    InputError
        For non-finite features, batches of different widths, codes out of range, a pass with a
        row count other than n, or a pass out of order.
    """

    def __init__(self, n: int, n_classes: int, *, func: str = "h_score") -> None:
        self.n, self.k = _check_size(n, n_classes, func="GaussianAccumulator")
        self.func = func
        self.counts = np.zeros(self.k)
        self._sums: np.ndarray | None = None
        self._lo = self._hi = None
        self._rows = [0, 0]
        self._stats: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._buf: np.ndarray | None = None
        self._fill = 0
        self._cov: np.ndarray | None = None
        self._fourth = 0.0

    def _features(self, features: Any, pass_: int) -> np.ndarray:
        lo = self._rows[pass_]
        try:
            x = check_features(features, func=self.func)
        except InputError as exc:
            raise _in_batch(exc, lo, len(features)) from None
        _advance(self._rows, pass_, x.shape, None if self._sums is None else self._sums.shape[1], self.n,
                 "features", self.func)
        return x

    def add_means(self, features: Any, codes: Any) -> None:
        """Pass 1: a batch of features (b, d) and its class codes (b,)."""
        if self._stats is not None:
            raise InputError(f"{type(self).__name__}.add_means() after pass 2 began.")
        x = self._features(features, 0)
        codes = _check_codes(codes, self.k, x.shape[0], func=self.func)
        if self._sums is None:
            self._sums = np.zeros((self.k, x.shape[1]))
            self._lo, self._hi = x.min(axis=0), x.max(axis=0)
        else:
            np.minimum(self._lo, x.min(axis=0), out=self._lo)
            np.maximum(self._hi, x.max(axis=0), out=self._hi)
        self.counts += np.bincount(codes, minlength=self.k)
        _scatter_add(self._sums, codes, x)

    def _start(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(varying columns, mean, class means, n_c / n) once pass 1 is complete."""
        if self._stats is None:
            if self._rows[0] != self.n or self._sums is None:
                raise InputError(f"{self.func}() was told n={self.n} rows; pass 1 got {self._rows[0]}.")
            varying = self._hi != self._lo
            sums = np.ascontiguousarray(self._sums[:, varying])  # C order: the sums over classes run row by row
            self._stats = (varying, sums.sum(axis=0) / self.n, sums / self.counts[:, None], self.counts / self.n)
            d = int(varying.sum())
            # The in-memory kernels' layout: C order, or Fortran order once columns were dropped
            # (``f[:, varying]`` is Fortran-ordered, which sets the order of the row-norm sums).
            order = "C" if varying.all() else "F"
            self._buf = np.empty((min(self.n, max(1, CHUNK_ELEMENTS // max(1, d))), d), order=order)
            self._cov = np.zeros((d, d))
        return self._stats

    def add_covariance(self, features: Any) -> None:
        """Pass 2: the same batch of features (b, d) as in pass 1, in the same row order."""
        varying, mean, _, _ = self._start()
        x = self._features(features, 1)
        if not varying.all():
            x = x[:, varying]
        if x.shape[1] == 0:
            return
        buf, i = self._buf, 0
        while i < x.shape[0]:
            take = min(buf.shape[0] - self._fill, x.shape[0] - i)
            buf[self._fill:self._fill + take] = x[i:i + take]
            self._fill += take
            i += take
            if self._fill == buf.shape[0]:
                self._flush(mean)

    def _flush(self, mean: np.ndarray) -> None:
        """Add the buffered block (the in-memory kernels' ``f[rows] - mean``, centred in place) to the
        covariance and the fourth-moment sum. The squared row norms are taken over sub-blocks of
        :data:`SQUARE_ROWS` rows (each row's value is its own), so no second block-sized array exists."""
        if self._fill:
            block = self._buf[:self._fill]
            if not (block.flags.c_contiguous or block.flags.f_contiguous):
                block = block.copy(order="F")  # the last, partial block of a Fortran-ordered buffer
            block -= mean
            self._cov += block.T @ block
            sq = np.empty(self._fill)
            for s in range(0, self._fill, SQUARE_ROWS):
                part = block[s:s + SQUARE_ROWS]
                sq[s:s + SQUARE_ROWS] = (part * part).sum(axis=1)
            self._fourth += float((sq * sq).sum())
            self._fill = 0

    def _finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        varying, mean, means, weights = self._start()
        if self._rows[1] != self.n:
            raise InputError(f"{self.func}() was told n={self.n} rows; pass 2 got {self._rows[1]}.")
        self._flush(mean)
        cov = (self._cov + self._cov.T) / (2.0 * self.n)
        return varying, mean, means, weights, cov

    def h_score(self, rcond: float = 1e-15) -> float:
        """:func:`~transfergraph.planner.metrics.hscore.h_score` of the rows (both passes complete)."""
        varying, mean, means, weights, cov = self._finish()
        if not varying.any():
            return 0.0
        return h_score_from_stats(NUMPY, cov, means - mean, weights, rcond)

    def reg_h_score(self) -> float:
        """:func:`~transfergraph.planner.metrics.reg_hscore.reg_h_score` of the rows (both passes complete)."""
        varying, mean, means, weights, cov = self._finish()
        if not varying.any():
            return 0.0
        alpha = ledoit_wolf_from_moments(NUMPY, cov, self._fourth, self.n)
        return reg_h_score_from_stats(NUMPY, cov, alpha, means - mean, weights)


def leep_stream(batches: Batches, n: int, n_classes: int, *, log_probs: bool = False) -> float:
    """LEEP of ``n`` rows from ``batches()``, a callable returning a fresh iterable of
    ``(probs (b, Z), codes (b,))`` pairs (called twice: one pass for the joint, one for the
    likelihood); bitwise :func:`~transfergraph.planner.metrics.leep.leep` of the whole arrays."""
    acc = LeepAccumulator(n, n_classes, log_probs=log_probs)
    for probs, codes in batches():
        acc.add_joint(probs, codes)
    for probs, codes in batches():
        acc.add_likelihood(probs, codes)
    return acc.value()


def nce_stream(batches: Batches, n_classes: int, *, log_probs: bool = False) -> float:
    """NCE of the rows of ``batches()`` (one pass); bitwise :func:`~transfergraph.planner.metrics.nce.nce`."""
    acc = NceAccumulator(n_classes, log_probs=log_probs)
    for probs, codes in batches():
        acc.add(probs, codes)
    return acc.value()


def _gaussian(batches: Batches, n: int, n_classes: int, func: str) -> GaussianAccumulator:
    acc = GaussianAccumulator(n, n_classes, func=func)
    for features, codes in batches():
        acc.add_means(features, codes)
    for features, _ in batches():
        acc.add_covariance(features)
    return acc


def h_score_stream(batches: Batches, n: int, n_classes: int, *, rcond: float = 1e-15) -> float:
    """H-score of ``n`` feature rows from ``batches()`` (``(features (b, d), codes (b,))`` pairs, two
    passes); bitwise :func:`~transfergraph.planner.metrics.hscore.h_score`."""
    return _gaussian(batches, n, n_classes, "h_score").h_score(rcond)


def reg_h_score_stream(batches: Batches, n: int, n_classes: int) -> float:
    """Shrinkage H-score of ``n`` feature rows from ``batches()`` (two passes); bitwise
    :func:`~transfergraph.planner.metrics.reg_hscore.reg_h_score`."""
    return _gaussian(batches, n, n_classes, "reg_h_score").reg_h_score()
