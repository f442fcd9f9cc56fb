"""Generate a synthetic on-disk image folder (``ROOT/class_XX/NNNNNN.png``), seeded and resumable.

Each class has its own smooth colour field (a low-resolution random pattern upsampled) plus per-image
noise, so images of one class look alike and the classes differ. Used by ``benchmarks/streaming.py``
and by ``examples``/tests that need a real image folder; nothing is downloaded.

Usage: ``python benchmarks/_imagefolder_gen.py ROOT --classes 40 --per-class 1000 --size 96``
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def class_pattern(c: int, size: int, seed: int) -> np.ndarray:
    """The (size, size, 3) float pattern of class ``c``: an 8x8 random field upsampled bilinearly."""
    rng = np.random.default_rng([seed, c])
    low = rng.uniform(0, 255, size=(8, 8, 3))
    grid = np.linspace(0, 7, size)
    i0 = np.floor(grid).astype(int).clip(0, 6)
    f = (grid - i0)[:, None]
    rows = low[i0] * (1 - f)[:, :, None] + low[i0 + 1] * f[:, :, None]
    cols = rows[:, i0] * (1 - f.T)[:, :, None] + rows[:, i0 + 1] * f.T[:, :, None]
    return cols


def generate(root: str | Path, *, classes: int, per_class: int, size: int = 96, seed: int = 0,
             noise: float = 40.0) -> Path:
    """Write ``classes * per_class`` PNGs under ``root`` (skips files already there); returns ``root``."""
    from PIL import Image

    root = Path(root)
    for c in range(classes):
        folder = root / f"class_{c:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        base = class_pattern(c, size, seed)
        for i in range(per_class):
            path = folder / f"{i:06d}.png"
            if path.exists():
                continue
            rng = np.random.default_rng([seed, c, i])
            img = np.clip(base + rng.normal(0, noise, size=base.shape), 0, 255).astype(np.uint8)
            tmp = path.with_suffix(".tmp.png")
            Image.fromarray(img).save(tmp, compress_level=1)
            tmp.replace(path)
    return root


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root")
    p.add_argument("--classes", type=int, default=40)
    p.add_argument("--per-class", type=int, default=1000)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    generate(a.root, classes=a.classes, per_class=a.per_class, size=a.size, seed=a.seed)


if __name__ == "__main__":
    main()
