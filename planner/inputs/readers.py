"""Readers: small, picklable descriptions of map-style datasets that stay on disk.

A :class:`Reader` knows how to open its dataset in whatever process needs it and how to read sample
``i`` as a NumPy array; the driver sends readers to workers, never pixels
(:class:`transfergraph.planner.inputs.lazy.LazyInputs` pairs a reader with the rows a task uses).

- :class:`ArrayFileReader` -- an on-disk array, memory-mapped read-only (``np.load(mmap_mode="r")``
  or ``np.memmap``).
- :class:`ImageFolderReader` -- a ``torchvision.datasets.ImageFolder``-style root
  (``ROOT/<class>/<image>``); images decode to float32 (C, H, W) in [0, 1] exactly as
  ``torchvision.transforms.functional.to_tensor`` does.
- :class:`DatasetReader` -- any map-style ``torch.utils.data.Dataset`` yielding ``(x, y)`` (also a
  Hugging Face ``datasets.Dataset`` loaded with ``load_from_disk``: its Arrow files are
  memory-mapped and it pickles by file path).

Each reader has an ``identity``: a digest that changes when the data changes (file paths, sizes and
modification times for on-disk data; the dataset's own fingerprint or pickled state otherwise).
Scoring dedupes lazy samples by ``(identity, row)`` and keys its caches by it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.fingerprint import combine
from transfergraph.planner.storage.row_reads import read_rows_into
from transfergraph.planner.common.tensors import to_numpy

__all__ = ["Reader", "ArrayFileReader", "ImageFolderReader", "DatasetReader", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


class Reader:
    """Base class: ``len(reader)``, ``reader.read(i) -> np.ndarray``, ``reader.labels()``, ``identity``."""

    identity: str

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, i: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def labels(self) -> np.ndarray | None:
        """Every sample's label without decoding the samples, or None when unknown."""
        return None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_handle", None)  # re-opened lazily in the receiving process
        return state


class ArrayFileReader(Reader):
    """Rows of an on-disk array, read from its file in every process that reads them.

    C-ordered arrays are read with plain file reads (:func:`transfergraph.planner.storage.row_reads.read_rows_into`), so a
    process that reads the whole dataset batch by batch does not keep it resident as touched pages
    of a memory map; Fortran-ordered ones through a read-only memory map.

    Parameters
    ----------
    array : np.memmap
        E.g. ``np.load(path, mmap_mode="r")`` or ``np.memmap(path, ...)``; only its file name,
        offset, dtype, shape and order travel.
    """

    def __init__(self, array: np.memmap) -> None:
        if not isinstance(array, np.memmap) or not array.filename:
            raise InputError(f"ArrayFileReader needs an np.memmap backed by a file; got {type(array).__name__}.")
        self.filename = str(array.filename)
        self.offset = _file_offset(array)
        self.dtype = array.dtype.str
        self.shape = tuple(array.shape)
        self.order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
        st = os.stat(self.filename)
        self.identity = combine("npy", os.path.realpath(self.filename), self.offset, self.dtype, self.shape,
                                st.st_size, st.st_mtime_ns)
        self._handle = array

    def _array(self) -> np.memmap:
        if getattr(self, "_handle", None) is None:
            self._handle = np.memmap(self.filename, dtype=np.dtype(self.dtype), mode="r", offset=self.offset,
                                     shape=self.shape, order=self.order)
        return self._handle

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, i: int) -> np.ndarray:
        if self.order == "C":
            return self.read_rows(np.array([i]))[0]
        return np.array(self._array()[i])

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """Several rows at once, shape (len(rows),) + the sample shape, in the order of ``rows``."""
        rows = np.asarray(rows)
        if self.order != "C":
            return np.ascontiguousarray(self._array()[rows])
        rows = np.where(rows < 0, rows + self.shape[0], rows)
        out = np.empty((len(rows),) + self.shape[1:], dtype=np.dtype(self.dtype))
        return read_rows_into(self.filename, self.offset, self.shape, self.dtype, rows, out)


def _file_offset(array: np.memmap) -> int:
    """Byte offset in its file of ``array``'s first element, also for a slice of rows of a memory map
    (whose ``.offset`` attribute is still its parent's).

    Raises
    ------
    InputError
        For a strided view (e.g. every other row, or one column): no single file range holds it.
    """
    import mmap

    root = array
    while isinstance(root.base, np.memmap):
        root = root.base
    if root is array:
        return int(array.offset)
    if not isinstance(root.base, mmap.mmap) or not (array.flags.c_contiguous or array.flags.f_contiguous and
                                                      array.shape == root.shape):
        raise InputError("ArrayFileReader needs a whole memory-mapped array or a contiguous slice of its rows; "
                         f"got a strided view of shape {array.shape}. Select rows with LazyInputs(reader, rows).")
    return int(root.offset) + int(array.ctypes.data - root.ctypes.data)


class ImageFolderReader(Reader):
    """Images under ``root/<class>/...`` (torchvision ``ImageFolder`` layout), decoded on demand.

    Parameters
    ----------
    root : str or os.PathLike
        Folder with one sub-folder per class; classes are the sub-folder names in sorted order
        and labels their positions (as ``torchvision.datasets.ImageFolder``).
    mode : "RGB" or "L"
        PIL mode every image is converted to (3 or 1 channel).
    size : int, optional
        Resize every image to ``size x size`` (bilinear, PIL) before conversion to an array.
    """

    def __init__(self, root: str | os.PathLike, *, mode: str = "RGB", size: int | None = None) -> None:
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"image folder root {str(root)!r} is not a directory.")
        if mode not in ("RGB", "L"):
            raise InputError(f"mode of ImageFolderReader must be 'RGB' or 'L'; got {mode!r}.")
        self.classes = sorted(d.name for d in os.scandir(root) if d.is_dir())
        files, labels, stats = [], [], []
        for k, name in enumerate(self.classes):
            for dirpath, _, names in sorted(os.walk(root / name)):
                for f in sorted(names):
                    if f.lower().endswith(IMAGE_EXTENSIONS):
                        path = os.path.join(dirpath, f)
                        st = os.stat(path)
                        files.append(os.path.relpath(path, root))
                        labels.append(k)
                        stats.append(f"{files[-1]}|{st.st_size}|{st.st_mtime_ns}")
        if len(set(labels)) < 1 or not files:
            raise InputError(f"image folder root {str(root)!r} holds no images in class sub-folders "
                             f"(extensions {IMAGE_EXTENSIONS}).")
        self.root, self.mode, self.size = str(root), mode, size
        self.files = files
        self._labels = np.asarray(labels, dtype=np.int64)
        self.identity = combine("image_folder", os.path.realpath(root), mode, size, "\n".join(stats))

    def __len__(self) -> int:
        return len(self.files)

    def labels(self) -> np.ndarray:
        return self._labels

    def read(self, i: int) -> np.ndarray:
        from PIL import Image
        from torchvision.transforms.functional import to_tensor

        with Image.open(os.path.join(self.root, self.files[i])) as img:
            img = img.convert(self.mode)
            if self.size is not None:
                img = img.resize((self.size, self.size), Image.BILINEAR)
            return to_tensor(img).numpy()


class DatasetReader(Reader):
    """A map-style Dataset whose item ``i`` is ``(x, y)`` (or a mapping with input/label columns).

    Parameters
    ----------
    dataset : torch Dataset, Hugging Face ``datasets.Dataset`` or any object with ``__len__`` and
        ``__getitem__``; it is pickled to the workers, so it should hold file references rather
        than data (a ``load_from_disk`` dataset does).
    input_column, label_column : str, optional
        For items that are mappings (Hugging Face rows): the keys of the input and the label.
        Default: the first of "image", "img", "pixel_values", "input_ids", "x" present, and the
        first of "label", "labels", "y".
    """

    def __init__(self, dataset: Any, *, input_column: str | None = None, label_column: str | None = None) -> None:
        dataset = _numpy_format(dataset)
        self.dataset = dataset
        self.input_column, self.label_column = input_column, label_column
        explicit = getattr(dataset, "fingerprint", None) or getattr(dataset, "_fingerprint", None)
        if isinstance(explicit, str):
            self.identity = combine("dataset", type(dataset).__qualname__, explicit, input_column, label_column)
        else:
            import cloudpickle

            self.identity = combine("dataset-pickle", cloudpickle.dumps(dataset, protocol=4))

    def __len__(self) -> int:
        return len(self.dataset)

    def _split(self, item: Any, i: int) -> tuple[Any, Any]:
        if isinstance(item, dict):
            x_key = self.input_column or next((k for k in ("image", "img", "pixel_values", "input_ids", "x")
                                               if k in item), None)
            y_key = self.label_column or next((k for k in ("label", "labels", "y") if k in item), None)
            if x_key not in item or y_key not in item:
                raise InputError(f"dataset item {i} is a mapping with keys {sorted(item)}; pass input_column= "
                                 "and label_column= naming the input and the label.")
            return item[x_key], item[y_key]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise InputError(f"a Dataset given as Task inputs must yield (x, y) pairs; item {i} is "
                             f"{type(item).__name__}.")
        return item[0], item[1]

    def read(self, i: int) -> np.ndarray:
        x, _ = self._split(self.dataset[int(i)], int(i))
        return _sample_array(x)

    def labels(self) -> np.ndarray | None:
        ds = self.dataset
        if hasattr(ds, "column_names") and hasattr(ds, "select_columns"):  # Hugging Face: one column read
            first = ds[0] if len(ds) else {}
            key = self.label_column or next((k for k in ("label", "labels", "y") if k in first), None)
            return np.asarray(ds[key]) if key is not None else None
        targets = getattr(ds, "targets", None)
        if targets is not None and len(targets) == len(ds):
            return np.asarray([t.item() if hasattr(t, "item") else t for t in targets])
        return None

    def label_of(self, i: int) -> Any:
        _, y = self._split(self.dataset[int(i)], int(i))
        return y.item() if hasattr(y, "item") else y


def _numpy_format(dataset: Any) -> Any:
    """A Hugging Face dataset without an output format, switched to NumPy for its array columns
    (rows would otherwise come back as nested Python lists and lose their dtype); image columns
    stay PIL images, decoded with ``to_tensor``."""
    if not (hasattr(dataset, "with_format") and hasattr(dataset, "features")):
        return dataset
    if getattr(dataset, "format", {}).get("type") is not None:
        return dataset
    if any(type(f).__name__ == "Image" for f in dataset.features.values()):
        return dataset
    return dataset.with_format("numpy")


def _sample_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return to_numpy(x)
    if hasattr(x, "convert") and hasattr(x, "size"):  # a PIL image (Hugging Face image columns)
        from torchvision.transforms.functional import to_tensor

        return to_tensor(x).numpy()
    return np.asarray(x)

