"""Turn a validated job config into target :class:`~transfergraph.planner.Task` s and trained :class:`~transfergraph.planner.Source` s.

Tasks are cut from named datasets (class subsets, domain shifts, imbalance); source models are
trained here, seeded and deterministic, and cached on disk keyed by a fingerprint of everything that
determines their weights, so a second run of the same config reuses them.
"""
from __future__ import annotations

import functools
import json
import os
import zlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from transfergraph.planner.common.checks import encode_labels
from transfergraph.planner.common.exceptions import CheckpointError, ConfigError, InputError
from transfergraph.planner.common.fingerprint import arrays_key
from transfergraph.planner.common.seeds import derive_seed
from transfergraph.planner.inputs.model_ref import ModelRef
from transfergraph.planner.inputs.task import Source, Task

from transfergraph.config import ExternalModelSpec, JobConfig, TaskSpec
from transfergraph.config.data import LAZY_KINDS
from transfergraph.jobs.class_names import with_class_positions
from transfergraph.jobs.seeds import stable_seed  # re-exported: the suite's seed formula
from transfergraph.jobs.shares import share_rows
from transfergraph.jobs.suite_provenance import external_rows, meta_rows, model_provenances, task_provenance

from transfergraph.adapters.datasets.registry import DatasetSplit, load_dataset
from transfergraph.adapters.datasets.shifts import apply_shifts
from transfergraph.adapters.plugins import load_plugins

__all__ = ["build_tasks", "build_sources", "build_meta_model", "describe_data", "stable_seed"]


def _dataset(config: JobConfig, name: str | None, key: str) -> DatasetSplit:
    d = config.data
    try:
        if (name or d.source) in LAZY_KINDS:
            from transfergraph.adapters.datasets.ondisk import load_ondisk

            if name is not None and name != d.source:
                raise InputError(f"on-disk data ({name!r}) can only be the config's data.kind ({d.source!r}).")
            return load_ondisk(d, config.seed)
        return load_dataset(name or d.source, root=d.root, image_size=d.image_size,
                            test_fraction=d.test_fraction, max_per_class=d.max_per_class, seed=config.seed)
    except InputError as exc:
        own = name is not None and name != d.source  # the task names a dataset of its own
        where = key if own else _data_key(d, exc)
        raise ConfigError(f"{where}: {exc}", key=where) from None


def _data_key(d, exc: InputError) -> str:
    """The ``data.*`` key a data-loading error is about (the section every task without a ``dataset``
    reads): the key its raiser named (``exc.key``), else ``data.root`` (the dataset's own files).
    An unknown dataset name is ``data.kind`` when the config names its source by ``kind``."""
    if exc.key == "data.dataset" and d.kind:
        return "data.kind"
    return exc.key or "data.root"


def _select(y: np.ndarray, classes: Sequence, n_per_class: int | None, imbalance: float | None,
            rng: np.random.Generator) -> np.ndarray:
    """Indices of the chosen classes; class k of C (sorted) keeps n_max * imbalance^(-k/(C-1)) samples."""
    counts = {c: int((y == c).sum()) for c in classes}
    n_max = min(counts.values()) if imbalance else None
    if n_per_class is not None:
        n_max = min(n_per_class, n_max) if n_max else n_per_class
    keep = []
    for k, c in enumerate(sorted(classes)):
        idx = rng.permutation(np.flatnonzero(y == c))
        if n_max is not None:
            n = n_max if not imbalance else int(round(n_max * imbalance ** (-k / max(len(classes) - 1, 1))))
            idx = idx[:max(2, n)]
        keep.append(idx)
    return np.sort(np.concatenate(keep))


def _task_from_spec(config: JobConfig, i: int, spec: TaskSpec) -> Task:
    key = f"tasks[{i}] ({spec.name})"
    ds = _dataset(config, spec.dataset, f"{key}.dataset")
    available = ds.classes
    classes = list(spec.classes) if spec.classes is not None else available
    missing = [c for c in classes if c not in available]
    if missing:
        raise ConfigError(f"{key}.classes: {missing} not in dataset {spec.dataset or config.data.source!r}; "
                          f"available classes: {available}.")
    if len(classes) < 2:
        names = getattr(ds, "class_names", None)  # an image folder's labels are positions: show its names
        shown = [names[c] if names and isinstance(c, (int, np.integer)) and 0 <= c < len(names) else c
                 for c in classes]
        raise ConfigError(f"{key}.classes: a task needs at least 2 distinct classes; got {shown}.")
    rng = np.random.default_rng(stable_seed(config.seed, "task", spec.name))
    share = share_rows(config, spec.name, spec.dataset, ds.train_y)  # None: the whole split
    if share is None:
        tr = _select(ds.train_y, classes, spec.n_per_class, spec.imbalance, rng)
    else:
        tr = share[_select(ds.train_y[share], classes, spec.n_per_class, spec.imbalance, rng)]
    te_cap = None if spec.n_per_class is None else max(2, spec.n_per_class // 2)
    te = _select(ds.test_y, classes, te_cap, spec.imbalance, rng)
    provenance = task_provenance(config, spec.dataset, tr, spec.shift, samples_from=spec.samples_from)
    if not isinstance(ds, DatasetSplit):  # on disk: rows only, samples read by the workers
        from transfergraph.adapters.datasets.ondisk import lazy_task

        try:
            task = lazy_task(spec.name, ds, tr, te, spec.shift, stable_seed(config.seed, "shift", spec.name))
        except InputError as exc:
            raise ConfigError(f"{key}: {exc}") from None
        task.provenance = provenance
        return task
    try:
        shift_seed = stable_seed(config.seed, "shift", spec.name)
        x_tr = apply_shifts(ds.train_x[tr], spec.shift, seed=shift_seed)
        x_te = apply_shifts(ds.test_x[te], spec.shift, seed=derive_seed(shift_seed, 1, scheme="offset"))
    except InputError as exc:
        raise ConfigError(f"{key}.shift: {exc}") from None
    if not spec.shift:  # keep the dataset's own samples so tasks cut from one pool share forward passes
        x_tr, x_te = ds.train_x[tr], ds.test_x[te]
    return Task(spec.name, x_tr, ds.train_y[tr], test_inputs=x_te, test_labels=ds.test_y[te], provenance=provenance)


def describe_data(config: JobConfig) -> dict | None:
    """For ``run.json`` (``data``): an image folder's (or a Hugging Face ``ClassLabel``'s) classes as
    ``{name: position}`` (positions are the labels and what ``classes`` entries given as integers
    select) and an image folder's sub-folders that are not classes; None for other data."""
    if config.data.source not in ("image_folder", "hf_datasets"):
        return None
    split = _dataset(config, None, "data")
    if split.class_names is None:
        return None
    out = {"kind": config.data.source, "root": config.data.root,
           "classes": {name: k for k, name in enumerate(split.class_names)}}
    return out | ({"not_classes": dict(split.skipped)} if config.data.source == "image_folder" else {})


def build_tasks(config: JobConfig) -> list[Task]:
    """Build every task of ``config.tasks`` (deterministic given ``config.seed``); an image folder's
    ``classes`` may be folder names or positions (:mod:`transfergraph.jobs.class_names`)."""
    load_plugins()
    config = with_class_positions(config, _dataset)
    return [_task_from_spec(config, i, spec) for i, spec in enumerate(config.tasks)]


def _fingerprint(*arrays: np.ndarray, meta: dict) -> str:
    return arrays_key(json.dumps(meta, sort_keys=True, default=str), *arrays)


def _train_cached(name: str, x: np.ndarray, y: np.ndarray, config: JobConfig, model_dir: Path | None,
                  log: Callable[[str], None] = lambda _msg: None):
    """Train (or load from ``model_dir``) a classifier on (x, y); labels are mapped to 0..K-1 in sorted order.

    ``log`` says which of the two happened ("loading ..." or "training ..."). With a ``model_dir`` the
    result is a :class:`~transfergraph.planner.inputs.model_ref.ModelRef` to the saved file (the run
    then holds one model at a time, not one per source); without, the model itself."""
    from transfergraph.adapters.models import ARCHITECTURES, load_model, save_model, train_classifier

    tcfg = config.models.training
    codes, classes = encode_labels(y, func="train_classifier", arg="labels")
    classes = classes.tolist()
    seed = stable_seed(config.seed, "model", name)
    meta = {"name": name, "training": tcfg.model_dump(), "seed": seed, "classes": classes, "format": 1}
    path = None
    if model_dir is not None:
        path = model_dir / f"{name}-{_fingerprint(x, codes, meta=meta)}.pt"
        if path.is_file():
            try:
                model, _ = load_model(path, expect_arch=tcfg.arch)
                log(f"loading source model {name} from {path}")
                return _saved_ref(path, tcfg.arch, model)
            except CheckpointError:
                path.unlink(missing_ok=True)  # a cached model that cannot be read is rebuilt, not trusted
    if tcfg.arch not in ARCHITECTURES:
        raise ConfigError(f"models.training.arch: unknown architecture {tcfg.arch!r}; known: {sorted(ARCHITECTURES)}.")
    import torch

    log(f"training source model {name} ({len(codes)} samples)")
    torch.manual_seed(seed)
    model = ARCHITECTURES[tcfg.arch](n_classes=len(classes), in_channels=int(x.shape[1]),
                                     width=tcfg.width, feature_dim=tcfg.feature_dim)
    train_classifier(model, x, codes, epochs=tcfg.epochs, batch_size=tcfg.batch_size, lr=tcfg.lr,
                     weight_decay=tcfg.weight_decay, seed=seed)
    if path is not None:
        save_model(model, path, arch=tcfg.arch, extra={"classes": [str(c) for c in classes]})
        return _saved_ref(path, tcfg.arch, model)
    return model


def _load_saved(path: str, arch: str):
    """The model of a ``save_model`` file (a :class:`ModelRef` loader: picklable, module level)."""
    from transfergraph.adapters.models import load_model

    return load_model(path, expect_arch=arch)[0]


def _saved_ref(path: Path, arch: str, model) -> ModelRef:
    """A ref to ``model``, saved at ``path``: rebuilt from the file wherever it is needed."""
    path = os.path.abspath(path)
    return ModelRef(functools.partial(_load_saved, path, arch), model, describe=f"source model file {path}")


def _external(config: JobConfig, i: int, spec: ExternalModelSpec, model_dir: Path | None,
              tasks: Sequence[Task] = (), log: Callable[[str], None] = lambda _m: None,
              warn: Callable[[str], None] | None = None) -> Source:
    key = f"models.external[{i}] ({spec.name})"
    if spec.checkpoint:
        from transfergraph.adapters.models.external import external_source

        return external_source(spec, i, tasks, default_arch=config.models.training.arch, log=log, warn=warn,
                               metrics=config.scoring.metrics)
    ds = _dataset(config, spec.dataset, f"{key}.dataset")
    classes = list(spec.classes) if spec.classes is not None else ds.classes
    missing = [c for c in classes if c not in ds.classes]
    if missing:
        raise ConfigError(f"{key}.classes: {missing} not in dataset; available classes: {ds.classes}.")
    idx = external_rows(config, spec, ds.train_y)
    try:
        x = apply_shifts(ds.train_x[idx], spec.shift, seed=stable_seed(config.seed, "shift", spec.name))
    except InputError as exc:
        raise ConfigError(f"{key}.shift: {exc}") from None
    # its own training data is the tta metric's reference sample (<= 100 images per class, seeded)
    rng = np.random.default_rng(stable_seed(config.seed, "reference", spec.name))
    y = ds.train_y[idx]
    ref = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:100] for c in np.unique(y)]))
    return Source(spec.name, _train_cached(spec.name, x, y, config, model_dir),
                  reference=Task(f"{spec.name}/reference", x[ref], y[ref]))


def build_sources(config: JobConfig, tasks: Sequence[Task], *, model_dir: str | Path | None = None,
                  log: Callable[[str], None] | None = None, meta_model=None,
                  warn: Callable[[str], None] | None = None) -> list[Source]:
    """Train or load every source model the config asks for.

    Every external checkpoint is loaded and checked against its architecture and the tasks first, so
    a bad one is reported before any model is trained. ``log`` receives progress and what was
    adapted to load a checkpoint; ``warn`` (default: ``log``) the warnings about a loaded model
    (degenerate outputs), which a caller may also put in the plan.

    Per-task models become ``Source(f"{task}.cnn", task=task)``; external models are sources of
    their own; each model the suite trains carries its training data's provenance
    (:mod:`transfergraph.jobs.suite_provenance`); a CNAPs-style meta-trained model adds its backbone classifier and one adapted model
    per task (``transfergraph.adapters.meta.build_meta_sources``); pass ``meta_model`` to reuse one already built.
    """
    load_plugins()
    config = with_class_positions(config, _dataset)
    log = log or (lambda _msg: None)
    model_dir = Path(model_dir) if model_dir is not None else None
    if meta_model is None and config.models.meta.enabled and config.models.meta.checkpoint:
        meta_model = build_meta_model(config, model_dir=model_dir, log=log)  # a checkpoint: before any training
    loaded: dict[int, Source] = {}
    for i, spec in enumerate(config.models.external):  # checkpoints first: fail before any training
        if spec.checkpoint:
            log(f"loading external model {spec.name} from {spec.checkpoint}")
            loaded[i] = _external(config, i, spec, model_dir, tasks, log, warn)
    sources: list[Source] = []
    if config.models.per_task:
        for t in tasks:
            model = _train_cached(f"{t.name}.cnn", t.inputs, t.labels, config, model_dir, log)
            sources.append(Source(f"{t.name}.cnn", model, task=t.name))
    for i, spec in enumerate(config.models.external):
        if i not in loaded:
            log(f"preparing external model {spec.name}")
        sources.append(loaded[i] if i in loaded else _external(config, i, spec, model_dir, tasks, log, warn))
    if config.models.meta.enabled:
        sources.extend(_meta_sources(config, tasks, model_dir, log, meta_model))
    provenance = model_provenances(config, tasks, lambda name, key: _dataset(config, name, key))
    for s in sources:  # what each model was trained on, for the plan's leakage check
        s.provenance = s.provenance or provenance.get(s.name, ())
    return sources


def build_meta_model(config: JobConfig, *, model_dir: str | Path | None = None,
                     log: Callable[[str], None] | None = None):
    """Load or meta-train (and cache) the config's CNAPs-style model; None when ``models.meta`` is off."""
    from transfergraph.adapters import meta

    mcfg = config.models.meta
    if not mcfg.enabled:
        return None
    log = log or (lambda _msg: None)
    if mcfg.checkpoint:
        try:
            return meta.load_checkpoint(mcfg.checkpoint)
        except CheckpointError as exc:
            raise ConfigError(f"models.meta.checkpoint: {exc}") from None
    ds = _dataset(config, None, "data")
    seed = stable_seed(config.seed, "meta")
    rows = meta_rows(config, ds.train_y)
    train_x, train_y = (ds.train_x, ds.train_y) if rows is None else (ds.train_x[rows], ds.train_y[rows])
    meta_fp = _fingerprint(train_x, train_y, meta={"pretrain_steps": mcfg.pretrain_steps, "meta_steps": mcfg.meta_steps,
                                                              "seconds": mcfg.seconds, "seed": seed})
    path = Path(model_dir) / f"cnaps-{meta_fp}.pt" if model_dir is not None else None
    if path is not None and path.is_file():
        try:
            return meta.load_checkpoint(path)
        except CheckpointError:
            path.unlink(missing_ok=True)  # unreadable cache entry: retrain
    log(f"meta-training the CNAPs-style model ({mcfg.pretrain_steps} pre-training + {mcfg.meta_steps} meta steps)")
    model = meta.train_demo_meta_model(train_x, train_y, pretrain_steps=mcfg.pretrain_steps,
                                       meta_steps=mcfg.meta_steps, seconds=mcfg.seconds, seed=seed)
    if path is not None and mcfg.seconds is None:  # a wall-clock budget is not reproducible: never cache it
        meta.save_checkpoint(model, path)
    return model


def _meta_sources(config: JobConfig, tasks: Sequence[Task], model_dir: Path | None,
                  log: Callable[[str], None], model=None) -> list[Source]:
    from transfergraph.adapters import meta

    if model is None:
        model = build_meta_model(config, model_dir=model_dir, log=log)
    mcfg = config.models.meta
    return meta.build_meta_sources(model, list(tasks), context_shots=mcfg.context_shots,
                                   seed=stable_seed(config.seed, "adapt"), adapted_as=mcfg.adapted_as)
