"""BLAS thread bound for direct calls of the metrics.

``score()`` computes every metric under one BLAS thread (bitwise-equal tables on every executor).
A direct call of ``transfergraph.planner.metrics.logme(...)`` would otherwise use OpenBLAS's default pool (every
core), which on a loaded machine oversubscribes the cores: LogME and TransRate were up to 2.3x slower
than with one thread there. Every public metric therefore runs under
``threadpoolctl``'s limit of ``BLAS_THREADS`` for ``user_api="blas"`` (about 0.02 ms per call with the
process's controller reused, :func:`transfergraph.planner.runtime.threads.blas_threads`), so a
direct call also returns the same bits as the score table. :func:`set_blas_threads` changes the
bound (``None`` leaves the pool as the process configured it, e.g. to use every core of an idle
machine for large ``eigh`` calls).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from transfergraph.planner.runtime.threads import blas_threads

__all__ = ["set_blas_threads", "get_blas_threads", "bounded_threads"]

F = TypeVar("F", bound=Callable[..., Any])

_STATE = {"threads": 1}


def set_blas_threads(threads: int | None) -> None:
    """Set the BLAS thread bound of direct metric calls: an int >= 1, or None for no bound."""
    from transfergraph.planner.common.arguments import check_scalar

    _STATE["threads"] = check_scalar(threads, "threads", int, caller="set_blas_threads", min_val=1, allow_none=True)


def get_blas_threads() -> int | None:
    """The current bound (default 1)."""
    return _STATE["threads"]


def bounded_threads(func: F) -> F:
    """Decorator: run ``func`` under the BLAS thread bound."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with blas_threads(_STATE["threads"]):
            return func(*args, **kwargs)

    wrapper.__blas_bounded__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


