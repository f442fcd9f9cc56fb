"""LEEP: Log Expected Empirical Prediction (Nguyen et al., ICML 2020)."""
from __future__ import annotations

from typing import Any, Sequence

from .._validation import check_labels, check_probabilities
from ._backend import ops_for, row_chunks

__all__ = ["leep", "leep_from_validated"]

PAPER = "https://arxiv.org/abs/2002.12462"


def leep(probs: Any, labels: Sequence[Any] | Any, *, log_probs: bool = False) -> float:
    r"""Log Expected Empirical Prediction of a source classifier on a labeled target set.

    .. math::
        P(y, z) = \frac1n \sum_{i: y_i = y} \theta_{iz},\quad
        P(y \mid z) = \frac{P(y, z)}{\sum_{y'} P(y', z)},\quad
        \mathrm{LEEP} = \frac1n \sum_i \log \sum_z \theta_{iz} P(y_i \mid z).

    A source class whose probabilities underflow to 0 on every sample (:math:`P(z) = 0`)
    contributes nothing: :math:`P(y \mid z) := 0` there (the references return NaN).

    Parameters
    ----------
    probs : array-like or torch.Tensor, shape (n, Z)
        Source-class probabilities :math:`\theta_i` (rows >= 0, summing to 1), or
        log-probabilities when ``log_probs=True`` (e.g. ``log_softmax`` of the logits; ``-inf``
        allowed). Rows are renormalized in float64 so they sum to exactly 1.
    labels : sequence of hashable, shape (n,)
        Target labels; the classes are the values present (at least 2).
    log_probs : bool, default False
        Whether ``probs`` holds log-probabilities.

    Returns
    -------
    float
        LEEP, in :math:`[-H(Y), 0]` (H(Y) the entropy of the empirical label distribution);
        higher means more transferable. The ``normalized`` value of ``score()`` is
        :math:`(\mathrm{LEEP} + H(Y)) / H(Y) \in [0, 1]`.

    Notes
    -----
    Shapes: probs (n, Z), labels (n,), result scalar. Cost O(n Z) time (one scatter-add for the
    joint, then a gather and a row-wise dot product, in row blocks) and O(|Y| Z) extra memory plus
    one 16 MiB block. A tensor is scored on its own device.
    Paper: https://arxiv.org/abs/2002.12462
    """
    x, row_norm = check_probabilities(probs, func="leep", log_probs=log_probs)
    codes, k = check_labels(labels, x.shape[0], func="leep", x_arg="probs")
    return leep_from_validated(x, row_norm, codes, k, log_probs=log_probs)


def _theta(ops: Any, x: Any, row_norm: Any, rows: slice, log_probs: bool) -> Any:
    """Rows of theta, renormalized to sum to 1 (a fresh block; the input is never modified)."""
    if log_probs:
        return ops.exp(x[rows] - row_norm[rows][:, None])
    return x[rows] / row_norm[rows][:, None]


def leep_from_validated(x: Any, row_norm: Any, codes: Any, k: int, *, log_probs: bool) -> float:
    """LEEP kernel on validated float64 input (see :func:`leep`); ``codes`` are int labels 0..k-1."""
    ops = ops_for(x)
    n, z = x.shape
    codes = ops.codes(codes, x)
    joint = ops.zeros((k, z), like=x)
    for rows in row_chunks(n, z):
        joint += ops.scatter_rows(codes[rows], _theta(ops, x, row_norm, rows, log_probs), k)
    marginal = joint.sum(axis=0)
    positive = marginal > 0
    # P(y|z) with P(z) = 0 mapped to 0: such a column is 0 in every row of theta as well.
    cond = ops.where(positive, joint / ops.where(positive, marginal, 1.0), 0.0)
    total = 0.0
    for rows in row_chunks(n, z):
        eep = ops.rowdot(_theta(ops, x, row_norm, rows, log_probs), cond[codes[rows]])
        total += ops.to_float(ops.log(eep).sum())
    return total / n
