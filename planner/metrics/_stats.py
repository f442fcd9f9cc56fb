"""Shared feature statistics: column mean, centred covariance and class means, all 1/n."""
from __future__ import annotations

from typing import Any

from transfergraph.planner.common.checks import check_features, check_labels
from transfergraph.planner.metrics._backend import ops_for, row_chunks

__all__ = ["centred_covariance", "class_stats", "drop_constant_columns", "feature_inputs"]


def feature_inputs(features: Any, labels: Any, *, func: str, classes: bool) -> tuple[Any, Any, Any, int]:
    """The checked inputs of a feature metric: ``(ops, f, codes, k)``.

    ``f`` is the (n, d') features with constant columns dropped (d' may be 0), ``codes`` the int64
    label codes (n,) in ``f``'s backend and device, ``k`` the number of classes and ``ops`` the
    array backend of ``f``. Raises
    :class:`~transfergraph.planner.common.exceptions.InputError` naming ``func`` for bad features or labels.
    """
    f = check_features(features, func=func)
    codes, k = check_labels(labels, f.shape[0], func=func, classes=classes)
    ops = ops_for(f)
    f = drop_constant_columns(ops, f)
    return ops, f, ops.codes(codes, f), k


def centred_covariance(ops: Any, f: Any, mean: Any) -> Any:
    """Biased covariance (1/n) of ``f`` (n, d) around ``mean`` (d,), shape (d, d).

    Rows are centred block by block, so the extra memory is one block plus the (d, d) result.
    """
    n, d = f.shape
    cov = ops.zeros((d, d), like=f)
    for rows in row_chunks(n, d):
        block = f[rows] - mean
        cov += block.T @ block
    cov = (cov + cov.T) / (2.0 * n)
    return cov


def class_stats(ops: Any, f: Any, codes: Any, k: int) -> tuple[Any, Any, Any]:
    """Global mean (d,), class means (k, d) and class weights n_c / n (k,) of ``f``."""
    n = f.shape[0]
    counts = ops.bincount(codes, minlength=k)
    sums = ops.scatter_rows(codes, f, k)
    means = sums / counts[:, None]
    return sums.sum(axis=0) / n, means, counts / n


def drop_constant_columns(ops: Any, f: Any) -> Any:
    """``f`` without its exactly constant columns (they carry no information about the labels).

    A constant column has zero variance; kept, its rounding-level "eigenvalue" can sit just above a
    relative cutoff and turn noise into score. Returns ``f`` itself when no column is constant.
    """
    varying = (f.max(axis=0) != f.min(axis=0)) if ops.name == "numpy" else (f.amax(dim=0) != f.amin(dim=0))
    if bool(varying.all()):
        return f
    return f[:, varying]
