"""The torch -> NumPy edge: one conversion for tensors and array-likes, without importing torch."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["is_tensor", "to_numpy"]


def is_tensor(x: Any) -> bool:
    """True for a ``torch.Tensor`` (checked without importing torch)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "device")


def to_numpy(x: Any, *, widen_half: bool = False) -> np.ndarray:
    """``x`` as a NumPy array: a torch tensor is detached and moved to the host, anything else goes
    through ``np.asarray`` (no copy when ``x`` already is an array).

    Parameters
    ----------
    x : torch.Tensor or array-like
    widen_half : bool
        Convert float16/bfloat16 tensors to float32 first (NumPy has no bfloat16; model outputs in
        half precision are scored in float32).
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, recognised without importing torch
        if widen_half and str(x.dtype) in ("torch.float16", "torch.bfloat16"):
            x = x.float()
        return x.detach().cpu().numpy()
    return np.asarray(x)
