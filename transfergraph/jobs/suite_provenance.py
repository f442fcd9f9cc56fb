"""Provenance of the suite's tasks and of the models it trains: which base rows each was built from.

Every task cut by :mod:`transfergraph.jobs.suite` is rows of one dataset's training split, possibly
shifted; every model the suite trains saw rows of such a split: a per-task model its task's rows,
an external model the rows of its classes (shifted by its own shift), the CNAPs-style backbone the
whole training split of ``data.dataset``, and each adapted ``cnaps@<task>`` model the backbone's
rows plus its adaptation set. The leakage check (:mod:`transfergraph.planner.decisions.overlap`) intersects them.
Models loaded from checkpoints get none: their training data is unknown.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from transfergraph.planner.inputs.provenance import Provenance
from transfergraph.planner.inputs.task import Task

from transfergraph.config import JobConfig
from transfergraph.jobs.shares import META_CONSUMER, share_rows
from transfergraph.jobs.seeds import stable_seed

__all__ = ["pool_key", "shift_text", "task_provenance", "model_provenances", "external_rows", "meta_rows"]


def pool_key(config: JobConfig, dataset: str | None) -> str:
    """Identity of a dataset's training split within one job (all loads share the config's data settings)."""
    return f"{dataset or config.data.source}:train"


def shift_text(shift: Mapping[str, Any] | None) -> str:
    """Canonical text of a shift spec, e.g. ``"blur=1.2"``; ``""`` for none."""
    return ",".join(f"{k}={shift[k]}" for k in sorted(shift or {}))


def task_provenance(config: JobConfig, dataset: str | None, rows: np.ndarray, shift, *,
                    samples_from: str | None = None) -> Provenance:
    """Provenance of a task made of training rows ``rows`` of ``dataset`` with ``shift`` (labelled as a
    deliberate overlap when the config's ``samples_from`` made it share another task's rows)."""
    via = f"a deliberate overlap set in the config (samples_from {samples_from})" if samples_from else ""
    return Provenance(pool_key(config, dataset), np.asarray(rows, dtype=np.int64), shift_text(shift), via=via)


def external_rows(config: JobConfig, spec, train_y: np.ndarray) -> np.ndarray:
    """Training rows an external model the suite trains uses: its classes, within its share
    (:mod:`transfergraph.jobs.shares`) when ``data.disjoint`` is on."""
    idx = np.flatnonzero(np.isin(train_y, list(spec.classes))) if spec.classes is not None \
        else np.arange(len(train_y))
    share = share_rows(config, spec.name, spec.dataset, train_y)
    return idx if share is None else np.intersect1d(idx, share)


def meta_rows(config: JobConfig, train_y: np.ndarray) -> np.ndarray | None:
    """Training rows of the meta-trained backbone: its share, or ``None`` (the whole split)."""
    return share_rows(config, META_CONSUMER, None, train_y)


def _external(config: JobConfig, spec, load) -> Provenance:
    ds = load(spec.dataset, f"models.external ({spec.name}).dataset")
    via = (f"a deliberate overlap set in the config (models.external {spec.name}: samples_from "
           f"{spec.samples_from})" if spec.samples_from else "")
    return Provenance(pool_key(config, spec.dataset), external_rows(config, spec, ds.train_y),
                      shift_text(spec.shift), via=via)


def _meta(config: JobConfig, tasks: Sequence[Task], load) -> dict[str, tuple[Provenance, ...]]:
    from transfergraph.adapters.meta.sources import BACKBONE_SOURCE, subsample_per_class

    ds = load(None, "data")
    rows = meta_rows(config, ds.train_y)
    rows = np.arange(len(ds.train_y)) if rows is None else rows
    out = {BACKBONE_SOURCE: (Provenance(pool_key(config, None), rows),)}
    backbone = Provenance(pool_key(config, None), rows, via=f"its meta-trained backbone {BACKBONE_SOURCE!r}")
    shots, seed = config.models.meta.context_shots, stable_seed(config.seed, "adapt")
    for t in tasks:
        parts = [backbone]
        if t.provenance is not None:
            keep = np.arange(len(t.labels)) if shots is None else subsample_per_class(t.labels, shots, seed, t.name)
            parts.append(t.provenance.take(keep, via="adaptation set"))
        out[f"cnaps@{t.name}"] = tuple(parts)
    return out


def model_provenances(config: JobConfig, tasks: Sequence[Task], load) -> dict[str, tuple[Provenance, ...]]:
    """{source name: provenance parts} for every model the suite trains (none for checkpoints).

    ``load(dataset, key)`` returns the dataset split the suite trains on (``transfergraph.jobs.suite._dataset``).
    """
    out: dict[str, tuple[Provenance, ...]] = {}
    if config.models.per_task:
        out.update({f"{t.name}.cnn": (t.provenance,) for t in tasks if t.provenance is not None})
    for spec in config.models.external:
        if not spec.checkpoint:
            out[spec.name] = (_external(config, spec, load),)
    if config.models.meta.enabled and not config.models.meta.checkpoint:
        out.update(_meta(config, tasks, load))
    return out
