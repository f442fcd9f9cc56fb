"""Input checks shared by the transferability metrics.

Every check raises :class:`transfergraph.planner.common.exceptions.InputError` (a ``ValueError``) whose message names the
argument and the function, says what was expected and what was given, and, where a likely cause is
known (logits passed as probabilities), how to fix it. Nothing here mutates its inputs: arrays are
converted to float64 (a copy only when the dtype differs) and torch tensors stay on their device.

The checks that scan an (n, Z) matrix use one reduction per property (row sums, minimum), so they
cost O(n Z) time and O(n) extra memory.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from transfergraph.planner.common.exceptions import InputError

from transfergraph.planner.common.labels import check_labels, encode_labels  # re-exported: the label checks live with the label order
from transfergraph.planner.common.tensors import is_tensor  # re-exported: the torch edge lives in tensors

__all__ = [
    "is_tensor",
    "check_matrix",
    "check_probabilities",
    "probability_argmax",
    "sum_tolerance",
    "check_features",
    "check_labels",
    "encode_labels",
]

#: Row-sum tolerance for probabilities, by the precision of the array the caller gave.
SUM_TOL_DOUBLE = 1e-5
SUM_TOL_SINGLE = 1e-3


def _describe(x: Any) -> str:
    if is_tensor(x):
        return f"torch.Tensor of shape {tuple(x.shape)} on {x.device}"
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"{type(x).__name__} of shape {tuple(shape)}"
    return type(x).__name__


def check_matrix(x: Any, *, arg: str, func: str, what: str) -> Any:
    """Return ``x`` as a finite float64 2-D array (NumPy) or tensor (torch, same device).

    ``what`` describes the expected content for the message, e.g. ``"(n, d) features"``.
    """
    if is_tensor(x):
        import torch

        if x.is_complex():
            raise InputError(f"{arg} of {func}() must be a real {what} array; got dtype {x.dtype}.")
        if x.ndim != 2:
            raise InputError(f"{arg} of {func}() must be a 2-D {what} array; got {_describe(x)}.")
        out = x.detach().to(torch.float64)
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise InputError(f"{arg} of {func}() must be a 2-D {what} array; got {_describe(x)} ({exc}).") from None
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise InputError(f"{arg} of {func}() must be a numeric {what} array; got dtype {arr.dtype}.")
        if np.iscomplexobj(arr):
            raise InputError(f"{arg} of {func}() must be a real {what} array; got dtype {arr.dtype}.")
        if arr.ndim != 2:
            raise InputError(f"{arg} of {func}() must be a 2-D {what} array; got {_describe(arr)}.")
        out = np.asarray(arr, dtype=np.float64)
    if out.shape[0] == 0 or out.shape[1] == 0:
        raise InputError(
            f"{arg} of {func}() must be a non-empty {what} array (at least 1 row and 1 column); "
            f"got shape {tuple(out.shape)}."
        )
    return out


def sum_tolerance(x: Any) -> float:
    """Row-sum tolerance for probabilities given as ``x``: 1e-5 for float64 (and ints), else 1e-3."""
    return SUM_TOL_SINGLE if _single_precision(x) else SUM_TOL_DOUBLE


def _single_precision(x: Any) -> bool:
    dt = str(getattr(x, "dtype", "float64"))
    return not ("float64" in dt or "double" in dt or "int" in dt or "bool" in dt)


def check_probabilities(
    probs: Any,
    *,
    func: str,
    log_probs: bool = False,
    arg: str = "probs",
    tol: float | None = None,
) -> tuple[Any, Any]:
    """Validate an (n, Z) matrix of probabilities (or log-probabilities) for ``func``.

    Returns
    -------
    theta : float64 array or tensor, shape (n, Z)
        The probabilities in float64 (same device for a tensor): the input itself (converted when
        it is not float64) or, for ``log_probs=True``, a new array ``exp(log_probs)``.
    row_sum : float64 array or tensor, shape (n,)
        Row sums of ``theta`` (1 within the tolerance); callers divide by them so that every row sums
        to exactly 1 in float64 (the bounds of LEEP and NCE rely on it).

    Raises
    ------
    InputError
        Wrong ndim, empty, NaN/inf (``-inf`` is allowed for log-probabilities: probability 0),
        negative probabilities or positive log-probabilities, rows not summing to 1 (with a hint
        that logits were probably passed).

    Notes
    -----
    Passes over memory: probabilities 1 (row sums and minimum per cache-sized block);
    log-probabilities 2 (maximum, which also catches NaN, then ``exp`` and row sums per block) and
    one new (n, Z) array.
    """
    kind = "(n, Z) log-probability" if log_probs else "(n, Z) probability"
    x = check_matrix(probs, arg=arg, func=func, what=kind)
    tol = sum_tolerance(probs) if tol is None else tol
    tensor = is_tensor(x)
    if log_probs:
        _check_log_max(float(x.max()), arg=arg, func=func, tol=tol)  # NaN propagates through max
        if tensor:
            theta = x.exp()
            row_sum = theta.sum(dim=1)
        else:
            theta, row_sum = _exp_row_sums(x)
        _check_row_sums(row_sum, arg=arg, func=func, tol=tol, log_probs=True)
        return theta, row_sum
    if tensor:
        row_sum, xmin = x.sum(dim=1), float(x.min())
    else:
        row_sum, xmin = _row_sums_and_min(x)
    _check_prob_min(row_sum, xmin, arg=arg, func=func)
    _check_row_sums(row_sum, arg=arg, func=func, tol=tol, log_probs=False)
    return x, row_sum


def probability_argmax(probs: Any, *, func: str, log_probs: bool = False, arg: str = "probs") -> tuple[Any, int]:
    """Validate ``probs`` exactly as :func:`check_probabilities` does and return ``(argmax of each
    row (n,), Z)`` in ONE pass over memory: per cache-sized row block, the row sums (of ``exp`` for
    log-probabilities), the minimum (maximum) and the argmax, with no (n, Z) copy for float64 input.
    Ties go to the first column. A tensor is checked with :func:`check_probabilities` on its device.
    """
    kind = "(n, Z) log-probability" if log_probs else "(n, Z) probability"
    x = check_matrix(probs, arg=arg, func=func, what=kind)
    tol = sum_tolerance(probs)
    if is_tensor(x):
        theta, _ = check_probabilities(x, func=func, log_probs=log_probs, arg=arg, tol=tol)
        return theta.argmax(dim=1), x.shape[1]
    n, z = x.shape
    step = max(1, BLOCK_ELEMENTS // z)
    row_sum, src, ones = np.empty(n), np.empty(n, dtype=np.int64), np.ones(z)
    extreme = -np.inf if log_probs else np.inf
    for s in range(0, n, step):
        block = x[s:s + step]
        src[s:s + step] = block.argmax(axis=1)
        if log_probs:
            m = float(block.max())
            extreme = m if (m != m or m > extreme) else extreme  # NaN sticks
            np.dot(np.exp(block), ones, out=row_sum[s:s + step])
        else:
            m = float(block.min())
            extreme = m if (m != m or m < extreme) else extreme
            np.dot(block, ones, out=row_sum[s:s + step])  # a BLAS matrix-vector product: 1.2x a row sum
    if log_probs:
        _check_log_max(extreme, arg=arg, func=func, tol=tol)
    else:
        _check_prob_min(row_sum, extreme, arg=arg, func=func)
    _check_row_sums(row_sum, arg=arg, func=func, tol=tol, log_probs=log_probs)
    return src, z


def _check_log_max(xmax: float, *, arg: str, func: str, tol: float) -> None:
    if not (xmax == xmax) or xmax == float("inf"):
        raise InputError(
            f"{arg} of {func}() must contain finite log-probabilities (-inf allowed for probability 0); "
            f"got NaN or +inf values."
        )
    if xmax > tol:
        raise InputError(
            f"{arg} of {func}() with log_probs=True must contain log-probabilities (<= 0); got a "
            f"maximum of {xmax:.4g}. It looks like logits were passed: apply log_softmax first."
        )


def _check_prob_min(row_sum: Any, xmin: float, *, arg: str, func: str) -> None:
    finite = bool(row_sum.isfinite().all()) if is_tensor(row_sum) else bool(np.isfinite(row_sum).all())
    if not finite or not (xmin == xmin):
        raise InputError(f"{arg} of {func}() must contain finite probabilities; got NaN or inf values.")
    if xmin < 0:
        raise InputError(
            f"{arg} of {func}() must contain probabilities (>= 0, rows summing to 1); got a negative "
            f"value ({xmin:.4g}). It looks like logits or log-probabilities were passed: apply softmax "
            f"first, or pass log-probabilities with log_probs=True."
        )


def _check_row_sums(row_sum: Any, *, arg: str, func: str, tol: float, log_probs: bool) -> None:
    dev = (row_sum - 1.0).abs() if is_tensor(row_sum) else np.abs(row_sum - 1.0)
    worst = int(dev.argmax())
    if float(dev[worst]) <= tol:
        return
    if log_probs:
        lse = float(np.log(float(row_sum[worst]))) if float(row_sum[worst]) > 0 else float("-inf")
        raise InputError(
            f"{arg} of {func}() with log_probs=True must have rows with logsumexp 0 (probabilities "
            f"summing to 1, tolerance {tol:g}); row {worst} has logsumexp {lse:.6g}. "
            f"It looks like logits were passed: apply log_softmax first."
        )
    raise InputError(
        f"{arg} of {func}() must have rows summing to 1 (probabilities, tolerance {tol:g}); row "
        f"{worst} sums to {float(row_sum[worst]):.6g}. It looks like logits or unnormalized scores "
        f"were passed: apply softmax first, or pass log-probabilities with log_probs=True."
    )


#: Row blocks of the streaming checks: 1 MiB of float64, inside a core's L2 cache.
BLOCK_ELEMENTS = 1 << 17


def _row_sums_and_min(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Row sums and the minimum of ``x`` in one pass over memory (cache-sized row blocks)."""
    n, z = x.shape
    step = max(1, BLOCK_ELEMENTS // z)
    row_sum = np.empty(n)
    xmin = np.inf
    for s in range(0, n, step):
        rows = slice(s, min(n, s + step))
        block = x[rows]
        block.sum(axis=1, out=row_sum[rows])
        xmin = min(xmin, float(block.min()))
    return row_sum, xmin


def _exp_row_sums(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """theta = exp(x) (a new array) and its row sums, block by block."""
    n, z = x.shape
    step = max(1, BLOCK_ELEMENTS // z)
    theta = np.empty_like(x)
    row_sum = np.empty(n)
    for s in range(0, n, step):
        rows = slice(s, min(n, s + step))
        block = np.exp(x[rows], out=theta[rows])
        block.sum(axis=1, out=row_sum[rows])
    return theta, row_sum


def check_features(features: Any, *, func: str, arg: str = "features") -> Any:
    """Validate an (n, d) feature matrix: 2-D, non-empty, numeric, finite. Returns float64."""
    x = check_matrix(features, arg=arg, func=func, what="(n, d) feature")
    if is_tensor(x):
        finite = bool(x.isfinite().all())
    else:
        finite = bool(np.isfinite(x).all())
    if not finite:
        raise InputError(
            f"{arg} of {func}() must be finite; got NaN or inf values. Clean or impute them first."
        )
    return x
