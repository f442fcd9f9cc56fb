"""Lazy task inputs: samples that stay on disk (or in a user's Dataset) until a worker reads them.

:class:`LazyInputs` is a :class:`~transfergraph.planner.inputs.readers.Reader` plus the dataset rows a task uses; it looks
like a read-only array of shape ``(n, ...)`` (``shape``, ``dtype``, ``len``, integer/array indexing
that reads just those samples, ``np.asarray`` reads everything). :func:`as_lazy` recognises the lazy
kinds ``Task`` accepts. Readers (:mod:`transfergraph.planner.inputs.readers`): ``ArrayFileReader`` (memory-mapped
arrays), ``ImageFolderReader`` (``ROOT/<class>/<image>``), ``DatasetReader`` (torch Datasets,
Hugging Face ``datasets``). Each reader has an ``identity`` digest; scoring dedupes lazy samples by
``(identity, row)`` and keys its caches by it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.inputs.readers import IMAGE_EXTENSIONS, ArrayFileReader, DatasetReader, ImageFolderReader, Reader

__all__ = ["Reader", "ArrayFileReader", "ImageFolderReader", "DatasetReader", "LazyInputs", "as_lazy",
           "check_sample_shape", "IMAGE_EXTENSIONS"]


class LazyInputs:
    """The rows ``rows`` of a :class:`Reader`'s dataset, read only when indexed.

    Behaves as a read-only array of shape ``(len(rows),) + sample_shape``: ``x[i]`` and ``x[array]``
    read those samples, ``np.asarray(x)`` reads all of them (small data, validation), ``x.take(r)``
    selects rows without reading. ``sample_shape`` and ``dtype`` come from reading one sample.
    """

    def __init__(self, reader: Reader, rows: Any = None) -> None:
        self.reader = reader
        n = len(reader)
        self.rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        if self.rows.ndim != 1 or (len(self.rows) and (self.rows.min() < 0 or self.rows.max() >= n)):
            raise InputError(f"rows of LazyInputs must be a 1-D array of indices in [0, {n}); got shape "
                             f"{self.rows.shape}.")
        first = reader.read(int(self.rows[0])) if len(self.rows) else np.empty((0,))
        self.sample_shape, self.dtype = tuple(first.shape), first.dtype

    @property
    def identity(self) -> str:
        return self.reader.identity

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows),) + self.sample_shape

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, rows: Any) -> "LazyInputs":
        """A LazyInputs over ``self.rows[rows]`` (nothing is read beyond one sample)."""
        out = object.__new__(LazyInputs)
        out.reader, out.sample_shape, out.dtype = self.reader, self.sample_shape, self.dtype
        out.rows = self.rows[np.asarray(rows)]
        return out

    def read_rows(self, dataset_rows: np.ndarray) -> np.ndarray:
        """The samples at dataset rows ``dataset_rows``, stacked: shape (k,) + sample_shape."""
        if hasattr(self.reader, "read_rows"):
            return self.reader.read_rows(dataset_rows)
        out = np.empty((len(dataset_rows),) + self.sample_shape, dtype=self.dtype)
        for j, r in enumerate(dataset_rows):
            out[j] = check_sample_shape(self.reader, int(r), self.reader.read(int(r)), self.sample_shape)
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            row = int(self.rows[key])
            return check_sample_shape(self.reader, row, self.reader.read(row), self.sample_shape)
        return self.read_rows(self.rows[key])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.read_rows(self.rows)
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"LazyInputs({type(self.reader).__name__}, n={len(self)}, sample_shape={self.sample_shape})"


def check_sample_shape(reader: Reader, row: int, x: np.ndarray, expected: tuple[int, ...]) -> np.ndarray:
    """``x`` (sample ``row`` of ``reader``) when its shape is ``expected``, else an :class:`InputError`
    naming the row (``reader.describe``), both shapes and the remedy (``reader.remedy``)."""
    if tuple(x.shape) != tuple(expected):
        describe = getattr(reader, "describe", lambda i: f"row {i}")
        remedy = getattr(reader, "remedy", lambda: "give every sample the same shape.")
        raise InputError(f"{describe(row)} has shape {tuple(x.shape)}, unlike the dataset's first sample "
                         f"{tuple(expected)}: samples of one task must share a shape; {remedy()}")
    return x


def as_lazy(inputs: Any, *, argument: str = "inputs", input_column: str | None = None,
            label_column: str | None = None, image_mode: str | None = None,
            image_size: int | None = None) -> LazyInputs | None:
    """``inputs`` as :class:`LazyInputs` when it is a lazy kind, else None (an in-memory array).

    Lazy kinds: LazyInputs, a Reader, an ``np.memmap``, a directory path (an image folder root), a
    Hugging Face ``datasets.Dataset`` and any map-style ``torch.utils.data.Dataset``. The reading
    options go to the reader this builds: ``input_column``/``label_column`` to a dataset's
    :class:`DatasetReader`, ``image_mode`` ("RGB" by default)/``image_size`` to it and to an image
    folder's :class:`ImageFolderReader`; an option that does not apply to ``inputs`` (an array, an
    already built reader; columns for an image folder) is an :class:`InputError`.
    """
    options = {"input_column": input_column, "label_column": label_column, "image_mode": image_mode,
               "image_size": image_size}
    given = [k for k, v in options.items() if v is not None]
    if inputs is None:
        return None

    def refuse(names: list[str], what: str) -> None:
        if names:
            raise InputError(f"{', '.join(names)} of {argument.split(' of ', 1)[-1]} only apply when inputs are "
                             f"read by transfergraph (an image-folder path, a Hugging Face or torch Dataset); "
                             f"inputs are {what}. Set them on the reader instead, or leave them out.")

    if isinstance(inputs, LazyInputs):
        refuse(given, "LazyInputs (an already built reader)")
        return inputs
    if isinstance(inputs, Reader):
        refuse(given, f"a {type(inputs).__name__} (an already built reader)")
        return LazyInputs(inputs)
    if isinstance(inputs, np.memmap) and inputs.filename:
        refuse(given, "a memory-mapped array")
        return LazyInputs(ArrayFileReader(inputs))
    if isinstance(inputs, (str, os.PathLike)):
        if not Path(inputs).is_dir():
            raise InputError(f"{argument} given as a path must be an image folder root (a directory); "
                             f"got {str(inputs)!r}.")
        if input_column is not None or label_column is not None:
            raise InputError(f"input_column/label_column of {argument.split(' of ', 1)[-1]} apply to datasets with "
                             "columns; an image folder's labels are its class sub-folders.")
        return LazyInputs(ImageFolderReader(inputs, mode=image_mode or "RGB", size=image_size))
    dataset_options = {k: v for k, v in options.items() if v is not None}
    if type(inputs).__module__.startswith("datasets.") and hasattr(inputs, "column_names"):
        return LazyInputs(DatasetReader(inputs, **dataset_options))
    try:
        from torch.utils.data import Dataset
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return None
    if isinstance(inputs, Dataset) and not hasattr(inputs, "shape"):
        if not hasattr(inputs, "__len__"):
            raise InputError(f"{argument} is a Dataset without __len__; a map-style Dataset is required.")
        return LazyInputs(DatasetReader(inputs, **dataset_options))
    refuse(given, "an in-memory array")
    return None
