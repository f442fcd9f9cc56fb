"""Thread limiters: torch's intra-op pool and the BLAS pools, each set for a block and restored.

Two pools decide how a computation's sums are split, and so the last bits of its result:
torch's intra-op threads (model forwards and training) and the BLAS library's threads (NumPy,
SciPy and scikit-learn linear algebra). Every job runs with one of each by default, so numbers do
not depend on where the job ran; a bounded pool also keeps a loaded machine from oversubscribing.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator

__all__ = ["torch_threads", "blas_threads"]

#: this process's threadpoolctl controller and the number of imported modules when it was made
_CONTROLLER: dict[str, Any] = {}


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

    A thin use of ``threadpoolctl``'s ``ThreadpoolController.limit(limits=threads, user_api=user_api)``:
    ``user_api="blas"`` bounds the BLAS libraries only, ``None`` every pool threadpoolctl knows
    (BLAS and OpenMP). ``threads=None`` leaves the pools as they are.

    The controller (the list of native libraries loaded in this process) is made once and reused
    while no module has been imported since (``len(sys.modules)`` unchanged; a native library comes
    with the import of the extension that loads it): finding the libraries costs ~3 ms of CPU in a
    process that has torch and torchvision loaded, the reused controller ~0.02 ms, and a scoring
    job enters this block once per job and per metric call.
    """
    if threads is None:
        yield
        return
    with _controller().limit(limits=int(threads), user_api=user_api):
        yield


def _controller() -> Any:
    """This process's ``threadpoolctl.ThreadpoolController``, made again when modules were imported since."""
    n = len(sys.modules)
    if _CONTROLLER.get("modules") != n:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER["controller"] = ThreadpoolController()
        _CONTROLLER["modules"] = len(sys.modules)  # after the import of threadpoolctl itself
    return _CONTROLLER["controller"]
