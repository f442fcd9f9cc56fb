"""Decoded images as float32 arrays (C, H, W) in [0, 1]: one rule for every pixel depth and every reader.

:func:`image_array` is what image folders, Hugging Face image columns and map-style datasets yielding
PIL images all go through, so the same picture gives the same array whichever way it arrives.

Scaling rule (by the pixel type of the decoded image, never by its content; Pillow's image modes,
extending ``torchvision.transforms.functional.to_tensor`` to wider pixels):

- 8-bit modes (``1``, ``L``, ``P``, ``RGB``, ``RGBA``, ``LA``, ``CMYK``, ``YCbCr``, ...): converted to
  ``mode`` with PIL, then ``v / 255`` (exactly ``torchvision.transforms.functional.to_tensor``).
- Unsigned integers wider than 8 bits (``I;16``, ``I;16B``, ``I;16L``, ``I;16N``: 16-bit PNG, TIFF, PGM):
  ``v / (2**bits - 1)``, i.e. ``v / 65535`` for 16 bits. A 16-bit image holding ``257 * v8`` gives
  bitwise the array of the 8-bit image ``v8``.
- ``I`` (32-bit signed: Pillow's mode for some 16-bit files): taken as 16-bit, ``v / 65535``; values
  outside 0..65535 are refused (:class:`~transfergraph.planner.common.exceptions.InputError`).
- Floats (``F``: float TIFF): kept as they are when every value is finite and in [0, 1] (the
  convention of ``to_tensor`` and scikit-image's ``img_as_float``: a float image is already on its
  intended scale; values within :data:`FLOAT_SLACK` outside are float rounding and are clipped);
  otherwise refused with the range found. A float image has no type range to divide by, and
  rescaling each image by its own min/max would map a dark and a bright picture of one scene to the
  same array, a silently wrong input; a per-dataset range is unknown to a reader that decodes rows
  one at a time. Rescale such images to [0, 1] before saving (or save them as 16-bit integers).

Wider-than-8-bit images are single-channel in PIL; ``mode="RGB"`` repeats the channel (as PIL's
``L -> RGB`` does). ``size`` resizes to ``size x size`` (bilinear, PIL; wide images in 32-bit float
mode, so no value is rounded to 8 bits).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = ["IMAGE_MODES", "PIXEL_RULE", "image_array", "pixel_kind"]

#: the modes a reader converts images to: 3-channel RGB or 1-channel L
IMAGE_MODES = ("RGB", "L")

#: version of the scaling rule, part of every image reader's identity: caches of forward outputs
#: computed under an older rule (16-bit images clipped to 8 bits) are not reused
PIXEL_RULE = "pixels-2"

#: float pixels this far outside [0, 1] (float32 rounding of a computed image) are clipped, not refused
FLOAT_SLACK = 1e-6


def pixel_kind(pil_mode: str) -> str:
    """``"8bit"``, ``"uint"`` (unsigned integers wider than 8 bits), ``"int32"`` or ``"float"`` for a PIL mode."""
    if pil_mode.startswith("I;16"):
        return "uint"
    if pil_mode == "I" or pil_mode.startswith("I;32"):
        return "int32"
    if pil_mode.startswith("F"):
        return "float"
    return "8bit"


def _wide_values(img: Any, where: str) -> np.ndarray:
    """The pixels of a wider-than-8-bit image scaled to [0, 1] (float32, (H, W))."""
    kind = pixel_kind(img.mode)
    arr = np.asarray(img)
    if kind == "uint" or (arr.dtype.kind == "u" and arr.dtype.itemsize > 1):
        if img.mode == "I;16S" or arr.dtype.kind == "i":  # signed 16-bit: only its non-negative half is a depth
            kind = "int32"
        else:
            return arr.astype(np.float32) / np.float32(2 ** (8 * arr.dtype.itemsize) - 1)
    if kind == "int32" or arr.dtype.kind == "i":
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if lo < 0 or hi > 65535:
            raise InputError(f"{where}: integer pixels (PIL mode {img.mode}) range over [{lo}, {hi}], outside the "
                             "16-bit range 0..65535 that transfergraph scales to [0, 1]; save the image as 8- or "
                             "16-bit unsigned integers, or as floats in [0, 1].")
        return arr.astype(np.float32) / np.float32(65535)
    arr = arr.astype(np.float32)
    finite = bool(np.isfinite(arr).all())
    low, high = (float(arr.min()), float(arr.max())) if arr.size and finite else (0.0, 0.0)
    if finite and -FLOAT_SLACK <= low and high <= 1.0 + FLOAT_SLACK:
        return np.clip(arr, 0.0, 1.0)  # rounding of a computed [0, 1] image: nothing else is changed
    found = "NaN or inf values" if not finite else f"values in [{low:.6g}, {high:.6g}]"
    raise InputError(f"{where}: a float image (PIL mode {img.mode}) must hold finite values in [0, 1]; it has "
                     f"{found}. Float pixels are used as they are (there is no type range to scale by): "
                     "rescale the images to [0, 1] before saving them (e.g. divide by the dataset's "
                     "maximum), or save them as 16-bit integers.")


def image_array(img: Any, *, mode: str = "RGB", size: int | None = None, where: str = "image") -> np.ndarray:
    """``img`` (a PIL image) as float32 ``(C, H, W)`` in [0, 1], C = 3 for ``mode="RGB"``, 1 for ``"L"``.

    See the module docstring for the scaling rule. ``where`` names the image in errors (a file, a row
    and column).

    Raises
    ------
    InputError
        An integer image outside 0..65535, a float image outside [0, 1] or with NaN/inf, or a mode
        PIL cannot convert (the message names ``where``).
    """
    from PIL import Image

    if mode not in IMAGE_MODES:
        raise InputError(f"image mode must be 'RGB' or 'L'; got {mode!r}.")
    if pixel_kind(img.mode) == "8bit":
        from torchvision.transforms.functional import to_tensor

        try:
            img = img.convert(mode)
        except (ValueError, OSError) as exc:
            raise InputError(f"{where}: cannot convert PIL mode {img.mode} to {mode} ({exc}).") from None
        if size is not None:
            img = img.resize((size, size), Image.Resampling.BILINEAR)
        return to_tensor(img).numpy()
    values = _wide_values(img, where)
    if size is not None:
        values = np.asarray(Image.fromarray(values, mode="F").resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
        values = np.clip(values, 0.0, 1.0)  # bilinear weights are convex: only rounding can step outside
    out = values[None]
    if mode == "RGB":
        out = np.repeat(out, 3, axis=0)
    return np.ascontiguousarray(out, dtype=np.float32)
