"""The suite's child seeds: one formula for the data, shifts and models the job builds."""
from __future__ import annotations

from transfergraph.planner.common.seeds import derive_seed

__all__ = ["stable_seed"]


def stable_seed(seed: int, *parts: object) -> int:
    """The suite's 31-bit child seed of ``seed`` for ``parts``: :func:`transfergraph.planner.common.seeds.derive_seed`
    with its ``"crc32"`` scheme (the suite's data and models depend on it: kept as it was)."""
    return derive_seed(seed, *parts, scheme="crc32")
