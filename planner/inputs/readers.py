"""Readers: small, picklable descriptions of map-style datasets that stay on disk.

A :class:`Reader` knows how to open its dataset in whatever process needs it and how to read sample
``i`` as a NumPy array; the driver sends readers to workers, never pixels
(:class:`transfergraph.planner.inputs.lazy.LazyInputs` pairs a reader with the rows a task uses).

- :class:`ArrayFileReader` -- an on-disk array, memory-mapped read-only (``np.load(mmap_mode="r")``
  or ``np.memmap``).
- :class:`ImageFolderReader` -- a ``torchvision.datasets.ImageFolder``-style root
  (``ROOT/<class>/<image>``; hidden and system folders and files skipped); images decode to float32
  (C, H, W) in [0, 1] (:mod:`transfergraph.planner.inputs.pixels`: 8-bit exactly as
  ``torchvision.transforms.functional.to_tensor`` does, 16-bit divided by 65535).
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
from transfergraph.planner.inputs.pixels import IMAGE_MODES, PIXEL_RULE, image_array, pixel_kind
from transfergraph.planner.storage.row_reads import read_rows_into
from transfergraph.planner.common.tensors import to_numpy

__all__ = ["Reader", "ArrayFileReader", "ImageFolderReader", "DatasetReader", "IMAGE_EXTENSIONS", "SYSTEM_FOLDERS",
           "is_hidden", "INPUT_COLUMNS", "LABEL_COLUMNS"]

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

    def describe(self, i: int) -> str:
        """Sample ``i`` in words, for error messages (a file, a row and column)."""
        return f"row {i}"

    def remedy(self) -> str:
        """What to do when samples have different shapes (appended to that error)."""
        return "give every sample the same shape."

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
    pixels : bool
        The array holds pixel values of an unsigned integer type (uint8, uint16): rows are read as
        float32 divided by the type's maximum (255, 65535), as image files are
        (:mod:`transfergraph.planner.inputs.pixels`). Default False: rows as stored. Pixel arrays
        are images ``(n, C, H, W)`` or grayscale ``(n, H, W)``, whose rows are read as ``(1, H, W)``
        (as an image folder's ``L`` images); a channels-last ``(n, H, W, C)`` array is an
        :class:`InputError` saying how to transpose it.
    """

    def __init__(self, array: np.memmap, *, pixels: bool = False) -> None:
        if not isinstance(array, np.memmap) or not array.filename:
            raise InputError(f"ArrayFileReader needs an np.memmap backed by a file; got {type(array).__name__}.")
        if pixels and not (array.dtype.kind == "u" and array.dtype.itemsize <= 2):
            raise InputError(f"pixels=True of ArrayFileReader needs a uint8 or uint16 array; got dtype {array.dtype}.")
        self.filename = str(array.filename)
        self.offset = _file_offset(array)
        self.dtype = array.dtype.str
        self.shape = tuple(array.shape)
        self.order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
        self.pixels = bool(pixels)
        if self.pixels and len(self.shape) == 4 and self.shape[1] not in (1, 3, 4) and self.shape[3] in (1, 3, 4):
            raise InputError(f"the pixel array {self.filename} has shape {self.shape}, channels last (n, H, W, C); "
                             "images are read as (n, C, H, W): save it transposed, np.save(path, "
                             "x.transpose(0, 3, 1, 2)).")
        #: a grayscale (n, H, W) pixel array: each row gets its channel axis, (1, H, W)
        self.channel_axis = self.pixels and len(self.shape) == 3
        st = os.stat(self.filename)
        self.identity = combine("npy", os.path.realpath(self.filename), self.offset, self.dtype, self.shape,
                                st.st_size, st.st_mtime_ns, *(("pixels",) if self.pixels else ()),
                                *(("chw",) if self.channel_axis else ()))
        self._handle = array

    def _scaled(self, out: np.ndarray, batch: bool = True) -> np.ndarray:
        if not getattr(self, "pixels", False):
            return out
        out = out.astype(np.float32) / np.float32(np.iinfo(out.dtype).max)
        if getattr(self, "channel_axis", False):
            out = out[:, None] if batch else out[None]
        return out

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
        return self._scaled(np.array(self._array()[i]), batch=False)

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """Several rows at once, shape (len(rows),) + the sample shape, in the order of ``rows``."""
        rows = np.asarray(rows)
        if self.order != "C":
            return self._scaled(np.ascontiguousarray(self._array()[rows]))
        rows = np.where(rows < 0, rows + self.shape[0], rows)
        out = np.empty((len(rows),) + self.shape[1:], dtype=np.dtype(self.dtype))
        return self._scaled(read_rows_into(self.filename, self.offset, self.shape, self.dtype, rows, out))


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

    Classes and samples follow ``torchvision.datasets.ImageFolder``'s rules, plus the folders and files
    that operating systems and tools leave behind:

    - a class is a sub-folder of ``root`` holding at least one image file (extensions
      :data:`IMAGE_EXTENSIONS`, case-insensitive, searched recursively); classes are sorted by name and
      a label is its class's position in that order (``reader.class_to_idx``);
    - hidden and system folders are never classes nor searched (a name starting with ``.``, e.g.
      ``.ipynb_checkpoints``, ``.git``; and :data:`SYSTEM_FOLDERS`, e.g. ``__MACOSX``, ``@eaDir``);
    - hidden files are never samples (a name starting with ``.``: AppleDouble ``._x.png``, ``.DS_Store``);
    - sub-folders without image files are not classes; they are listed in ``reader.skipped``.

    Every image's header is read once here (and PIL's ``verify`` run on it): a file that is not a
    readable image is an :class:`InputError` naming it, before any work; so is a folder whose images
    have different sizes while ``size`` is None. Pixels: :func:`transfergraph.planner.inputs.pixels.image_array`
    (8-bit images ``v / 255``, 16-bit ``v / 65535``, floats in [0, 1] as they are; never clipped to 8 bits).

    Parameters
    ----------
    root : str or os.PathLike
        Folder with one sub-folder per class.
    mode : "RGB" or "L"
        Channels every image is converted to (3 or 1).
    size : int, optional
        Resize every image to ``size x size`` (bilinear, PIL) before conversion to an array.

    Attributes
    ----------
    classes : list of str
        Class (folder) names; label ``k`` is ``classes[k]``.
    class_to_idx : dict of str to int
        Name -> position (label), as ``torchvision.datasets.ImageFolder.class_to_idx``.
    skipped : dict of str to str
        Sub-folders of ``root`` that are not classes, and why.
    """

    def __init__(self, root: str | os.PathLike, *, mode: str = "RGB", size: int | None = None) -> None:
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"image folder root {str(root)!r} is not a directory.")
        if mode not in IMAGE_MODES:
            raise InputError(f"mode of ImageFolderReader must be 'RGB' or 'L'; got {mode!r}.")
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
            raise InputError(f"size of ImageFolderReader must be a positive int or None; got {size!r}.")
        self.skipped: dict[str, str] = {}
        found: list[tuple[str, list[str]]] = []
        for d in sorted(os.scandir(root), key=lambda e: e.name):
            if not d.is_dir():
                continue
            if is_hidden(d.name):
                self.skipped[d.name] = "hidden or system folder"
                continue
            images = _image_files(root, d.name)
            if images:
                found.append((d.name, images))
            else:
                self.skipped[d.name] = "no image files"
        if not found:
            raise InputError(f"image folder root {str(root)!r} holds no images in class sub-folders "
                             f"(extensions {IMAGE_EXTENSIONS}; hidden and system folders are not classes)"
                             + (f"; sub-folders that are not classes: {self.skipped}." if self.skipped else "."))
        self.classes = [name for name, _ in found]
        files, labels, stats = [], [], []
        for k, (_, images) in enumerate(found):
            for rel in images:
                try:
                    st = os.stat(os.path.join(root, rel))
                    stats.append(f"{rel}|{st.st_size}|{st.st_mtime_ns}")
                except OSError:  # a broken link: _check_images refuses it, naming the file
                    stats.append(f"{rel}|unreadable")
                files.append(rel)
                labels.append(k)
        self.root, self.mode, self.size = str(root), mode, size
        self.files = files
        _check_images(self.root, files, size)
        self._labels = np.asarray(labels, dtype=np.int64)
        self.identity = combine("image_folder", os.path.realpath(root), mode, size, PIXEL_RULE, "\n".join(stats))

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: k for k, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.files)

    def labels(self) -> np.ndarray:
        return self._labels

    def describe(self, i: int) -> str:
        return f"image file {os.path.join(self.root, self.files[i])!r}"

    def read(self, i: int) -> np.ndarray:
        from PIL import Image

        path = os.path.join(self.root, self.files[i])
        try:
            with Image.open(path) as img:
                return image_array(img, mode=self.mode, size=self.size, where=f"image file {path!r}")
        except InputError:
            raise
        except (OSError, ValueError, SyntaxError) as exc:  # PIL's errors for unreadable or truncated files
            raise InputError(f"image file {path!r} cannot be read as an image ({type(exc).__name__}: {exc}); "
                             "remove it or replace it with a readable copy.") from None


#: folder names that are never classes (besides every name starting with "."), compared without regard
#: to case (Windows writes ``$Recycle.Bin``, older tools ``$RECYCLE.BIN``): macOS archive metadata,
#: Synology (``@eaDir`` thumbnails, ``#recycle``, ``#snapshot``) and QNAP (``@Recycle``,
#: ``@Recently-Snapshot``) NAS folders, Windows recycle bins and volume data, Python caches, fsck leftovers
SYSTEM_FOLDERS = frozenset({"__MACOSX", "@eaDir", "$RECYCLE.BIN", "System Volume Information", "__pycache__",
                            "lost+found", "#recycle", "#snapshot", "@Recycle", "@Recently-Snapshot", "RECYCLER",
                            "$Recycle.Bin"})
_SYSTEM_FOLDERS_FOLDED = frozenset(name.casefold() for name in SYSTEM_FOLDERS)


def is_hidden(name: str) -> bool:
    """True for a hidden or system file/folder name: it starts with "." or is one of :data:`SYSTEM_FOLDERS`
    (case-insensitive)."""
    return name.startswith(".") or name.casefold() in _SYSTEM_FOLDERS_FOLDED


def _image_files(root: Path, name: str) -> list[str]:
    """Image files under ``root/name`` (recursive, hidden/system folders and hidden files skipped), as
    paths relative to ``root`` in ``torchvision.datasets.folder.make_dataset``'s order (folders sorted by
    path, files by name). A linked folder that leads back to one of its own parent folders (a link
    loop, e.g. to the root) is not searched: the walk would otherwise find every image again, under
    this class, until the path is too long."""
    walked = []
    top = os.path.realpath(root)
    for dirpath, dirnames, names in os.walk(root / name, followlinks=True):
        here = os.path.realpath(dirpath)
        dirnames[:] = [d for d in dirnames if not is_hidden(d) and not _loops_back(os.path.join(dirpath, d), here, top)]
        walked.append((dirpath, names))
    return [os.path.relpath(os.path.join(dirpath, f), root) for dirpath, names in sorted(walked)
            for f in sorted(names) if not is_hidden(f) and f.lower().endswith(IMAGE_EXTENSIONS)]


def _loops_back(path: str, here: str, top: str) -> bool:
    """``path`` (a sub-folder of the real folder ``here``) is a link to ``here``, one of its parents
    or the image folder's root ``top`` (or a folder holding it)."""
    if not os.path.islink(path):
        return False
    target = os.path.realpath(path)
    return any(p == target or p.startswith(target.rstrip(os.sep) + os.sep) for p in (here, top))


def _check_images(root: str, files: list[str], size: int | None) -> None:
    """Open every image's header and verify it (decoding only 32-bit integer and float images, whose
    value range decides whether they can be used); refuse unreadable files and, without ``size``, mixed sizes."""
    from PIL import Image

    bad: list[str] = []
    sizes: dict[tuple[int, int], list[str]] = {}
    for rel in files:
        path = os.path.join(root, rel)
        try:
            with Image.open(path) as img:
                shape, wide = img.size, pixel_kind(img.mode) in ("int32", "float")
                img.verify()
            if wide:  # 32-bit integer or float pixels: their range decides whether they can be used
                with Image.open(path) as img:
                    image_array(img, mode="L", where=f"image file {path!r}")
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - PIL raises many types for a file that is not an image
            bad.append(f"{path!r} ({type(exc).__name__}: {exc})")
            continue
        sizes.setdefault(shape, []).append(rel)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InputError(f"image folder {root!r}: {len(bad)} file(s) cannot be read as images: {'; '.join(bad[:5])}"
                         f"{more}. Remove them or replace them with readable copies.")
    if size is None and len(sizes) > 1:
        common = sorted(sizes.items(), key=lambda kv: -len(kv[1]))
        shown = ", ".join(f"{w}x{h} ({len(f)} files, e.g. {f[0]!r})" for (w, h), f in common[:4])
        raise InputError(f"image folder {root!r} holds images of {len(sizes)} different sizes (width x height: "
                         f"{shown}); set a common size: image_size=N (Task or ImageFolderReader size=N) or "
                         "data.image_size in a config.", key="image_size")


#: input and label columns looked for, in this order, when a mapping-style dataset names none
INPUT_COLUMNS = ("image", "img", "pixel_values", "input_ids", "x")
LABEL_COLUMNS = ("label", "labels", "y")

_HOW_COLUMNS = ("name them: Task(name, dataset, input_column='...', label_column='...') in Python, or "
                "data.input_column and data.label_column in a config")


class DatasetReader(Reader):
    """A map-style Dataset whose item ``i`` is ``(x, y)`` (or a mapping with input/label columns).

    Samples that are PIL images (Hugging Face ``Image`` columns, torchvision datasets without a
    transform) go through :func:`transfergraph.planner.inputs.pixels.image_array`, as image-folder files
    do: converted to ``image_mode`` (mixed L/RGB datasets become one mode), resized to ``image_size``
    when given, 16-bit pixels divided by 65535. Tensors and arrays are used as they are. Samples of a
    different shape than the first one are an :class:`InputError` naming the row and column (raised
    when the rows are read: :meth:`transfergraph.planner.inputs.lazy.LazyInputs.read_rows` and the
    batch reader check it). For a Hugging Face ``Image`` input column every row's image header (not
    its pixels) is read here, so an unreadable image, or without ``image_size`` an image of another
    size than row 0's, is refused before any work, naming its row.

    Parameters
    ----------
    dataset : torch Dataset, Hugging Face ``datasets.Dataset`` or any object with ``__len__`` and
        ``__getitem__``; it is pickled to the workers, so it should hold file references rather
        than data (a ``load_from_disk`` dataset does).
    input_column, label_column : str, optional
        For items that are mappings (Hugging Face rows): the keys of the input and the label.
        Default: the first of :data:`INPUT_COLUMNS` ("image", "img", "pixel_values", "input_ids", "x")
        present, and the first of :data:`LABEL_COLUMNS` ("label", "labels", "y"). A Hugging Face
        dataset's columns are checked here: a named column it lacks, or no input column, is an
        :class:`InputError` listing its columns.
    image_mode : "RGB" or "L"
        Channels PIL-image samples are converted to (3 or 1); default "RGB", as image folders.
    image_size : int, optional
        Resize PIL-image samples to ``image_size x image_size`` (bilinear).
    """

    def __init__(self, dataset: Any, *, input_column: str | None = None, label_column: str | None = None,
                 image_mode: str = "RGB", image_size: int | None = None) -> None:
        if image_mode not in IMAGE_MODES:
            raise InputError(f"image_mode must be 'RGB' or 'L'; got {image_mode!r}.")
        if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer))
                                       or image_size < 1):
            raise InputError(f"image_size must be a positive int or None; got {image_size!r}.")
        for arg, value in (("input_column", input_column), ("label_column", label_column)):
            if value is not None and not isinstance(value, str):
                raise InputError(f"{arg} must be a column name (str) or None; got {value!r}.")
        if type(dataset).__name__ in ("DatasetDict", "IterableDatasetDict"):
            raise InputError(f"a Hugging Face DatasetDict holds several splits ({list(dataset)}); pass one of them, "
                             f"e.g. dataset[{next(iter(dataset), 'train')!r}] (in a config: data.split).")
        dataset = _numpy_format(dataset)
        self.dataset = dataset
        self.columns = _column_names(dataset)
        if self.columns is not None:
            for arg, value in (("input_column", input_column), ("label_column", label_column)):
                if value is not None and value not in self.columns:
                    raise InputError(f"{arg} {value!r} is not a column of the dataset; its columns: {self.columns}. "
                                     f"To use others, {_HOW_COLUMNS}.", key=arg)
            input_column = input_column or next((c for c in INPUT_COLUMNS if c in self.columns), None)
            if input_column is None:
                raise InputError(f"the dataset has none of the input columns {list(INPUT_COLUMNS)}; its columns: "
                                 f"{self.columns}. {_HOW_COLUMNS[0].upper()}{_HOW_COLUMNS[1:]}.", key="input_column")
            label_column = label_column or next((c for c in LABEL_COLUMNS if c in self.columns), None)
        self.input_column, self.label_column = input_column, label_column
        self.image_mode, self.image_size = image_mode, None if image_size is None else int(image_size)
        if self.columns is not None and input_column is not None:
            _check_stored_images(dataset, input_column, self.image_size)
        explicit = getattr(dataset, "fingerprint", None) or getattr(dataset, "_fingerprint", None)
        if isinstance(explicit, str):
            self.identity = combine("dataset", type(dataset).__qualname__, explicit, input_column, label_column,
                                    image_mode, self.image_size, PIXEL_RULE)
        else:
            import cloudpickle

            self.identity = combine("dataset-pickle", cloudpickle.dumps(dataset, protocol=4), image_mode,
                                    self.image_size, PIXEL_RULE)

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def class_names(self) -> list[str] | None:
        """A Hugging Face ``ClassLabel`` label column's names (label k is ``class_names[k]``), else None."""
        feature = getattr(self.dataset, "features", {}).get(self.label_column) if self.label_column else None
        names = getattr(feature, "names", None) if type(feature).__name__ == "ClassLabel" else None
        return list(names) if names else None

    def describe(self, i: int) -> str:
        if self.columns is not None or self.input_column is not None:
            return f"row {i} (column {self.input_column!r}) of the dataset"
        return f"item {i} of the dataset"

    def remedy(self) -> str:
        return ("for images, set image_size=N (Task(name, dataset, image_size=N), or data.image_size in a config) "
                "to resize every image to N x N; for tensors or arrays, make every sample the same shape (e.g. "
                "with the dataset's transform).")

    def _item(self, i: int) -> Any:
        try:
            return self.dataset[int(i)]
        except (OSError, SyntaxError) as exc:  # PIL's errors when a stored image cannot be decoded
            raise InputError(f"{self.describe(i)} cannot be read as an image ({type(exc).__name__}: {exc}); "
                             "remove the row or replace its image.") from None

    def _key(self, item: dict, i: int, which: str) -> str:
        given = self.input_column if which == "input" else self.label_column
        key = given or next((k for k in (INPUT_COLUMNS if which == "input" else LABEL_COLUMNS) if k in item), None)
        if key is None or key not in item:
            usual = list(INPUT_COLUMNS if which == "input" else LABEL_COLUMNS)
            raise InputError(f"the dataset has no {which} column {'named ' + repr(given) if given else f'among {usual}'}"
                             f"; its columns (item {i}'s keys): {sorted(item)}. To use others, {_HOW_COLUMNS}"
                             + (" (or pass labels=)." if which == "label" else "."))
        return key

    def _field(self, item: Any, i: int, which: str) -> Any:
        """Item ``i``'s input (``which="input"``) or label: a dict's column, or the first or second of an
        ``(x, y)`` pair."""
        if isinstance(item, dict):
            return item[self._key(item, i, which)]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise InputError(f"a Dataset given as Task inputs must yield (x, y) pairs; item {i} is "
                             f"{type(item).__name__}.")
        return item[0 if which == "input" else 1]

    def read(self, i: int) -> np.ndarray:
        x = self._field(self._item(i), int(i), "input")
        out = _sample_array(x, self.image_mode, self.image_size, self.describe(int(i)))
        declared = _declared_dtype(self.dataset, self.input_column) if self.columns is not None else None
        if declared is not None and (declared == np.uint8 or declared.kind in "bf") and out.dtype != declared \
                and out.dtype.kind in "biuf":
            # Hugging Face returns an Array column of uint8 as int64: give back the stored type, so pixels
            # enter the model as an uint8 image array does (float32), not as integer token ids
            out = out.astype(declared)
        return out

    def labels(self) -> np.ndarray | None:
        ds = self.dataset
        if self.columns is not None:  # Hugging Face: one column read
            if self.label_column is None:
                return None
            labels = np.asarray(ds[self.label_column])
            if self.class_names is not None and labels.size and (labels == -1).any():
                row = int(np.flatnonzero(labels == -1)[0])
                raise InputError(f"row {row} (column {self.label_column!r}) of the dataset has the label -1, a "
                                 f"ClassLabel's 'no label' (as in unlabelled test splits), in "
                                 f"{int((labels == -1).sum())} row(s); it is not a class: drop those rows first, "
                                 f"dataset.filter(lambda r: r[{self.label_column!r}] != -1), or use a labelled split.")
            return labels
        targets = getattr(ds, "targets", None)
        if targets is not None and len(targets) == len(ds):
            return np.asarray([t.item() if hasattr(t, "item") else t for t in targets])
        return None

    def label_of(self, i: int) -> Any:
        y = self._field(self._item(i), int(i), "label")
        return y.item() if hasattr(y, "item") else y


def _check_stored_images(dataset: Any, column: str, size: int | None, batch: int = 1024) -> None:
    """For a Hugging Face ``Image`` column: read every row's image header (not its pixels) and refuse,
    naming the row, an empty cell or an image PIL cannot open and, without ``size``, images of several
    sizes (the batch would not stack), naming a row of a less common size and one of the most common."""
    import io

    feature = getattr(dataset, "features", {}).get(column)
    if type(feature).__name__ != "Image" or len(dataset) == 0:
        return
    import datasets
    from PIL import Image

    raw = dataset.select_columns([column]).cast_column(column, datasets.Image(decode=False))
    sizes: dict[tuple[int, int], list[int]] = {}  # size -> [first row, number of rows]
    row = 0
    for chunk in raw.iter(batch_size=batch):
        for cell in chunk[column]:
            where = f"row {row} (column {column!r}) of the dataset"
            if cell is None or (cell.get("bytes") is None and not cell.get("path")):
                raise InputError(f"{where} has no image (an empty cell); remove the row or give it an image.")
            try:
                source = io.BytesIO(cell["bytes"]) if cell.get("bytes") is not None else cell.get("path")
                with Image.open(source) as img:
                    shape = img.size
            except Exception as exc:  # noqa: BLE001 - PIL raises many types for bytes that are not an image
                raise InputError(f"{where} cannot be read as an image ({type(exc).__name__}: {exc}); remove the "
                                 "row or replace its image.") from None
            sizes.setdefault(shape, [row, 0])[1] += 1
            row += 1
    if size is None and len(sizes) > 1:  # name a row of a less common size, against the most common one
        (common, (c_row, c_n)), (odd, (o_row, o_n)) = sorted(sizes.items(), key=lambda kv: (-kv[1][1], kv[1][0]))[:2]
        raise InputError(f"row {o_row} (column {column!r}) of the dataset is an image of {odd[0]}x{odd[1]} pixels, "
                         f"unlike row {c_row} ({common[0]}x{common[1]}) and {c_n - 1} other row(s) ({len(sizes)} sizes "
                         f"among {row} rows; {o_n} of {odd[0]}x{odd[1]}): images of one task must share a size; set "
                         "image_size=N (Task(name, dataset, image_size=N), or data.image_size in a config) to resize "
                         "every image to N x N.", key="image_size")


def _declared_dtype(dataset: Any, column: str | None) -> np.dtype | None:
    """The element type a Hugging Face dataset declares for ``column`` (``Array2D``..``Array5D``,
    ``Value`` and lists of them), or None (an image column, another dataset, an unknown type)."""
    feature = getattr(dataset, "features", {}).get(column) if column else None
    while feature is not None and not hasattr(feature, "dtype") and hasattr(feature, "feature"):
        feature = feature.feature  # Sequence / List of values
    name = getattr(feature, "dtype", None)
    try:
        dtype = np.dtype(name) if isinstance(name, str) else None
    except TypeError:
        return None
    return dtype if dtype is not None and dtype.kind in "biuf" else None


def _column_names(dataset: Any) -> list[str] | None:
    """A Hugging Face dataset's column names (None for other datasets)."""
    if hasattr(dataset, "column_names") and hasattr(dataset, "select_columns"):
        return list(dataset.column_names)
    return None


def _numpy_format(dataset: Any) -> Any:
    """A Hugging Face dataset without an output format, switched to NumPy for its array columns
    (rows would otherwise come back as nested Python lists and lose their dtype); image columns
    stay PIL images, decoded with :func:`transfergraph.planner.inputs.pixels.image_array`."""
    if not (hasattr(dataset, "with_format") and hasattr(dataset, "features")):
        return dataset
    if getattr(dataset, "format", {}).get("type") is not None:
        return dataset
    if any(type(f).__name__ == "Image" for f in dataset.features.values()):
        return dataset
    return dataset.with_format("numpy")


def _sample_array(x: Any, mode: str = "RGB", size: int | None = None, where: str = "sample") -> np.ndarray:
    if hasattr(x, "detach"):
        return to_numpy(x)
    if hasattr(x, "convert") and hasattr(x, "size") and hasattr(x, "mode"):  # a PIL image
        return image_array(x, mode=mode, size=size, where=where)
    return np.asarray(x)
