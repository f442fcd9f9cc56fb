"""Stored forward outputs of a list of ids, read back in row blocks on demand.

:meth:`transfergraph.planner.storage.output_store.ForwardStore.locate` finds which shard holds each
id; a :class:`StoredRows` then reads any positions of that list (a block of a target's rows, or all of
them) with plain file reads, so a scoring job that streams its metrics holds one block of logits or
features at a time, plus 12 bytes per id for the locations.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from transfergraph.planner.common.exceptions import CacheError
from transfergraph.planner.storage.output_store import _read_rows

__all__ = ["StoredRows"]


class StoredRows:
    """Reader of the stored outputs of ``ids[found]`` (positions 0 .. n-1 in that order).

    ``kinds`` are the arrays every row has ("logits", plus "features" when each shard holds them);
    ``feature_error`` the recorded reason a model has no features (or None).
    """

    def __init__(self, path: Path, parts: list, found: np.ndarray, feature_error: str | None) -> None:
        self.path, self.feature_error = Path(path), feature_error
        self.n = int(found.sum())
        slot = np.cumsum(found) - 1
        self.shard = np.zeros(self.n, dtype=np.int32)
        self.row = np.zeros(self.n, dtype=np.int64)
        self.stems = []
        for s, (stem, where, rows, _) in enumerate(parts):
            self.shard[slot[where]] = s
            self.row[slot[where]] = rows
            self.stems.append(stem)
        self.kinds = ("logits", "features") if parts and all(p[3] for p in parts) else ("logits",)

    def read(self, kind: str, positions: np.ndarray | None = None) -> np.ndarray:
        """Rows ``positions`` (default: all, in order) of ``kind``, shape (len(positions), width).

        Raises
        ------
        CacheError
            When ``kind`` is not stored for every row, or a shard cannot be read.
        """
        if kind not in self.kinds:
            raise CacheError(f"forward-output store {str(self.path)!r} holds no {kind} for these rows")
        positions = np.arange(self.n) if positions is None else np.asarray(positions, dtype=np.int64)
        shard, row = self.shard[positions], self.row[positions]
        out = None
        try:
            for s in np.unique(shard):
                mask = shard == s
                dest = np.flatnonzero(mask) if len(self.stems) > 1 else np.arange(len(positions))
                rows = row[mask] if len(self.stems) > 1 else row
                out = _read_rows(self.path / f"{self.stems[s]}.{kind}.npy", rows, dest, out, len(positions))
        except (OSError, ValueError) as exc:
            raise CacheError(f"forward-output store {str(self.path)!r} cannot be read: {exc}") from exc
        if out is None:
            raise CacheError(f"forward-output store {str(self.path)!r}: no rows to read")
        return out
