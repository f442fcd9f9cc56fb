"""The few array operations the metric kernels need, for NumPy and for torch.

A kernel is written once against an ``ops`` object (``NUMPY`` or ``TORCH``), so a torch tensor is
scored on its own device (CPU or CUDA) with the same code path as a NumPy array. Only operations
whose NumPy and torch spellings differ live here; ``@``, ``+``, indexing and ``.sum(axis=...)`` are
used directly.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from transfergraph.planner.common.checks import is_tensor
from transfergraph.planner.common.tensors import to_numpy as _to_numpy

__all__ = ["NUMPY", "TORCH", "ops_for", "row_chunks"]

#: Elements per row block in chunked passes over (n, Z) matrices (16 MiB of float64).
CHUNK_ELEMENTS = 1 << 21


def row_chunks(n: int, width: int, elements: int = CHUNK_ELEMENTS):
    """Yield ``slice`` objects covering ``range(n)`` with about ``elements`` entries per block."""
    step = max(1, elements // max(1, width))
    for s in range(0, n, step):
        yield slice(s, min(n, s + step))


class _NumpyOps:
    name = "numpy"
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    where = staticmethod(np.where)

    @staticmethod
    def codes(codes: np.ndarray, like: Any) -> np.ndarray:
        return codes

    @staticmethod
    def zeros(shape: tuple[int, ...], like: Any) -> np.ndarray:
        return np.zeros(shape, dtype=np.float64)

    @staticmethod
    def asarray(values: Any, like: Any) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    @staticmethod
    def scatter_rows(codes: np.ndarray, x: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Class-wise (weighted) row sums: out[c] = sum of w_i x[i] over i with codes[i] == c,
        shape (k, x.shape[1]). A sparse (k, n) one-hot times x: O(n * width), no copy of ``x``.

        The one-hot is built in CSC form (column i holds w_i at row codes[i]), so the product streams
        through the rows of ``x`` in memory order, which is faster than the CSR form
        (``benchmarks/RESULTS.md``, "Timings moved out of docstrings").
        """
        n = codes.shape[0]
        data = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        onehot = sp.csc_matrix((data, np.asarray(codes, dtype=np.int64), np.arange(n + 1)), shape=(k, n))
        return np.asarray(onehot @ x)

    @staticmethod
    def bincount(codes: np.ndarray, minlength: int) -> np.ndarray:
        return np.bincount(codes, minlength=minlength).astype(np.float64)

    @staticmethod
    def argmax_rows(x: np.ndarray) -> np.ndarray:
        return np.argmax(x, axis=1)

    @staticmethod
    def rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Row-wise dot products, shape (n,): a batched (1, w) @ (w, 1) matmul (faster than
        ``einsum("ij,ij->i")``; ``benchmarks/RESULTS.md``, "Timings moved out of docstrings")."""
        return np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]

    @staticmethod
    def eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.linalg.eigh(a)

    @staticmethod
    def eigvalsh(a: np.ndarray) -> np.ndarray:
        return np.linalg.eigvalsh(a)

    @staticmethod
    def cholesky(a: np.ndarray) -> np.ndarray:
        return np.linalg.cholesky(a)

    @staticmethod
    def eye_like(a: np.ndarray) -> np.ndarray:
        return np.eye(a.shape[0])

    @staticmethod
    def maximum(x: np.ndarray, floor: float) -> np.ndarray:
        return np.maximum(x, floor)

    @staticmethod
    def to_float(x: Any) -> float:
        return float(x)

    @staticmethod
    def to_numpy(x: Any) -> np.ndarray:
        return np.asarray(x)


class _TorchOps:
    name = "torch"

    def __getattr__(self, item: str) -> Any:  # exp, log, sqrt, abs, where
        import torch

        return getattr(torch, item)

    @staticmethod
    def codes(codes: np.ndarray, like: Any) -> Any:
        import torch

        return torch.as_tensor(codes, dtype=torch.int64, device=like.device)

    @staticmethod
    def zeros(shape: tuple[int, ...], like: Any) -> Any:
        import torch

        return torch.zeros(shape, dtype=torch.float64, device=like.device)

    @staticmethod
    def asarray(values: Any, like: Any) -> Any:
        import torch

        return torch.as_tensor(values, dtype=torch.float64, device=like.device)

    @staticmethod
    def scatter_rows(codes: Any, x: Any, k: int, weights: Any = None) -> Any:
        import torch

        out = torch.zeros((k, x.shape[1]), dtype=x.dtype, device=x.device)
        if weights is None:
            return out.index_add_(0, codes, x)
        for rows in row_chunks(x.shape[0], x.shape[1]):  # weighted rows, one block at a time
            out.index_add_(0, codes[rows], x[rows] * weights[rows, None])
        return out

    @staticmethod
    def bincount(codes: Any, minlength: int) -> Any:
        import torch

        return torch.bincount(codes, minlength=minlength).to(torch.float64)

    @staticmethod
    def argmax_rows(x: Any) -> Any:
        return x.argmax(dim=1)

    @staticmethod
    def rowdot(a: Any, b: Any) -> Any:
        return (a * b).sum(dim=1)

    @staticmethod
    def eigh(a: Any) -> tuple[Any, Any]:
        import torch

        return torch.linalg.eigh(a)

    @staticmethod
    def eigvalsh(a: Any) -> Any:
        import torch

        return torch.linalg.eigvalsh(a)

    @staticmethod
    def cholesky(a: Any) -> Any:
        import torch

        return torch.linalg.cholesky(a)

    @staticmethod
    def eye_like(a: Any) -> Any:
        import torch

        return torch.eye(a.shape[0], dtype=a.dtype, device=a.device)

    @staticmethod
    def maximum(x: Any, floor: float) -> Any:
        return x.clamp_min(floor)

    @staticmethod
    def to_float(x: Any) -> float:
        return float(x.item()) if hasattr(x, "item") else float(x)

    @staticmethod
    def to_numpy(x: Any) -> np.ndarray:
        return _to_numpy(x)


NUMPY = _NumpyOps()
TORCH = _TorchOps()


def ops_for(x: Any) -> Any:
    """``TORCH`` for a torch tensor, else ``NUMPY``."""
    return TORCH if is_tensor(x) else NUMPY
