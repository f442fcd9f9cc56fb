"""Fashion-MNIST read from local IDX files (no download at run time)."""
from __future__ import annotations

import gzip
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = ["load_fashion_mnist", "fashion_mnist_available", "DEFAULT_FASHION_MNIST_ROOT"]

#: Where Debian's ``dataset-fashion-mnist`` package installs the files.
DEFAULT_FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _resolve_root(root: str | os.PathLike | None) -> Path:
    return Path(root or os.environ.get("TRANSFERGRAPH_FASHION_MNIST", DEFAULT_FASHION_MNIST_ROOT))


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        for folder in (root, root / "FashionMNIST" / "raw", root / "raw"):
            if (folder / name).is_file():
                return folder / name
    return None


def fashion_mnist_available(root: str | os.PathLike | None = None) -> bool:
    """True when the four IDX files are found under ``root`` (or the default root)."""
    base = _resolve_root(root)
    return all(_find(base, stem) for pair in _FILES.values() for stem in pair)


def _read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise InputError(f"Fashion-MNIST file {path} cannot be read ({exc}); reinstall the dataset.") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise InputError(f"Fashion-MNIST file {path} is not an unsigned-byte IDX file.")
    ndim = data[3]
    if ndim != expected_ndim:
        raise InputError(f"Fashion-MNIST file {path} has {ndim} dimensions; expected {expected_ndim}.")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise InputError(f"Fashion-MNIST file {path} is truncated: {body.size} values for shape {dims}.")
    return body.reshape(dims)


@lru_cache(maxsize=4)
def _load(root: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    base = Path(root)
    img_stem, lab_stem = _FILES[split]
    img_path, lab_path = _find(base, img_stem), _find(base, lab_stem)
    if img_path is None or lab_path is None:
        raise InputError(
            f"root for Fashion-MNIST must contain {img_stem}[.gz] and {lab_stem}[.gz]; not found in {base}. "
            "Install them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu) or download them "
            "with torchvision.datasets.FashionMNIST(root, download=True) on a machine with internet."
        )
    images = (_read_idx(img_path, 3).astype(np.float32) / 255.0)[:, None]
    labels = _read_idx(lab_path, 1).astype(np.int64)
    if len(images) != len(labels):
        raise InputError(f"Fashion-MNIST {split} images and labels differ in length under {base}.")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_fashion_mnist(root: str | os.PathLike | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST from local IDX files.

    Parameters
    ----------
    root : path, optional
        Folder with the IDX files (gzipped or not; torchvision's ``FashionMNIST/raw`` layout works too).
        Default: ``$TRANSFERGRAPH_FASHION_MNIST`` or ``/usr/share/datasets/fashion-mnist``.
    split : {"train", "test"}

    Returns
    -------
    images : np.ndarray, float32, shape (60000 or 10000, 1, 28, 28), values in [0, 1], read-only
    labels : np.ndarray, int64, shape (n,), values 0..9, read-only
    """
    if split not in _FILES:
        raise InputError(f"split of load_fashion_mnist must be 'train' or 'test'; got {split!r}.")
    return _load(str(_resolve_root(root)), split)
