"""The one order of class labels used everywhere: numbers first by value, then other types by type name, then value.

Labels may be any hashable values (ints, strings, a mix). Every place that needs the classes
of a label array in a fixed order (metric encoding, CNAPs logits over the context's classes,
per-class subsampling, class selection in configs) uses :func:`sorted_labels`, so ``[10, 2, 'a']``
has the classes ``[2, 10, 'a']`` everywhere. Homogeneous numeric or string arrays get the same
order as ``np.unique``.
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

__all__ = ["label_key", "sorted_labels"]


def label_key(value: Any) -> tuple:
    """Sort key of one label: ``(0, "", value)`` for real numbers (bools included), else
    ``(1, type name, value)``."""
    if isinstance(value, (numbers.Real, np.bool_)):
        return (0, "", value)
    return (1, type(value).__name__, value)


def sorted_labels(values: Iterable[Any]) -> list[Any]:
    """The distinct values of ``values`` in the documented order (see the module docstring).

    Values of one type that do not compare with each other (e.g. tuples mixing types) fall back to
    ``repr`` within their type.

    >>> sorted_labels([10, 2, "a", 2])
    [2, 10, 'a']
    """
    distinct = list(dict.fromkeys(values))
    try:
        return sorted(distinct, key=label_key)
    except TypeError:
        return sorted(distinct, key=lambda v: label_key(v)[:2] + (repr(v),))
