"""Scoring: every (source, target, metric) transferability score as one table.

``from transfergraph.planner.scoring import score``. Modules: :mod:`.engine` (``score``), :mod:`.pools` (content
dedupe), :mod:`.planning` (cached rows and the jobs still to run), :mod:`.jobs` (the per-(source, pool)
work unit), :mod:`.rows` (:class:`ScoreRow`, one result), :mod:`.keys` (cache keys, seeds, shared-object
keys), :mod:`.payload` (model transport), :mod:`.table` (table assembly and normalization),
:mod:`.validate` (argument checks).
"""
from transfergraph.planner.scoring.engine import SCORING_VERSION, metric_seed, pair_key, score
from transfergraph.planner.scoring.rows import ScoreRow
from transfergraph.planner.scoring.table import COLUMNS

__all__ = ["score", "metric_seed", "pair_key", "SCORING_VERSION", "COLUMNS", "ScoreRow"]
