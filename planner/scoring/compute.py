"""Compute options of :func:`transfergraph.planner.score`: batch size, device and DataLoader reader processes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError

__all__ = ["ComputeOptions", "check_compute"]

#: what ``device`` may be (besides a ``torch.device``)
DEVICE_SPELLINGS = ("cpu", "cuda", "cuda:N")


@dataclass(frozen=True)
class ComputeOptions:
    """How jobs forward their models (frozen: every job of a run carries the same options).

    Attributes
    ----------
    batch_size : int
        Samples per forward batch.
    device : str or None
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``; None runs each model where its parameters are.
    num_workers : int
        ``torch.utils.data.DataLoader`` reader processes per job for lazy datasets (0: the job's
        own process reads).
    """

    batch_size: int = 256
    device: str | None = None
    num_workers: int = 0


def check_compute(batch_size: Any, device: Any, num_workers: Any) -> ComputeOptions:
    """Validate the compute options of ``score()``.

    Raises
    ------
    InputError
        For a batch size or worker count that is not a positive (resp. non-negative) int, a device
        torch does not know, or a CUDA device on a machine without CUDA.
    """
    from transfergraph.planner.runtime.forward import DEFAULT_BATCH_SIZE, resolve_device

    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE
    batch_size = check_scalar(batch_size, "batch_size", int, caller="score", min_val=1)
    num_workers = check_scalar(num_workers, "num_workers", int, caller="score", min_val=0)
    if device is not None:
        if not isinstance(device, str) and type(device).__name__ != "device":
            raise InputError(f"device must be None, {', '.join(map(repr, DEVICE_SPELLINGS[:-1]))} or "
                             f"{DEVICE_SPELLINGS[-1]!r}; got {device!r}.")
        try:
            resolve_device(device)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        device = str(device)
    return ComputeOptions(batch_size, device, num_workers)
