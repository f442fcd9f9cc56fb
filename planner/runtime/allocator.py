"""Keep a forward pass's large temporary buffers in the heap (glibc malloc tuning for our own processes).

A CNN's activation buffers are megabytes each (a batch of 256 images of 16 x 28 x 28 float32 is
12.8 MB), above glibc's mmap threshold in a fresh process (128 KiB until a large block has been
freed; the heap top is trimmed back to the OS beyond ``M_TRIM_THRESHOLD``). Every such buffer is
then mapped, page-faulted in and unmapped again on every layer of every batch. Measured on this
project's 2-core VM, two 2-conv CNNs over 3,000 28 x 28 images: 138,848 minor page faults and
0.82 s per pass in a fresh process, 0 faults and 0.41-0.48 s with the thresholds below (the same
1.7x that a fresh Ray worker lost against a long-lived driver process). Long-lived processes that
have freed a large block drift towards the fast regime on their own; this makes it the rule.

:func:`keep_large_buffers` is called only in processes transfergraph owns: the Ray workers that
run its jobs and the ``transfergraph`` CLI. It never runs in a user's Python session on import.
It is a no-op off glibc, and when the user set ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` (their choice wins) or ``TRANSFERGRAPH_KEEP_HEAP=0``. Cost: a worker
may keep up to ``trim_threshold`` bytes of freed memory for reuse instead of returning it at once.
Numbers are unaffected: this only decides where memory comes from.
"""
from __future__ import annotations

import ctypes
import os
import platform
import sys

__all__ = ["keep_large_buffers", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

MMAP_THRESHOLD = 64 << 20  # blocks below 64 MiB come from the heap
TRIM_THRESHOLD = 128 << 20  # return the heap top to the OS only beyond 128 MiB free

_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_THRESHOLD = -3
_STATE: dict[str, bool | None] = {"applied": None}


def keep_large_buffers(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` for this process, once.

    Returns True when the settings are in effect (set by this call or an earlier one), False when
    skipped (not glibc, opted out, or the user's own ``MALLOC_*_`` variables are set).
    """
    if _STATE["applied"] is not None:
        return bool(_STATE["applied"])
    _STATE["applied"] = _apply(mmap_threshold, trim_threshold)
    return bool(_STATE["applied"])


def _apply(mmap_threshold: int, trim_threshold: int) -> bool:
    if os.environ.get("TRANSFERGRAPH_KEEP_HEAP", "1").strip() == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1 and mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1
