"""Keys of scoring: the cache key of a (model, data, metric, seed) pair, the per-target seed, and the
typed keys under which a job finds its shared objects (the source's model payload, the pool array).

A leaf module (nothing else of :mod:`transfergraph.planner.scoring` is imported here), so the engine,
the job builder and the jobs all read :data:`SCORING_VERSION` from one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transfergraph.planner.common.fingerprint import combine
from transfergraph.planner.common.seeds import derive_seed as _derive

__all__ = ["SCORING_VERSION", "metric_seed", "pair_key", "SourceKey", "PoolKey"]

#: Bumped whenever what a score means changes (forward semantics, log-softmax precision, ...):
#: part of every cache key, so older cached pairs are not reused.
SCORING_VERSION = "2"  # 2: conv models on the CPU run channels-last (forward.py)


def metric_seed(seed: int, source: str, target: str) -> int:
    """Seed of a seeded metric for one pair: :func:`transfergraph.planner.common.seeds.derive_seed` with its
    ``"digest32"`` scheme (a 32-bit digest of (seed, source name, target name); cached scores depend on it)."""
    return _derive(seed, source, target, scheme="digest32")


def pair_key(model_fp: str, data_fp: str, metric: Any, seed: int | None) -> str:
    """Cache key of one (model, target data, metric) triple."""
    return combine(
        "pair", SCORING_VERSION, model_fp, data_fp, metric.name, getattr(metric, "version", ""),
        "-" if seed is None else seed,
    )


@dataclass(frozen=True, order=True)
class SourceKey:
    """Shared-object key of a source's :class:`~transfergraph.planner.scoring.payload.ModelPayload`.

    ``index`` is the source's position in the ``sources`` given to ``score()``.
    """

    index: int

    def __str__(self) -> str:
        return f"source:{self.index}"


@dataclass(frozen=True, order=True)
class PoolKey:
    """Shared-object key of a sample pool's data (an array, or a lazy dataset's reader).

    ``index`` is the pool's position in the list of :func:`~transfergraph.planner.scoring.pools.build_pools`.
    """

    index: int

    def __str__(self) -> str:
        return f"pool:{self.index}"
