"""Validation reads lazy targets into memory: say so, with the size, and refuse what cannot fit.

Scoring streams lazy tasks (:mod:`transfergraph.planner.inputs.lazy`) batch by batch, but the validation methods train on
a target's whole training split and evaluate on its whole test split as in-memory arrays: each job
that trains on a lazy target reads both splits (in their stored dtype), and with a cache the driver
reads them once more to fingerprint them. :func:`check_lazy_targets` warns once per call with each
lazy target's size, and raises before any work starts when one target alone exceeds the memory
available on this machine.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Iterable

from transfergraph.planner.common.exceptions import InputError

__all__ = ["LazyValidationWarning", "available_memory", "check_lazy_targets", "materialized_bytes"]


class LazyValidationWarning(UserWarning):
    """Validation is about to read lazy (on-disk) targets into memory."""


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n_bytes: float) -> str:
    """``n_bytes`` as "12.3 KB", "4.5 MB" or "6.7 GB" (binary units)."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes / 2**10:.1f} KB"


def materialized_bytes(task: Any) -> int:
    """Bytes of ``task``'s lazy splits once read into memory (train plus test; 0 for in-memory splits)."""
    total = 0
    for x in (task.inputs, getattr(task, "test_inputs", None)):
        if x is not None and hasattr(x, "reader") and hasattr(x, "rows"):
            total += int(x.nbytes)
    return total


def check_lazy_targets(tasks: Iterable[Any], *, available: int | None = None) -> None:
    """Warn about the lazy targets validation will read into memory; refuse one that cannot fit.

    Parameters
    ----------
    tasks : iterable of Task
        The targets of the pairs to validate.
    available : int, optional
        Bytes of memory available; default :func:`available_memory` (None: never refuse).

    Warns
    -----
    LazyValidationWarning
        Naming each lazy target, its training sample count and its in-memory size (train plus test).

    Raises
    ------
    InputError
        When one lazy target's splits are larger than ``available``: name, size and the way out
        (validate on a subset, ``LazyInputs.take(rows)``).
    """
    sizes = {t.name: (len(t.inputs), materialized_bytes(t)) for t in tasks}
    sizes = {name: v for name, v in sizes.items() if v[1] > 0}
    if not sizes:
        return
    available = available_memory() if available is None else available
    listed = ", ".join(f"{name!r} ({n} training samples, {_size(b)})" for name, (n, b) in sorted(sizes.items()))
    name, (n, largest) = max(sizes.items(), key=lambda kv: kv[1][1])
    if available is not None and largest > available:
        raise InputError(
            f"validation reads each target's train and test splits into memory, and lazy target {name!r} "
            f"needs {_size(largest)} ({n} training samples) where {_size(available)} are "
            "available. Validate on a subset (Task(name, lazy_inputs.take(rows), ...)) or use scoring, "
            "which streams lazy tasks."
        )
    warnings.warn(
        f"validation reads lazy targets into memory (in each job that trains on them, and in the driver to "
        f"fingerprint them when a cache is used): {listed}.", LazyValidationWarning, stacklevel=3,
    )
