"""The forward-output store: each model's logits and features on each dataset, computed once.

Layout: ``DIR/forward.v{FORMAT_VERSION}/<key>/<shard>.{ids,logits,features}.npy`` plus
``<shard>.json``, where ``key`` digests the model fingerprint, the pool identity (the dataset's
identity for lazy data; the per-sample shape and dtype for in-memory data, whose rows are then
named by their content digests) and the scoring version. A shard holds the outputs of one forward
pass over some rows: ``ids`` (the rows' ids, int64 dataset rows or 16-byte content digests),
``logits`` (n, Z) and, when captured, ``features`` (n, d). Every file is written to a temporary name,
fsynced and renamed, the ``.json`` last: a shard without its ``.json`` is invisible, so a run killed
mid-write never serves partial outputs. A shard is written batch by batch (:class:`ShardWriter`: each
forward batch is appended to the files as it comes), and readers read only the rows they need, in
bounded chunks, straight into the returned arrays (no memory map: touched pages of a map would count
in the reader's resident memory), so neither side holds more than the outputs it returns plus one
chunk. Several processes may add shards to one key concurrently (each shard has a unique name).

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

from transfergraph.planner.common.exceptions import CacheError
from transfergraph.planner.common.fingerprint import combine
from transfergraph.planner.common.io import atomic_write_text, atomic_write_with, commit_file
from transfergraph.planner.storage.stored_rows import _CHUNK_BYTES, StoredRows, read_npy_rows as _read_rows  # noqa: F401

__all__ = ["ForwardStore", "ShardWriter", "FORMAT_VERSION", "store_key"]


FORMAT_VERSION = 1


def store_key(model_fp: str, pool_identity: str, version: str) -> str:
    """Directory name of one (model, dataset) entry."""
    return combine("forward", FORMAT_VERSION, version, model_fp, pool_identity)


def _save_npy(path: Path, array: np.ndarray) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:  # a handle: np.save(name) would append ".npy" to the temporary name
            np.save(fh, np.ascontiguousarray(array), allow_pickle=False)

    atomic_write_with(path, write)


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
        holding features (or a recorded reason why the model has none). Features are read only with
        ``want_features``.
        """
        found, parts, feature_error = self._locate(ids, want_features)
        return found, self._assemble(parts, found, feature_error)

    def locate(self, ids: np.ndarray, want_features: bool) -> tuple[np.ndarray, "StoredRows"]:
        """Like :meth:`lookup`, but reads no outputs: returns ``(found, rows)``, ``rows`` a
        :class:`~transfergraph.planner.storage.stored_rows.StoredRows` that reads any rows of
        ``ids[found]`` on demand (row blocks of a scoring job that streams its metrics); its whole
        read is bitwise what :meth:`lookup` returns."""
        found, parts, feature_error = self._locate(ids, want_features)
        return found, StoredRows(self.path, parts, found, feature_error)

    def _locate(self, ids: np.ndarray, want_features: bool) -> tuple[np.ndarray, list, str | None]:
        """``(found, parts, feature_error)``: parts are (shard, where in ids, shard rows, features?)."""
        found = np.zeros(len(ids), dtype=bool)
        parts: list[tuple[str, np.ndarray, np.ndarray, bool]] = []  # (shard, where in ids, shard rows, features?)
        feature_error = None
        for stem, meta in self._shards():
            if want_features and not meta.get("features") and not meta.get("feature_error"):
                continue
            try:
                sid = np.load(self.path / f"{stem}.ids.npy")
            except (OSError, ValueError):
                continue
            order = np.argsort(sid, kind="stable")
            sorted_ids = sid[order]
            pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
            hit = (~found) & (sorted_ids[pos] == ids)
            if not hit.any():
                continue
            parts.append((stem, np.flatnonzero(hit), order[pos[hit]], bool(want_features and meta.get("features"))))
            if want_features and meta.get("feature_error"):
                feature_error = meta["feature_error"]
            found |= hit
        return found, parts, feature_error

    def _assemble(self, parts: list, found: np.ndarray, feature_error: str | None) -> dict[str, Any]:
        """Outputs of the found ids, ordered as ``ids[found]``, read shard by shard into one array each."""
        out: dict[str, Any] = {"logits": None, "features": None, "feature_error": feature_error}
        if not parts:
            return out
        slot = np.cumsum(found) - 1  # position of each found id among the found ones
        kinds = ("logits", "features") if all(p[3] for p in parts) else ("logits",)
        try:
            for stem, where, rows, _ in parts:
                for kind in kinds:
                    out[kind] = _read_rows(self.path / f"{stem}.{kind}.npy", rows, slot[where], out[kind],
                                           int(found.sum()))
        except (OSError, ValueError) as exc:
            raise CacheError(f"forward-output store {str(self.path)!r} cannot be read: {exc}") from exc
        return out

    def writer(self, ids: np.ndarray) -> "ShardWriter":
        """A :class:`ShardWriter` for a new shard of the outputs of ``ids`` (in the order they come)."""
        return ShardWriter(self.path, ids)

    def write(self, ids: np.ndarray, logits: np.ndarray, features: np.ndarray | None,
              feature_error: str | None) -> None:
        """Add one shard holding all its rows at once (atomic; see the module docstring)."""
        with self.writer(ids) as shard:
            shard.add(0, logits, features, feature_error)


class ShardWriter:
    """One new shard of a :class:`ForwardStore`, written batch by batch.

    ``add(lo, logits, features, feature_error)`` appends rows ``lo ..`` (consecutive, from 0) to
    temporary files; :meth:`commit` checks that all ``len(ids)`` rows came, renames the files and
    writes the ``.json`` marker last; :meth:`abort` deletes the temporary files. As a context manager
    it commits on success and aborts on an exception. Once ``feature_error`` is set, the shard keeps
    no features (the rows already written are dropped) and records the reason.

    Raises
    ------
    CacheError
        When a file cannot be written, or at commit when rows are missing.
    """

    def __init__(self, path: Path, ids: np.ndarray) -> None:
        self.path, self.ids, self.stem = path, np.asarray(ids), uuid.uuid4().hex
        self.files: dict[str, _NpyAppender] = {}
        self.rows, self.feature_error, self.has_features = 0, None, False

    def add(self, lo: int, logits: np.ndarray, features: np.ndarray | None, feature_error: str | None) -> None:
        if lo != self.rows:
            raise CacheError(f"shard rows must come in order: expected row {self.rows}, got {lo}")
        try:
            self._append("logits", logits)
            if feature_error is not None:
                self.feature_error = feature_error
                if "features" in self.files:
                    self.files.pop("features").abort()
            elif features is not None:
                self.has_features = True
                self._append("features", features)
        except OSError as exc:
            self.abort()
            raise CacheError(f"cannot write to forward-output store {str(self.path)!r}: {exc}") from exc
        self.rows += len(logits)

    def _append(self, kind: str, array: np.ndarray) -> None:
        if kind not in self.files:
            self.files[kind] = _NpyAppender(self.path / f"{self.stem}.{kind}.npy", len(self.ids), array)
        self.files[kind].append(array)

    def commit(self) -> None:
        if self.rows != len(self.ids) or (self.has_features and self.feature_error is None
                                           and self.files["features"].rows != self.rows):
            self.abort()
            raise CacheError(f"shard of {len(self.ids)} rows got {self.rows}: not stored")
        try:
            for appender in self.files.values():
                appender.close()
            _save_npy(self.path / f"{self.stem}.ids.npy", self.ids)
            features = "features" in self.files
            meta = {"n": int(len(self.ids)), "features": features, "feature_error": self.feature_error}
            atomic_write_text(self.path / f"{self.stem}.json", json.dumps(meta))
        except OSError as exc:
            self.abort()
            raise CacheError(f"cannot write to forward-output store {str(self.path)!r}: {exc}") from exc

    def abort(self) -> None:
        for appender in self.files.values():
            appender.abort()
        self.files = {}

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class _NpyAppender:
    """A ``.npy`` file of ``n`` rows shaped like ``first``'s rows, filled by appending row blocks."""

    def __init__(self, path: Path, n: int, first: np.ndarray) -> None:
        self.path, self.n, self.rows = path, n, 0
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        self.shape, self.dtype = (n,) + tuple(first.shape[1:]), first.dtype
        self.fh = open(self.tmp, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(first.dtype), "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_1_0(self.fh, header)

    def append(self, block: np.ndarray) -> None:
        if block.dtype != self.dtype or block.shape[1:] != self.shape[1:] or self.rows + len(block) > self.n:
            raise CacheError(f"batch of shape {block.shape} {block.dtype} does not fit shard array {self.shape} "
                             f"{self.dtype} at row {self.rows}")
        self.fh.write(np.ascontiguousarray(block).data)
        self.rows += len(block)

    def close(self) -> None:
        commit_file(self.tmp, self.path, fh=self.fh)

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)
