"""LEEP: Log Expected Empirical Prediction (Nguyen et al., ICML 2020)."""
from __future__ import annotations

from typing import Any, Sequence

from transfergraph.planner.common.arguments import check_bool
from transfergraph.planner.common.checks import check_labels, check_matrix, check_probabilities, sum_tolerance
from transfergraph.planner.metrics._backend import ops_for, row_chunks
from transfergraph.planner.metrics._threads import bounded_threads
from transfergraph.planner.metrics._regimes import leep_regime
from transfergraph.planner.metrics._registry import Metric, MetricInput, entropy_bounds, normalize_by_entropy

__all__ = ["leep", "leep_from_validated", "METRIC"]

PAPER = "https://arxiv.org/abs/2002.12462"


@bounded_threads
def leep(probs: Any, labels: Sequence[Any] | Any, *, log_probs: bool = False, classes: bool = False) -> float:
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
    classes : bool, default False
        Say that ``labels`` are class ids even when they look continuous: without it, float labels
        with more than n/2 distinct values are refused (:class:`~transfergraph.planner.common.exceptions.InputError`).
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
    Regime of validity: P(y | z) is fitted on the scored samples themselves, so with n < Z the
    score is flagged ``small-sample`` (:func:`transfergraph.planner.metrics._regimes.leep_regime`).

    Shapes: probs (n, Z), labels (n,), result scalar. Cost O(n Z) time in three streaming passes over
    memory: validation (row sums and minimum), the joint as a sparse (|Y|, n) one-hot times probs
    (CSC form, rows of probs read in order, no copy), then a gather of P(y_i | .) and a row-wise dot
    product per cache-sized block; O(|Y| Z + n) extra memory (plus exp(log_probs), one (n, Z) array,
    with ``log_probs=True``). Fusing the joint into the validation pass was measured slower (a dense
    (|Y|, Z) add per block costs more than the second read). A tensor is scored on its own device.
    Paper: https://arxiv.org/abs/2002.12462
    """
    log_probs = check_bool(log_probs, "log_probs", caller="leep")
    kind = "(n, Z) log-probability" if log_probs else "(n, Z) probability"
    x = check_matrix(probs, arg="probs", func="leep", what=kind)
    codes, k = check_labels(labels, x.shape[0], func="leep", x_arg="probs", classes=classes)
    theta, row_sum = check_probabilities(x, func="leep", log_probs=log_probs, tol=sum_tolerance(probs))
    return leep_from_validated(theta, row_sum, codes, k)


#: Row blocks of the gather pass (2 MiB of float64: 256 rows of width 1000) stay in the L2/L3 cache.
GATHER_ELEMENTS = 1 << 18


def leep_from_validated(theta: Any, row_sum: Any, codes: Any, k: int) -> float:
    """LEEP kernel on validated float64 probabilities (see :func:`leep`).

    ``row_sum`` (n,) are the row sums of ``theta`` (rows are used as ``theta_i / row_sum_i``, so
    they sum to exactly 1 without a normalized copy); ``codes`` are int labels 0..k-1.
    """
    ops = ops_for(theta)
    n, z = theta.shape
    codes = ops.codes(codes, theta)
    weight = 1.0 / row_sum
    joint = ops.scatter_rows(codes, theta, k, weights=weight / n)  # P(y, z), one pass, no copy
    marginal = joint.sum(axis=0)
    positive = marginal > 0
    # P(y|z) with P(z) = 0 mapped to 0: such a column is 0 in every row of theta as well.
    cond = ops.where(positive, joint / ops.where(positive, marginal, 1.0), 0.0)
    log_eep = ops.zeros((n,), like=theta)
    for rows in row_chunks(n, z, GATHER_ELEMENTS):
        log_eep[rows] = ops.log(ops.rowdot(theta[rows], cond[codes[rows]]) * weight[rows])
    return ops.to_float(log_eep.sum()) / n


#: The registry record (``version``: bumped when the numbers or flags change; caches key on it).
METRIC = Metric(name="leep", func=leep, input=MetricInput.PROBS, version="2", paper=PAPER,
                normalizer=normalize_by_entropy, bounds=entropy_bounds, regime=leep_regime,
                invariant_columns=frozenset(), duplication_invariant=True)
