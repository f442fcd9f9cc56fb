"""Entropy of the empirical label distribution, the scale of LEEP and NCE."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from transfergraph.planner.common.checks import encode_labels

__all__ = ["label_entropy"]


def label_entropy(labels: Sequence[Any] | Any) -> float:
    r"""H(Y) in nats of the empirical distribution of ``labels``.

    .. math:: H(Y) = -\sum_y \frac{n_y}{n} \log \frac{n_y}{n}

    Parameters
    ----------
    labels : sequence of hashable, shape (n,)
        Any hashable labels (ints, strings, mixed); a single class gives 0.

    Returns
    -------
    float
        H(Y) in [0, log |Y|].
    """
    codes, classes = encode_labels(labels, func="label_entropy")
    p = np.bincount(codes, minlength=len(classes)) / codes.shape[0]
    return float(-(p * np.log(p)).sum())
