"""Domain shifts applied to image batches: rotation, inversion, noise, blur, scale.

Each shift is a pure function ``(images, rng) -> images`` on float32 arrays of shape (n, C, H, W)
with values in [0, 1]; :func:`apply_shifts` composes them from a config mapping such as
``{"rotate": 30, "noise": 0.1}`` in a fixed order, so the same spec and seed give the same images.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from transfergraph.planner.common.arguments import check_scalar
from transfergraph.planner.common.exceptions import InputError

__all__ = ["SHIFTS", "apply_shifts"]


def _torch(images: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))


def rotate(images: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    """Rotate every image by ``degrees`` (counter-clockwise, bilinear, zero fill)."""
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    return TF.rotate(_torch(images), float(degrees), interpolation=InterpolationMode.BILINEAR).numpy()


def invert(images: np.ndarray, enabled: bool, rng: np.random.Generator) -> np.ndarray:
    """x -> 1 - x (when enabled)."""
    return (1.0 - images).astype(np.float32) if enabled else images


def noise(images: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Add i.i.d. Gaussian noise N(0, std^2), clipped to [0, 1]."""
    return np.clip(images + rng.normal(0.0, float(std), size=images.shape), 0.0, 1.0).astype(np.float32)


def blur(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels (kernel 2*ceil(2 sigma)+1)."""
    import torchvision.transforms.functional as TF

    k = 2 * int(np.ceil(2 * float(sigma))) + 1
    return TF.gaussian_blur(_torch(images), [k, k], [float(sigma), float(sigma)]).numpy()


def scale(images: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Zoom about the centre by ``factor`` (< 1 shrinks with zero border, > 1 crops)."""
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    return TF.affine(_torch(images), angle=0.0, translate=[0, 0], scale=float(factor), shear=[0.0],
                     interpolation=InterpolationMode.BILINEAR).numpy()


def _number(low: float, high: float, include: str = "both") -> Callable[[object], bool]:
    """A validator: a real number (bools refused) within [low, high] (``include`` as in check_scalar)."""
    def ok(value: object) -> bool:
        try:
            check_scalar(value, "shift", float, caller="apply_shifts", min_val=low, max_val=high,
                         include_boundaries=include)
        except InputError:
            return False
        return True

    return ok


#: name -> (function, validator of the parameter, description of the expected value)
SHIFTS = {
    "rotate": (rotate, _number(-360, 360), "degrees in [-360, 360]"),
    "invert": (invert, lambda v: isinstance(v, bool), "true or false"),
    "noise": (noise, _number(0, 1), "a std in [0, 1]"),
    "blur": (blur, _number(0, 5, "right"), "a sigma in (0, 5]"),
    "scale": (scale, _number(0.3, 3), "a factor in [0.3, 3]"),
}

def apply_shifts(images: np.ndarray, shifts: Mapping[str, object] | None, *, seed: int = 0) -> np.ndarray:
    """Apply ``shifts`` in the fixed order rotate, scale, blur, invert, noise.

    Parameters
    ----------
    images : np.ndarray, float32, shape (n, C, H, W), values in [0, 1]
    shifts : mapping of shift name -> parameter, e.g. ``{"rotate": 30, "noise": 0.1}``
    seed : int
        Seeds the random shifts (noise).

    Returns
    -------
    np.ndarray, float32, same shape, a new array (the input is never modified).
    """
    out = np.array(images, dtype=np.float32, copy=True)
    if not shifts:
        return out
    unknown = sorted(set(shifts) - set(SHIFTS))
    if unknown:
        raise InputError(f"shift must be one of {sorted(SHIFTS)}; got unknown {unknown}.")
    rng = np.random.default_rng(seed)
    for name in ("rotate", "scale", "blur", "invert", "noise"):
        if name in shifts:
            fn, ok, expected = SHIFTS[name]
            value = shifts[name]
            if not ok(value):
                raise InputError(f"shift {name!r} expects {expected}; got {value!r}.")
            out = fn(out, value, rng)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
