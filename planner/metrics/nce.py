"""NCE: Negative Conditional Entropy (Tran et al., ICCV 2019), with LEEP's dummy source labels."""
from __future__ import annotations

from typing import Any, Sequence

from transfergraph.planner.common.arguments import check_bool
from transfergraph.planner.common.checks import check_labels, probability_argmax
from transfergraph.planner.metrics._backend import ops_for
from transfergraph.planner.metrics._threads import bounded_threads
from transfergraph.planner.metrics._regimes import nce_regime
from transfergraph.planner.metrics._registry import Metric, MetricInput, entropy_bounds, normalize_by_entropy

__all__ = ["nce", "METRIC"]

PAPER = "https://arxiv.org/abs/1908.08142"


@bounded_threads
def nce(probs: Any, labels: Sequence[Any] | Any, *, log_probs: bool = False, classes: bool = False) -> float:
    r"""Negative conditional entropy of the target labels given the source model's hard labels.

    .. math::
        z_i = \arg\max_z \theta_{iz},\quad P(y, z) = \frac{|\{i: y_i = y, z_i = z\}|}{n},\quad
        \mathrm{NCE} = \sum_{y, z} P(y, z) \log \frac{P(y, z)}{P(z)} = -H(Y \mid Z),

    with :math:`0 \log 0 := 0` (no epsilon is added).

    Parameters
    ----------
    probs : array-like or torch.Tensor, shape (n, Z)
        Source-class probabilities, or log-probabilities with ``log_probs=True``; validated like
        :func:`leep` (only the argmax of each row is used; ties go to the first class).
    labels : sequence of hashable, shape (n,)
        Target labels; classes are the values present (at least 2).
    log_probs, classes : bool, default False
        As in :func:`leep`: ``probs`` holds log-probabilities; ``labels`` are class ids even when
        they look continuous (float labels with more than n/2 distinct values are otherwise refused).

    Returns
    -------
    float
        NCE in :math:`[-H(Y), 0] \subseteq [-\log |Y|, 0]`; higher is more transferable.
        ``normalized``: :math:`(\mathrm{NCE} + H(Y)) / H(Y) \in [0, 1]`.

    Notes
    -----
    Regime of validity: flagged ``small-sample`` while n < 2(|Y| - 1)(Z - 1) / H(Y), where the
    plug-in entropy's bias alone reaches a quarter of the normalized range
    (:func:`transfergraph.planner.metrics._regimes.nce_regime`).

    Shapes: probs (n, Z), labels (n,), result scalar. Cost O(n Z) for the validation and the argmax,
    fused into one pass over cache-sized row blocks (no copy of a float64 input, no ``exp`` array for
    log-probabilities), plus O(n + |Y| Z) for the counts (one ``bincount``). Paper: https://arxiv.org/abs/1908.08142
    """
    log_probs = check_bool(log_probs, "log_probs", caller="nce")
    src, z = probability_argmax(probs, func="nce", log_probs=log_probs)  # validation + argmax, one pass
    codes, k = check_labels(labels, src.shape[0], func="nce", x_arg="probs", classes=classes)
    ops = ops_for(src)
    n = src.shape[0]
    codes = ops.codes(codes, src)
    counts = ops.bincount(codes * z + src, minlength=k * z).reshape(k, z)
    per_source = counts.sum(axis=0)
    nonzero = counts > 0
    ratio = ops.where(nonzero, counts / ops.where(per_source > 0, per_source, 1.0)[None, :], 1.0)
    return ops.to_float((counts * ops.log(ratio)).sum()) / n


#: The registry record (``version``: bumped when the numbers or flags change; caches key on it).
METRIC = Metric(name="nce", func=nce, input=MetricInput.PROBS, version="2", paper=PAPER,
                normalizer=normalize_by_entropy, bounds=entropy_bounds, regime=nce_regime,
                invariant_columns=frozenset(), duplication_invariant=True)
