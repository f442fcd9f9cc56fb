"""The forward-output store: each model's logits and features on each dataset, computed once.

Layout: ``DIR/forward.v{FORMAT_VERSION}/<key>/<shard>.{ids,logits,features}.npy`` plus
``<shard>.json``, where ``key`` digests the model fingerprint, the pool identity (the dataset's
identity for lazy data; the per-sample shape and dtype for in-memory data, whose rows are then
named by their content digests) and the scoring version. A shard holds the outputs of one forward
pass over some rows: ``ids`` (the rows' ids, int64 dataset rows or 16-byte content digests),
``logits`` (n, Z) and, when captured, ``features`` (n, d). Every file is written to a temporary name,
fsynced and renamed, the ``.json`` last: a shard without its ``.json`` is invisible, so a run killed
mid-write never serves partial outputs. Readers memory-map the arrays and copy out only the rows they
need. Several processes may add shards to one key concurrently (each shard has a unique name).

Reuse: a later call needing rows already stored (another metric, another target cut from the same
data, a re-run) reads them instead of forwarding the model; only the missing rows are forwarded.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import CacheError
from .fingerprint import combine

__all__ = ["ForwardStore", "FORMAT_VERSION", "store_key"]

FORMAT_VERSION = 1


def store_key(model_fp: str, pool_identity: str, version: str) -> str:
    """Directory name of one (model, dataset) entry."""
    return combine("forward", FORMAT_VERSION, version, model_fp, pool_identity)


def _save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class ForwardStore:
    """Forward outputs of one (model, dataset) pair under ``directory / key``.

    Parameters
    ----------
    directory : str or os.PathLike
        Root of the store (created if missing).
    key : str
        From :func:`store_key`.

    Raises
    ------
    CacheError
        When the directory cannot be created or a shard cannot be written.
    """

    def __init__(self, directory: str | os.PathLike, key: str) -> None:
        self.path = Path(directory) / f"forward.v{FORMAT_VERSION}" / key
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"forward-output store {str(self.path)!r} cannot be created: {exc}") from exc

    def _shards(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for meta in sorted(self.path.glob("*.json")):
            try:
                out.append((meta.stem, json.loads(meta.read_text())))
            except (OSError, ValueError):
                continue  # unreadable marker: the shard is ignored (and recomputed)
        return out

    def lookup(self, ids: np.ndarray, want_features: bool) -> tuple[np.ndarray, dict[str, Any]]:
        """Which of ``ids`` are stored, and their outputs.

        Returns ``(found, outputs)``: ``found`` a bool mask over ``ids``; ``outputs`` has "logits"
        (rows for the found ids, in the order of ``ids[found]``), "features" (same rows, or None) and
        "feature_error" (str or None). With ``want_features``, rows count as found only in shards
        holding features (or a recorded reason why the model has none).
        """
        found = np.zeros(len(ids), dtype=bool)
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        feature_error = None
        for stem, meta in self._shards():
            if want_features and not meta.get("features") and not meta.get("feature_error"):
                continue
            try:
                sid = np.load(self.path / f"{stem}.ids.npy", mmap_mode="r")
                order = np.argsort(sid, kind="stable")
                sorted_ids = sid[order]
                pos = np.searchsorted(sorted_ids, ids)
                pos = np.minimum(pos, len(sorted_ids) - 1)
                hit = (~found) & (sorted_ids[pos] == ids)
                if not hit.any():
                    continue
                rows = order[pos[hit]]
                logits = np.load(self.path / f"{stem}.logits.npy", mmap_mode="r")
                feats = None
                if want_features and meta.get("features"):
                    feats = np.array(np.load(self.path / f"{stem}.features.npy", mmap_mode="r")[rows])
                parts.append((np.flatnonzero(hit), np.array(logits[rows]), feats))
            except (OSError, ValueError):
                continue
            if want_features and meta.get("feature_error"):
                feature_error = meta["feature_error"]
            found |= hit
        return found, _assemble(parts, int(found.sum()), ids, found, feature_error)

    def write(self, ids: np.ndarray, logits: np.ndarray, features: np.ndarray | None,
              feature_error: str | None) -> None:
        """Add one shard (atomic; see the module docstring)."""
        stem = uuid.uuid4().hex
        try:
            _save_npy(self.path / f"{stem}.ids.npy", ids)
            _save_npy(self.path / f"{stem}.logits.npy", logits)
            if features is not None:
                _save_npy(self.path / f"{stem}.features.npy", features)
            meta = {"n": int(len(ids)), "features": features is not None, "feature_error": feature_error}
            tmp = self.path / f".{stem}.json.tmp"
            with open(tmp, "w") as fh:
                json.dump(meta, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / f"{stem}.json")
        except OSError as exc:
            raise CacheError(f"cannot write to forward-output store {str(self.path)!r}: {exc}") from exc


def _assemble(parts: list, n_found: int, ids: np.ndarray, found: np.ndarray,
              feature_error: str | None) -> dict[str, Any]:
    """Outputs of the found ids, ordered as ``ids[found]``."""
    if not parts:
        return {"logits": None, "features": None, "feature_error": feature_error}
    slot = np.cumsum(found) - 1  # position of each found id among the found ones
    logits = np.empty((n_found,) + parts[0][1].shape[1:], dtype=parts[0][1].dtype)
    with_feats = all(p[2] is not None for p in parts)
    feats = np.empty((n_found,) + parts[0][2].shape[1:], dtype=parts[0][2].dtype) if with_feats else None
    for where, lg, ft in parts:
        logits[slot[where]] = lg
        if feats is not None:
            feats[slot[where]] = ft
    return {"logits": logits, "features": feats, "feature_error": feature_error}
