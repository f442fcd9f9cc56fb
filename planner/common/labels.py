"""The one order of class labels used everywhere: numbers first by value, then other types by type name, then value.

Labels may be any hashable values (ints, strings, a mix). Every place that needs the classes
of a label array in a fixed order (metric encoding, CNAPs logits over the context's classes,
per-class subsampling, class selection in configs) uses :func:`sorted_labels`, so ``[10, 2, 'a']``
has the classes ``[2, 10, 'a']`` everywhere. Homogeneous numeric or string arrays get the same
order as ``np.unique``. :func:`encode_labels` maps labels to codes in that order and
:func:`check_labels` adds the checks every metric makes (length, at least 2 classes, and float
labels that look continuous refused unless declared classes).
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.tensors import is_tensor, to_numpy

__all__ = ["label_key", "sorted_labels", "encode_labels", "check_labels"]


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


def encode_labels(labels: Any, *, func: str, arg: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """Map 1-D hashable labels to integer codes 0..K-1 over the classes present.

    Classes are in the order of :func:`transfergraph.planner.common.labels.sorted_labels` (numbers by value, then other
    types by type name and value), so the codes do not depend on the sample order. Returns ``(codes int64 (n,), classes (K,))``.
    """
    if is_tensor(labels):
        arr = to_numpy(labels)
    elif isinstance(labels, (list, tuple)):
        kinds = {type(v) for v in labels}
        mixed = (len(kinds) > 1 and not all(issubclass(k, (int, np.integer, bool, np.bool_)) for k in kinds)) or any(
            issubclass(k, (tuple, frozenset)) for k in kinds
        )  # mixed types or composite values (tuples) stay Python objects
        arr = np.empty(len(labels), dtype=object) if mixed else None
        if mixed:
            arr[:] = list(labels)
        else:
            try:
                arr = np.asarray(labels)
            except Exception as exc:
                raise InputError(f"{arg} of {func}() must be a 1-D sequence of hashable values; {exc}.") from None
    else:
        arr = np.asarray(labels)
    if arr.ndim != 1:
        raise InputError(f"{arg} of {func}() must be 1-D (one label per sample); got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise InputError(f"{arg} of {func}() must be non-empty; got 0 labels.")
    if np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating):
        if not np.isfinite(arr).all():
            raise InputError(f"{arg} of {func}() must not contain NaN or inf; got non-finite labels.")
    if arr.dtype == object:
        try:
            index = {}
            for v in arr.tolist():
                if v not in index:
                    index[v] = None
        except TypeError as exc:
            raise InputError(f"{arg} of {func}() must contain hashable values; {exc}.") from None
        for v in index:
            if isinstance(v, float) and not np.isfinite(v):
                raise InputError(f"{arg} of {func}() must not contain NaN or inf; got {v!r}.")
        classes = sorted_labels(index)
        lookup = {v: i for i, v in enumerate(classes)}
        codes = np.fromiter((lookup[v] for v in arr.tolist()), dtype=np.int64, count=len(arr))
        out = np.empty(len(classes), dtype=object)
        out[:] = classes
        return codes, out
    classes, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), classes


def _check_not_continuous(labels: Any, k: int, n: int, *, func: str, arg: str, classes: bool) -> None:
    if not isinstance(classes, (bool, np.bool_)):
        raise InputError(f"classes of {func}() must be True or False; got {classes!r}.")
    dtype = getattr(labels, "dtype", None)
    try:
        floats = (np.issubdtype(np.dtype(str(dtype).replace("torch.", "")), np.floating) if dtype is not None
                  else all(isinstance(v, (float, np.floating)) for v in labels))
    except TypeError:  # a dtype NumPy does not know (e.g. torch.bfloat16): a float
        floats = "float" in str(dtype)
    if floats and k > n / 2 and not classes:
        extra = " or use logme(..., regression=True) for regression targets" if func == "logme" else ""
        raise InputError(
            f"{arg} of {func}() look continuous: float values with {k} distinct values for {n} samples "
            f"(more than n/2). Metrics score class labels; pass classes=True if these floats are class ids"
            f"{extra}."
        )


def check_labels(labels: Any, n: int, *, func: str, arg: str = "labels", x_arg: str = "features",
                 classes: bool = False) -> tuple[np.ndarray, int]:
    """Encode ``labels`` and check they match ``n`` samples and hold at least 2 classes.

    Float labels with more distinct values than half the samples look like regression targets, not
    classes: they are refused unless ``classes=True`` says they are class ids.
    Returns ``(codes int64 (n,), n_classes)``.
    """
    codes, found = encode_labels(labels, func=func, arg=arg)
    _check_not_continuous(labels, len(found), codes.shape[0], func=func, arg=arg, classes=classes)
    classes = found
    if codes.shape[0] != n:
        raise InputError(
            f"{x_arg} and {arg} of {func}() must have the same number of samples; got {n} rows in "
            f"{x_arg} and {codes.shape[0]} labels."
        )
    if len(classes) < 2:
        raise InputError(
            f"{arg} of {func}() must contain at least 2 distinct classes; got {len(classes)} "
            f"({list(classes)[:3]!r})."
        )
    return codes, int(len(classes))
