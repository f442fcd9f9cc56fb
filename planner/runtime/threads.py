"""Thread limiters: torch's intra-op pool and the BLAS pools, each set for a block and restored.

Two pools decide how a computation's sums are split, and so the last bits of its result:
torch's intra-op threads (model forwards and training) and the BLAS library's threads (NumPy,
SciPy and scikit-learn linear algebra). Every job runs with one of each by default, so numbers do
not depend on where the job ran; a bounded pool also keeps a loaded machine from oversubscribing.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

__all__ = ["torch_threads", "blas_threads"]


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)`` (None or 0: unchanged), then restore.

    Jobs run their forward passes with one thread on every executor: a model's matrix products
    (e.g. the CNAPs-style Mahalanobis head) split their sums by thread count, so the last bits of
    its logits would otherwise depend on where the job ran.
    """
    import torch

    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def blas_threads(threads: int | None, *, user_api: str | None = "blas") -> Iterator[None]:
    """Run the block with at most ``threads`` threads in the native pools, then restore them.

    A thin use of ``threadpoolctl.threadpool_limits(limits=threads, user_api=user_api)``:
    ``user_api="blas"`` bounds the BLAS libraries only, ``None`` every pool threadpoolctl knows
    (BLAS and OpenMP). ``threads=None`` leaves the pools as they are.
    """
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(threads), user_api=user_api):
        yield
