"""A durable, append-only score cache: one checksummed JSON line per scored pair.

Layout: ``DIR/scores.v{FORMAT_VERSION}.jsonl``. Each line is ``<crc32 hex> <json>\\n`` where the
JSON holds the pair's cache ``key`` (a digest of the model, the target data, the metric name and
version, and the metric seed) and its row. Rows are appended with ``flush`` + ``fsync`` as they
arrive, under an exclusive ``flock`` of ``DIR/scores.v{FORMAT_VERSION}.lock``, so a run killed at any moment loses at most the line being
written. On open, every line is verified; a truncated or corrupt line is dropped (with a
:class:`CacheWarning`) and the file rewritten without it (atomically), never trusted. Only ``ok``
rows are served back; failed pairs are recomputed. A new cache format gets a new file name, and a
new metric version a new key, so stale entries are simply never matched.
"""
from __future__ import annotations

import fcntl
import json
import os
import warnings
import zlib
from pathlib import Path
from typing import Any, Iterable

from transfergraph.planner.common.exceptions import CacheError
from transfergraph.planner.common.io import atomic_write_bytes

__all__ = ["ScoreCache", "CacheWarning", "FORMAT_VERSION"]

FORMAT_VERSION = 1


class CacheWarning(UserWarning):
    """A cache file had unreadable lines, which were discarded."""


def _encode(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def _decode(line: bytes) -> dict[str, Any] | None:
    """The record of one complete line (without its newline), or None when it fails its checksum."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        record = json.loads(body)
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("key"), str) else None


class ScoreCache:
    """Append-only cache of scored pairs in ``directory``.

    Parameters
    ----------
    directory : str or os.PathLike
        Created if missing.

    Raises
    ------
    CacheError
        When the directory or file cannot be created, read or written.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.path = self.directory / f"scores.v{FORMAT_VERSION}.jsonl"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab+")
            self._lock_fh = open(self.directory / f"scores.v{FORMAT_VERSION}.lock", "ab")
        except OSError as exc:
            raise CacheError(f"cache directory {str(self.directory)!r} cannot be used: {exc}") from exc
        # ok records by key, each as its line: a decoded record (a dict of ~10 entries) is ~1.3 KB,
        # and a run's driver holds the index of every pair ever cached there while it scores
        self._ok: dict[str, bytes] = {}
        self.discarded = 0
        self._load()

    def _load(self) -> None:
        with self._locked():
            self._fh.seek(0)
            data = self._fh.read()
            lines = data.split(b"\n")
            tail = lines.pop()  # b"" when the file ends with a newline; else a truncated line
            good, bad = [], 0 if not tail else 1
            for line in lines:
                record = _decode(line)
                if record is None:
                    bad += 1
                    continue
                good.append(line)
                if record.get("status") == "ok":
                    self._ok[record["key"]] = line  # its checked line (~0.25 KB), decoded again by get()
            if bad:
                self.discarded = bad
                self._rewrite(good)
                warnings.warn(
                    f"score cache {str(self.path)!r}: discarded {bad} truncated or corrupt line(s) "
                    f"(checksum or format mismatch); {len(good)} intact line(s) kept. The affected "
                    "pairs will be recomputed.",
                    CacheWarning,
                    stacklevel=3,
                )

    def _rewrite(self, lines: list[bytes]) -> None:
        atomic_write_bytes(self.path, b"".join(line + b"\n" for line in lines), sync_dir=True)
        self._fh.close()
        self._fh = open(self.path, "ab+")

    def _locked(self) -> "_Lock":
        return _Lock(self._lock_fh)

    def __len__(self) -> int:
        return len(self._ok)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored ``ok`` record for ``key`` (a new dict), or None."""
        line = self._ok.get(key)
        return None if line is None else json.loads(line[9:])

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append ``records`` (each with a ``key``) durably: one write, flush, fsync."""
        records = [r for r in records if r.get("key")]
        lines = [_encode(r) for r in records]
        blob = b"".join(lines)
        if not blob:
            return
        try:
            with self._locked():
                self._fh.seek(0, os.SEEK_END)
                self._fh.write(blob)
                self._fh.flush()
                os.fsync(self._fh.fileno())
        except OSError as exc:
            raise CacheError(f"cannot append to score cache {str(self.path)!r}: {exc}") from exc
        for r, line in zip(records, lines):
            if r.get("status") == "ok":
                self._ok[r["key"]] = line

    def close(self) -> None:
        self._fh.close()
        self._lock_fh.close()

    def __enter__(self) -> "ScoreCache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Lock:
    """``flock(LOCK_EX)`` on an open file for the duration of a ``with`` block."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh

    def __enter__(self) -> None:
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX)

    def __exit__(self, *exc: Any) -> None:
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
