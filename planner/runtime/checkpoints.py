"""The safe checkpoint loader: every ``torch.load`` of the project reads with ``weights_only=True``.

``weights_only=True`` unpickles only tensors and plain containers (dict, list, numbers, strings), so
a checkpoint can never run code when it is read. A file that cannot be read that way (truncated,
pickled code, not a torch file at all) raises :class:`~transfergraph.planner.common.exceptions.CheckpointError`
naming the file, the reason and what to do.
"""
from __future__ import annotations

import os
import re
from typing import Any

from transfergraph.planner.common.exceptions import CheckpointError

__all__ = ["load_weights"]


def load_weights(path: str | os.PathLike, *, what: str = "checkpoint", advice: str = "") -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``, with a clear error.

    Parameters
    ----------
    path : the file to read
    what : how the error names the file (e.g. ``"CNAPs checkpoint"``)
    advice : text appended to the error after the reason (e.g. ``"; re-save it with save_model"``)

    Raises
    ------
    CheckpointError
        ``"{what} {path} cannot be read safely ({exception type}: {its message on one line}){advice}"``;
        missing files are the callers' to report (each says how to produce the file).
    """
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated zip, pickled code, garbage bytes
        reason = " ".join(str(exc).split())
        # torch's weights-only refusal wraps its one useful line in advice to load unsafely and to file a torch issue
        unpickler = re.search(r"WeightsUnpickler error: (.*?)(?: Check the doc|$)", reason)
        reason = (f"the weights-only loader refused it: {unpickler.group(1).strip()}" if unpickler else reason)[:500]
        raise CheckpointError(f"{what} {path} cannot be read safely ({type(exc).__name__}: {reason}){advice}") from None
