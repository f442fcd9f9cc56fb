"""Typed exceptions for transfergraph.

Every error a user can trigger derives from :class:`TransfergraphError`, so callers (and the CLI)
can catch one type. Input problems also derive from :class:`ValueError`, as the metrics' documentation promises for
metrics: ``except ValueError`` keeps working.
"""
from __future__ import annotations

__all__ = [
    "TransfergraphError",
    "InputError",
    "ConfigError",
    "ScoreError",
    "FeatureError",
    "GraphError",
    "InfeasiblePlanError",
    "CacheError",
    "ExecutorError",
    "CheckpointError",
]


class TransfergraphError(Exception):
    """Base class of every error raised on purpose by transfergraph.

    ``key`` (keyword only, default None) names the configuration key the error is about when the
    code that raises it knows it (e.g. ``"data.labels"``), so the caller that reports it against a
    config file does not have to guess from the message. It survives pickling (Ray workers).
    """

    key: str | None = None

    def __init__(self, *args: object, key: str | None = None) -> None:
        super().__init__(*args)
        if key is not None:
            self.key = key


class InputError(TransfergraphError, ValueError):
    """An argument has the wrong type, shape or value. The message names the argument,
    what was expected and what was given."""


class ConfigError(TransfergraphError, ValueError):
    """A configuration file or option is invalid. The message names the key path."""


class ScoreError(TransfergraphError, RuntimeError):
    """Scoring a (source, target) pair failed (recorded in that pair's ``error``; the run goes on)."""


class FeatureError(ScoreError):
    """Features could not be captured for a feature-based metric (no ``nn.Linear`` head, or the
    ``feature_layer`` named no module)."""


class GraphError(TransfergraphError, ValueError):
    """A transferability graph lacks what a decision needs (unknown node, no edges, ...)."""


class InfeasiblePlanError(TransfergraphError, ValueError):
    """A decision has no feasible solution under the given constraints."""


class CacheError(TransfergraphError, RuntimeError):
    """A score cache cannot be read or written."""


class ExecutorError(TransfergraphError, RuntimeError):
    """An executor cannot start or reach its workers (e.g. a Ray cluster address)."""


class CheckpointError(TransfergraphError, ValueError):
    """A model checkpoint is unreadable, truncated or built for another architecture."""
