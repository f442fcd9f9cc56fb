"""Where a task's samples and a model's training data come from: a base pool and row indices in it.

A :class:`Provenance` says "these rows of base pool ``dataset``, after shift ``shift``". Two sets of
samples with provenance in the same pool share a sample when they share a base row, whatever
shift was applied to either: a blurred or noisy copy of an image is still that image. This is
what the leakage check (:mod:`transfergraph.planner.decisions.overlap`) intersects; byte matching of the
samples is its fallback when no provenance is known.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = ["Provenance", "as_provenance_parts"]


@dataclass(frozen=True)
class Provenance:
    """Rows of a base pool, possibly shifted.

    Parameters
    ----------
    dataset : str
        Identity of the base pool, e.g. ``"digits:train"``; rows of different pools never match.
    rows : array-like of int, shape (n,)
        Base-pool index of each sample, in the order of the samples (``rows[i]`` is sample ``i``).
    shift : str
        Canonical description of the shift applied to the base images (``""``: none).
    via : str
        How a model came to see these rows, for messages (e.g. ``"meta-trained backbone 'b'"``).

    Raises
    ------
    transfergraph.planner.common.exceptions.InputError
        ``dataset`` is not a non-empty string or ``rows`` is not a 1-D array of integers.
    """

    dataset: str
    rows: np.ndarray
    shift: str = ""
    via: str = ""
    _set: frozenset = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise InputError(f"dataset of Provenance must be a non-empty string; got {self.dataset!r}.")
        rows = np.asarray(self.rows)
        if rows.ndim != 1 or (len(rows) and not np.issubdtype(rows.dtype, np.integer)):
            raise InputError(f"rows of Provenance must be a 1-D integer array; got dtype {rows.dtype}, "
                             f"shape {rows.shape}.")
        object.__setattr__(self, "rows", rows.astype(np.int64))
        object.__setattr__(self, "_set", frozenset(rows.tolist()))

    def shared(self, other: "Provenance") -> int:
        """Number of distinct base rows of ``other`` that are also rows of this one (0 across pools)."""
        if self.dataset != other.dataset:
            return 0
        return len(self._set & other._set)

    @property
    def n_distinct(self) -> int:
        return len(self._set)

    def take(self, keep: Any, via: str = "") -> "Provenance":
        """The provenance of samples ``keep`` (indices into the samples) of this one."""
        return Provenance(self.dataset, self.rows[np.asarray(keep, dtype=np.int64)], self.shift, via or self.via)


def as_provenance_parts(value: Any, owner: str) -> tuple[Provenance, ...]:
    """``None`` -> ``()``; a :class:`Provenance` -> a 1-tuple; an iterable of them -> a tuple."""
    if value is None:
        return ()
    if isinstance(value, Provenance):
        return (value,)
    parts = tuple(value) if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) else None
    if parts is None or not all(isinstance(p, Provenance) for p in parts):
        raise InputError(f"provenance of {owner} must be a transfergraph.planner.inputs.provenance.Provenance, a sequence of them or "
                         f"None; got {type(value).__name__}.")
    return parts
