"""Scoring: every (source, target, metric) transferability score as one table.

``from planner.scoring import score``. Modules: :mod:`.engine` (``score``), :mod:`.pools` (content
dedupe), :mod:`.jobs` (the per-(source, pool) work unit), :mod:`.payload` (model transport),
:mod:`.table` (table assembly and normalization), :mod:`.validate` (argument checks).
"""
from .engine import SCORING_VERSION, derive_seed, pair_key, score
from .table import COLUMNS

__all__ = ["score", "derive_seed", "pair_key", "SCORING_VERSION", "COLUMNS"]
