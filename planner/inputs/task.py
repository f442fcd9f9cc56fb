"""Targets and sources: the two things transfergraph scores against each other.

A :class:`Task` is a labeled target dataset; a :class:`Source` is a classifier whose outputs on a
task's inputs feed the transferability metrics. Both validate their arguments at construction so
that a mistake is reported once, with the argument's name, instead of as a failed pair later.
"""
from __future__ import annotations

import numbers

from typing import Any, Callable, Sequence

import numpy as np

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.labels import sorted_labels
from transfergraph.planner.common.names import check_name_characters
from transfergraph.planner.inputs.lazy import LazyInputs, as_lazy
from transfergraph.planner.inputs.provenance import Provenance, as_provenance_parts
from transfergraph.planner.common.tensors import to_numpy

__all__ = ["Task", "Source", "as_numpy", "distinct_labels"]


def as_numpy(x: Any) -> np.ndarray:
    """Return ``x`` as a NumPy array without copying when possible (torch tensors are moved to CPU)."""
    return to_numpy(x)


def distinct_labels(labels: np.ndarray) -> np.ndarray:
    """Distinct values of a 1-D label array in the order of :func:`transfergraph.planner.common.labels.sorted_labels`."""
    if labels.dtype != object:
        return np.unique(labels)
    classes = sorted_labels(labels.tolist())
    out = np.empty(len(classes), dtype=object)
    out[:] = classes
    return out


def _check_name(name: Any, owner: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"name of {owner} must be a non-empty string; got {name!r}.")
    return check_name_characters(name, f"name of {owner}")  # it is written to graph.graphml and scores.csv


def _lazy_labels(x: LazyInputs, labels: Any, task: str, in_name: str, lab_name: str) -> np.ndarray:
    """Labels of a lazy split: given, else the reader's label list, else read item by item (O(1) memory)."""
    if labels is not None:
        return _label_array(labels)  # [1, "1"] stays two labels, as for in-memory inputs
    known = x.reader.labels()
    if known is not None:
        return np.asarray(known)[x.rows]
    if hasattr(x.reader, "label_of"):
        return np.asarray([x.reader.label_of(int(r)) for r in x.rows])
    raise InputError(f"{lab_name} of Task {task!r} is required: {in_name} carry no labels; got None.")


def _label_array(labels: Any) -> np.ndarray:
    """Labels as an array; a list mixing numbers and other values stays an object array (NumPy would turn
    ``[1, "1"]`` into two equal strings)."""
    if isinstance(labels, (list, tuple)):
        numeric = {isinstance(v, (numbers.Real, np.number)) for v in labels}
        if len(numeric) > 1:
            out = np.empty(len(labels), dtype=object)
            out[:] = list(labels)
            return out
    return as_numpy(labels)


def _missing_label(v: Any) -> str | None:
    """How ``v`` is a missing or non-finite label (``"None"``, ``"NaN"``, ``"inf"``, ``"NA"``), else None."""
    if v is None:
        return "None"
    try:
        if v != v:  # NaN is the one value unequal to itself
            return "NaN"
    except TypeError:  # pandas.NA: its comparisons are NA, whose truth is an error
        return "NA"
    if isinstance(v, (float, np.floating)) and np.isinf(v):
        return "inf"
    return None


def _check_no_nan_labels(y: np.ndarray, task: str, lab_name: str) -> None:
    """Refuse missing labels (None, NaN, pandas.NA) and infinite ones, naming the first row."""
    if y.dtype == object:
        found = next(((i, how) for i, v in enumerate(y.tolist()) if (how := _missing_label(v))), None)
    elif np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        found = (i, "NaN" if np.isnan(y[i]) else "inf")
    else:
        found = None
    if found:
        raise InputError(f"{lab_name} of Task {task!r} must not contain NaN (a missing label is not a class), None "
                         f"or inf; row {found[0]} is {found[1]}: drop the unlabelled rows or give them a label.")


def _check_split(inputs: Any, labels: Any, task: str, which: str, reading: dict | None = None) -> tuple[Any, np.ndarray]:
    in_name, lab_name = ("inputs", "labels") if which == "train" else ("test_inputs", "test_labels")
    lazy = as_lazy(inputs, argument=f"{in_name} of Task {task!r}", **(reading or {}))
    if lazy is not None:
        if len(lazy) == 0:
            raise InputError(f"{in_name} of Task {task!r} is an empty dataset; expected at least 2 samples.")
        x, y = lazy, _lazy_labels(lazy, labels, task, in_name, lab_name)
    else:
        if labels is None:
            raise InputError(
                f"{lab_name} of Task {task!r} is required when {in_name} is an array; got None."
            )
        x, y = as_numpy(inputs), _label_array(labels)
    _check_no_nan_labels(y, task, lab_name)
    if x.ndim < 1 or x.shape[0] == 0:
        raise InputError(f"{in_name} of Task {task!r} must have shape (n, ...) with n >= 1; got shape {x.shape}.")
    if x.dtype == object:
        raise InputError(f"{in_name} of Task {task!r} must be a numeric array; got dtype object.")
    if y.ndim != 1:
        raise InputError(f"{lab_name} of Task {task!r} must be 1-D; got shape {y.shape}.")
    if len(y) != len(x):
        raise InputError(
            f"{in_name} and {lab_name} of Task {task!r} must have the same length; "
            f"got {len(x)} inputs and {len(y)} labels."
        )
    if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
        raise InputError(f"{in_name} of Task {task!r} must be numeric; got dtype {x.dtype}.")
    if lazy is None and np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise InputError(f"{in_name} of Task {task!r} contains NaN or inf; clean or impute them first.")
    return x, y


class Task:
    """A labeled target dataset.

    Parameters
    ----------
    name : str
        Unique task name; it becomes a node of the transfer graph and a field of ``scores.csv``, and
        comes back from both as typed (``"001"``, ``"nan"``, ``" padded "``). Control characters
        are refused (:mod:`transfergraph.planner.common.names`).
    inputs : array-like of shape (n, ...), or a lazy dataset
        Target inputs. In memory: an array or tensor (deduplicated by content). Lazy (never read
        into this process; workers read the samples they need, see :mod:`transfergraph.planner.inputs.lazy`): an
        ``np.memmap`` (``np.load(path, mmap_mode="r")``), an image-folder root (a directory path),
        a map-style ``torch.utils.data.Dataset`` yielding ``(x, y)``, a Hugging Face
        ``datasets.Dataset`` (e.g. from ``load_from_disk``) or :class:`transfergraph.planner.inputs.lazy.LazyInputs`.
        Lazy samples are deduplicated by (dataset identity, row).
    labels : sequence of hashable, shape (n,), optional for lazy inputs that carry labels
        Target labels (ints, strings, ...). The classes are the values present.
    test_inputs, test_labels : optional
        Held-out split, used only by validation (``transfergraph validate``).
    provenance : transfergraph.planner.inputs.provenance.Provenance, optional
        Base-pool rows of the training samples (one per sample, before any shift); the leakage
        check intersects them with the sources' training data. None: samples are matched by bytes.
    input_column, label_column : str, optional
        For a Hugging Face (or mapping-yielding) dataset: the columns holding the input and the
        label, e.g. ``Task("cifar100", ds, input_column="img", label_column="fine_label")``. Default:
        the first of "image", "img", "pixel_values", "input_ids", "x" and of "label", "labels", "y".
    image_mode : "RGB" or "L", optional
        Channels that images read from an image folder or a dataset's PIL images are converted to
        (default "RGB"); mixed L/RGB data become one mode.
    image_size : int, optional
        Resize those images to ``image_size x image_size`` (bilinear); needed when their sizes differ.
        The four reading options apply to ``inputs`` and ``test_inputs`` when transfergraph builds their
        reader (:func:`transfergraph.planner.inputs.lazy.as_lazy`); with arrays or a ready reader they
        are an :class:`InputError`. Pixel scaling: :mod:`transfergraph.planner.inputs.pixels`.

    Attributes
    ----------
    inputs : np.ndarray or LazyInputs
        The training split (an array, or a lazy view that reads samples when indexed).
    labels : np.ndarray
        Training labels (always in memory).
    classes : np.ndarray
        Sorted distinct labels.
    """

    def __init__(
        self,
        name: str,
        inputs: Any,
        labels: Sequence[Any] | Any = None,
        *,
        test_inputs: Any = None,
        test_labels: Sequence[Any] | Any = None,
        provenance: Provenance | None = None,
        input_column: str | None = None,
        label_column: str | None = None,
        image_mode: str | None = None,
        image_size: int | None = None,
    ) -> None:
        self.name = _check_name(name, "Task")
        reading = {"input_column": input_column, "label_column": label_column, "image_mode": image_mode,
                   "image_size": image_size}
        self.inputs, self.labels = _check_split(inputs, labels, self.name, "train", reading)
        if provenance is not None and (not isinstance(provenance, Provenance) or len(provenance.rows) != len(self.labels)):
            raise InputError(f"provenance of Task {self.name!r} must be a Provenance with one row per training "
                             f"sample ({len(self.labels)}); got {provenance!r:.80}.")
        self.provenance = provenance
        classes = distinct_labels(self.labels)
        if len(classes) < 2:
            raise InputError(
                f"labels of Task {self.name!r} must contain at least 2 classes; got {len(classes)} "
                f"({list(classes)[:3]})."
            )
        self.classes = classes
        lazy_test = as_lazy(test_inputs, argument=f"test_inputs of Task {self.name!r}", **reading)
        test_inputs = lazy_test if lazy_test is not None else test_inputs
        if (test_inputs is None) != (test_labels is None) and lazy_test is None:
            raise InputError(
                f"test_inputs and test_labels of Task {self.name!r} must be given together; "
                f"got test_inputs={'set' if test_inputs is not None else None}, "
                f"test_labels={'set' if test_labels is not None else None}."
            )
        if test_inputs is not None:
            self.test_inputs, self.test_labels = _check_split(test_inputs, test_labels, self.name, "test")
            if self.test_inputs.shape[1:] != self.inputs.shape[1:]:
                raise InputError(
                    f"test_inputs of Task {self.name!r} must have per-sample shape {self.inputs.shape[1:]} "
                    f"like inputs; got {self.test_inputs.shape[1:]}."
                )
        else:
            self.test_inputs = self.test_labels = None

    @property
    def lazy(self) -> bool:
        """True when the inputs stay on disk (:class:`transfergraph.planner.inputs.lazy.LazyInputs`)."""
        return isinstance(self.inputs, LazyInputs)

    @property
    def n_samples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def n_classes(self) -> int:
        return int(len(self.classes))

    @property
    def has_test(self) -> bool:
        return self.test_inputs is not None

    def __repr__(self) -> str:
        test = f", n_test={len(self.test_inputs)}" if self.has_test else ""
        return (
            f"Task({self.name!r}, n={self.n_samples}, input_shape={tuple(self.inputs.shape[1:])}, "
            f"n_classes={self.n_classes}{test})"
        )


class Source:
    """A source classifier scored against target tasks.

    Parameters
    ----------
    name : str
        Unique source name (the same characters as a task name: no control characters).
    model : torch.nn.Module or ModelRef
        Returns logits of shape (batch, |Z|) over its own source classes: a tensor, an object with
        a ``.logits`` tensor (Hugging Face), a dict with "logits" or a tuple whose first item is them.
        A :class:`~transfergraph.planner.inputs.model_ref.ModelRef` (e.g. a checkpoint path) keeps
        only how to rebuild it: ``source.model`` then rebuilds it on demand and scoring rebuilds it
        in the process that runs each job, so a run's driver does not hold every source's weights.
    task : str, optional
        Name of the task the model was trained on. In the graph the source is then that task's
        node (task -> task edges); otherwise the source is a node of its own (``kind="model"``).
    transform : callable, optional
        Maps a target batch (torch.Tensor, float32, shape (b, ...)) to the model's input space
        (resize, channels, normalisation). Must be picklable (cloudpickle) for the Ray executor.
    feature_layer : str, optional
        Name of a module (as in ``model.named_modules()``) whose output is the feature vector for
        feature-based metrics. Default: the input of the model's last ``nn.Linear``.
    reference : Task or "pseudo", optional
        Labelled reference sample for the ``tta`` metric (e.g. a sample of the model's own training
        data); default: the task named by ``task``. ``"pseudo"`` opts in to the target itself
        labelled by the model's argmax (an unvalidated variant).
    pooling : "avg", "max", "flatten" or None
        How a 4-D (b, C, H, W) feature map becomes a vector: global average or max pooling over
        (H, W), or flattening (None: flatten).
    provenance : Provenance or sequence of Provenance, optional
        The model's training data as base-pool rows (several parts: e.g. a meta-trained backbone's
        pool and an adaptation set). Stored as a tuple; empty when unknown (e.g. a checkpoint).
    """

    def __init__(
        self,
        name: str,
        model: Any,
        *,
        task: str | None = None,
        transform: Callable[[Any], Any] | None = None,
        feature_layer: str | None = None,
        reference: "Task | str | None" = None,
        pooling: str | None = None,
        provenance: "Provenance | Sequence[Provenance] | None" = None,
    ) -> None:
        import torch.nn as nn

        from transfergraph.planner.inputs.model_ref import ModelRef

        self.name = _check_name(name, "Source")
        self.model_ref = model if isinstance(model, ModelRef) else None
        if self.model_ref is not None:
            model = self.model_ref.load()
        if not isinstance(model, nn.Module):
            raise InputError(
                f"model of Source {self.name!r} must be a torch.nn.Module returning logits; "
                f"got {type(model).__name__}."
            )
        if task is not None and (not isinstance(task, str) or not task):
            raise InputError(f"task of Source {self.name!r} must be a task name (str) or None; got {task!r}.")
        check_name_characters(task, f"task of Source {self.name!r}")
        if transform is not None and not callable(transform):
            raise InputError(f"transform of Source {self.name!r} must be callable; got {type(transform).__name__}.")
        modules = dict(model.named_modules())
        if feature_layer is not None and feature_layer not in modules:
            names = [n for n in modules if n][:12]
            raise InputError(
                f"feature_layer of Source {self.name!r} must name a module of the model; got "
                f"{feature_layer!r}. Available: {names}{' ...' if len(modules) > 13 else ''}."
            )
        if reference is not None and not isinstance(reference, Task) and not (isinstance(reference, str) and reference == "pseudo"):
            raise InputError(
                f"reference of Source {self.name!r} must be a Task, 'pseudo' or None; got {reference!r}."
            )
        if pooling not in (None, "avg", "max", "flatten"):
            raise InputError(f"pooling of Source {self.name!r} must be 'avg', 'max', 'flatten' or None; got {pooling!r}.")
        self._model = None if self.model_ref is not None else model
        self.task = task
        self.transform = transform
        self.feature_layer = feature_layer
        self.reference = reference
        self.pooling = pooling
        self.provenance = as_provenance_parts(provenance, f"Source {self.name!r}")

    @property
    def model(self) -> Any:
        """The ``torch.nn.Module`` (rebuilt by :meth:`ModelRef.load` when the source holds a ref)."""
        return self._model if self.model_ref is None else self.model_ref.load()

    @model.setter
    def model(self, value: Any) -> None:
        self.model_ref, self._model = None, value

    def model_fingerprint(self) -> str:
        """:func:`~transfergraph.planner.common.fingerprint.model_fingerprint` of the model with this
        source's transform, feature layer and pooling (a ref's is computed once, without its model
        when it was computed before)."""
        from transfergraph.planner.common.fingerprint import model_fingerprint

        options = {"transform": self.transform, "feature_layer": self.feature_layer, "pooling": self.pooling}
        if self.model_ref is not None:
            return self.model_ref.fingerprint(**options)
        return model_fingerprint(self._model, **options)

    @property
    def node(self) -> str:
        """The graph node this source stands for: its task if it has one, else its own name."""
        return self.task if self.task is not None else self.name

    def __repr__(self) -> str:
        extra = f", task={self.task!r}" if self.task else ""
        kind = self.model_ref.class_name if self.model_ref is not None else type(self._model).__name__
        return f"Source({self.name!r}, model={kind}{extra})"
