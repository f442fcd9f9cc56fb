"""Scoring: every (source, target, metric) transferability score as one table.

``from transfergraph.planner.scoring import score``. Modules: :mod:`.engine` (``score``), :mod:`.pools` (content
dedupe), :mod:`.jobs` (the per-(source, pool) work unit), :mod:`.payload` (model transport),
:mod:`.table` (table assembly and normalization), :mod:`.validate` (argument checks).
"""
from transfergraph.planner.scoring.engine import SCORING_VERSION, derive_seed, pair_key, score
from transfergraph.planner.scoring.table import COLUMNS

__all__ = ["score", "derive_seed", "pair_key", "SCORING_VERSION", "COLUMNS"]
