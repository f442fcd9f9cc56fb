"""Datasets that stay on disk (config ``data.kind``: image_folder | hf_datasets | npy) and the tasks cut from them.

:func:`load_ondisk` opens the dataset as a :class:`transfergraph.planner.inputs.lazy.Reader` (reading labels only), splits
its rows into a seeded, stratified train/held-out split, and returns :class:`LazySplit`.
:func:`lazy_task` cuts a task from it by rows (class subsets, imbalance) without reading samples; a
domain shift wraps the reader in :class:`ShiftedReader`, which applies
:func:`transfergraph.adapters.datasets.shifts.apply_shifts` to each sample as it is read (seeded per row, so the
result does not depend on batching).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.fingerprint import combine
from transfergraph.planner.inputs.lazy import ArrayFileReader, DatasetReader, ImageFolderReader, LazyInputs, Reader
from transfergraph.planner.inputs.readers import LABEL_COLUMNS
from transfergraph.planner.inputs.task import Task

from transfergraph.adapters.datasets.shifts import apply_shifts

__all__ = ["LazySplit", "ShiftedReader", "load_ondisk", "lazy_task", "class_table"]


@dataclass(frozen=True)
class LazySplit:
    """Train and held-out rows of an on-disk dataset (samples unread), with their labels."""

    train_x: LazyInputs
    train_y: np.ndarray
    test_x: LazyInputs
    test_y: np.ndarray
    #: the class names, label k = class_names[k]: an image folder's folders, a Hugging Face ClassLabel's
    #: names; None for other kinds
    class_names: tuple[str, ...] | None = None
    #: image folders: sub-folders of the root that are not classes, and why
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def classes(self) -> list:
        return sorted(set(self.train_y.tolist()))


class ShiftedReader(Reader):
    """``base``'s samples with domain shifts applied as they are read (row ``i`` seeded by ``(seed, i)``)."""

    def __init__(self, base: Reader, shifts: Mapping[str, Any], seed: int) -> None:
        self.base, self.shifts, self.seed = base, dict(shifts), int(seed)
        self.identity = combine("shifted", base.identity, sorted(self.shifts.items()), self.seed)

    def __len__(self) -> int:
        return len(self.base)

    def labels(self) -> np.ndarray | None:
        return self.base.labels()

    def describe(self, i: int) -> str:
        return self.base.describe(i)

    def remedy(self) -> str:
        return self.base.remedy()

    def read(self, i: int) -> np.ndarray:
        x = self.base.read(i)
        return apply_shifts(x[None], self.shifts, seed=(self.seed * 1_000_003 + int(i)) & 0x7FFFFFFF)[0]


def _load_npy(path: str, key: str, **options: Any) -> np.ndarray:
    """``np.load(path)``; an unreadable file is an :class:`InputError` carrying its config ``key``."""
    try:
        return np.load(path, **options)
    except (OSError, ValueError) as exc:
        raise InputError(f"npy data cannot be read ({exc}); root must be a .npy array and labels a .npy file.",
                         key=key) from None


def _reader(data: Any) -> tuple[Reader, np.ndarray]:
    """The reader and labels of ``data``; errors it raises here carry the ``data.*`` key they are about
    (``InputError.key``; None for the root's own contents)."""
    kind = data.source
    if kind == "image_folder":
        size = data.image_size if "image_size" in data.model_fields_set else None
        try:
            reader = ImageFolderReader(data.root, mode=data.image_mode, size=size)
        except InputError as exc:  # mixed sizes: data.image_size; unreadable files: the root's contents
            raise InputError(str(exc), key=f"data.{exc.key}" if exc.key else None) from None
        return reader, reader.labels()
    if kind == "npy":
        x = _load_npy(data.root, "data.root", mmap_mode="r")
        y = _load_npy(data.labels, "data.labels")
        if y.ndim != 1 or len(y) != len(x):
            raise InputError(f"npy labels must be 1-D with one label per input row; got shape {y.shape} for "
                             f"{len(x)} rows.", key="data.labels")
        if x.ndim == 3 and x.dtype not in (np.uint8, np.uint16):
            raise InputError(f"npy inputs of shape {tuple(x.shape)} and dtype {x.dtype}: read as images, they need a "
                             "channel axis; save them as (n, 1, H, W) (np.save(path, x[:, None])), or as uint8/uint16 "
                             "pixels, which (n, H, W) may be.", key="data.root")
        # unsigned 8/16-bit images ((n, H, W) or (n, C, H, W)) are pixels, scaled by their type's range
        # as image files are; other arrays (floats, token ids) are read as stored
        return ArrayFileReader(x, pixels=x.dtype in (np.uint8, np.uint16) and x.ndim >= 3), y
    if kind == "hf_datasets":
        try:
            import datasets
        except ImportError:
            raise InputError("data.kind hf_datasets needs the optional extra: pip install 'transfergraph[datasets]'.",
                             key="data.kind") from None
        try:
            ds = datasets.load_from_disk(data.root)
        except (OSError, FileNotFoundError, ValueError) as exc:
            raise InputError(f"hf_datasets root {data.root!r} is not a save_to_disk folder: {exc}") from None
        if isinstance(ds, datasets.DatasetDict):
            split = data.split or "train"
            if split not in ds:
                raise InputError(f"hf_datasets split {split!r} not in the saved DatasetDict; splits: {list(ds)}.",
                                 key="data.split")
            ds = ds[split]
        size = data.image_size if "image_size" in data.model_fields_set else None
        try:
            reader = DatasetReader(ds, input_column=data.input_column, label_column=data.label_column,
                                   image_mode=data.image_mode, image_size=size)
        except InputError as exc:  # its key is the reader's argument: the data.* key of the same name
            raise InputError(str(exc), key=f"data.{exc.key}" if exc.key else None) from None
        y = reader.labels()
        if y is None:
            raise InputError(f"hf_datasets has none of the label columns {list(LABEL_COLUMNS)}; its columns: "
                             f"{ds.column_names}. Name the label column: data.label_column in the config (in "
                             "Python: Task(name, dataset, label_column='...')).", key="data.label_column")
        return reader, y
    raise InputError(f"data kind must be one of image_folder, hf_datasets, npy; got {kind!r}.", key="data.kind")


def load_ondisk(data: Any, seed: int) -> LazySplit:
    """Open ``data`` (a ``transfergraph.config.data.DataConfig``) and split it (cached per arguments)."""
    return _load_cached(data, seed)


@lru_cache(maxsize=4)
def _load_cached(data: Any, seed: int) -> LazySplit:
    from sklearn.model_selection import train_test_split

    from transfergraph.adapters.datasets.registry import _cap_per_class

    reader, y = _reader(data)
    rows = np.arange(len(y))
    counts = np.unique(y, return_counts=True)[1]
    stratify = y if counts.min() >= 2 else None
    tr, te = train_test_split(rows, test_size=data.test_fraction, stratify=stratify, random_state=seed)
    tr, te = np.sort(tr), np.sort(te)
    rng = np.random.default_rng(seed)
    tr = tr[_cap_per_class(y[tr], data.max_per_class, rng)]
    cap = None if data.max_per_class is None else max(2, int(np.ceil(data.max_per_class * data.test_fraction
                                                                       / (1 - data.test_fraction))))
    te = te[_cap_per_class(y[te], cap, rng)]
    full = LazyInputs(reader)
    names = reader.classes if isinstance(reader, ImageFolderReader) else getattr(reader, "class_names", None)
    names = tuple(names) if names else None
    skipped = tuple(sorted(getattr(reader, "skipped", {}).items()))
    return LazySplit(full.take(tr), y[tr], full.take(te), y[te], class_names=names, skipped=skipped)


def lazy_task(name: str, split: LazySplit, tr: np.ndarray, te: np.ndarray, shift: Mapping[str, Any],
              shift_seed: int) -> Task:
    """Task ``name`` of rows ``tr`` (train) and ``te`` (held-out) of ``split``, shifted when ``shift``."""
    x_tr, x_te = split.train_x.take(tr), split.test_x.take(te)
    if shift:
        reader = ShiftedReader(split.train_x.reader, shift, shift_seed)
        x_tr, x_te = LazyInputs(reader, x_tr.rows), LazyInputs(reader, x_te.rows)
    return Task(name, x_tr, split.train_y[tr], test_inputs=x_te, test_labels=split.test_y[te])


def class_table(split: LazySplit) -> dict[str, int] | None:
    """An image folder's classes as ``{name: position}`` (positions are the labels); None for other kinds."""
    return None if split.class_names is None else {n: k for k, n in enumerate(split.class_names)}
