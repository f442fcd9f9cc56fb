"""One (source, target, metric) result of ``score()``: :class:`ScoreRow`.

Rows are built in two places, both through the constructors here: a job's scored or failed pairs
(:mod:`.jobs`) and the pairs read back from the score cache (:mod:`.planning`). The engine then adds
the target's description (:meth:`ScoreRow.with_target`) and the table is built from
:meth:`ScoreRow.as_dict` (:mod:`.table`); the cache stores :meth:`ScoreRow.cache_record`.

A new kind of row is a new ``status`` (add it to :data:`STATUSES`) with its own constructor; a
metric's own columns travel in ``extra`` (the table adds them after its documented columns).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from transfergraph.planner.common.exceptions import InputError

__all__ = ["ScoreRow", "STATUSES"]

#: The values of the ``status`` column: "ok" (a score, possibly with a ``flag``) or "failed" (NaN
#: score and an ``error`` text).
STATUSES = ("ok", "failed")


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One (source, target, metric) row of the score table.

    Build rows with :meth:`ok` or :meth:`failed`. Fields are the table's columns (``normalized`` is
    computed per target by the table, not stored here), plus the cache ``key`` of a computed pair
    and the metric's ``extra`` columns (e.g. the TTA terms). A row has ``__slots__`` (no instance
    dict: ~0.26 KB a row with its float and empty ``extra`` instead of ~0.31 KB; a run's driver holds
    every row until the table is built).

    Attributes
    ----------
    source, target, metric : str
    status : {"ok", "failed"}
    score : float
        NaN for failed rows.
    error : str
        ``""`` for ok rows; ``"Type: message"`` (one line, at most 500 characters) for failed rows.
    flag : str
        ``""`` inside the metric's regime of validity, else the short reason.
    seconds : float
        The metric's own time plus its share of the job's forward time (the time of the run that
        computed it, for cached rows).
    metric_version : str
    cached : bool
        Read back from the score cache instead of computed in this run.
    key : str or None
        Cache key of the pair (None without a cache, and for rows read back).
    extra : mapping of str to value
        The metric's own columns (``Metric.columns``); empty for the other metrics.
    source_task, n_samples, n_classes, label_entropy
        The source's own task and the target's description, set by :meth:`with_target`.
    """

    source: str
    target: str
    metric: str
    status: str
    score: float = math.nan
    error: str = ""
    flag: str = ""
    seconds: float = 0.0
    metric_version: str = ""
    cached: bool = False
    key: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    source_task: str = ""
    n_samples: int | None = None
    n_classes: int | None = None
    label_entropy: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InputError(f"status of ScoreRow must be one of {list(STATUSES)}; got {self.status!r}.")

    @classmethod
    def ok(cls, source: str, target: str, metric: str, *, score: float, flag: str = "", seconds: float = 0.0,
           metric_version: str = "", key: str | None = None, cached: bool = False,
           extra: Mapping[str, Any] | None = None) -> "ScoreRow":
        """A scored pair (``flag`` says when the score is outside the metric's regime of validity)."""
        return cls(source, target, metric, "ok", score=score, flag=flag, seconds=seconds,
                   metric_version=metric_version, key=key, cached=cached, extra=dict(extra or {}))

    @classmethod
    def failed(cls, source: str, target: str, metric: str, *, error: str, seconds: float = 0.0,
               metric_version: str = "", key: str | None = None) -> "ScoreRow":
        """A pair that could not be scored: NaN score and the ``error`` text."""
        return cls(source, target, metric, "failed", error=error, seconds=seconds,
                   metric_version=metric_version, key=key)

    def with_target(self, *, source_task: str, n_samples: int, n_classes: int, label_entropy: float) -> "ScoreRow":
        """This row with its source's task and its target's sample count, class count and H(Y)."""
        return replace(self, source_task=source_task, n_samples=n_samples, n_classes=n_classes,
                       label_entropy=label_entropy)

    def as_dict(self) -> dict[str, Any]:
        """The row's table columns (all but ``normalized``), then its ``extra`` columns."""
        return {
            "source": self.source, "source_task": self.source_task, "target": self.target, "metric": self.metric,
            "score": self.score, "n_samples": self.n_samples, "n_classes": self.n_classes, "status": self.status,
            "error": self.error, "flag": self.flag, "seconds": self.seconds, "label_entropy": self.label_entropy,
            "metric_version": self.metric_version, "cached": self.cached, **self.extra,
        }

    def cache_record(self) -> dict[str, Any]:
        """What the score cache stores for this pair (the cache reads back ``score``, ``flag``,
        ``seconds``, ``metric_version`` and the ``extra`` columns of ``ok`` records by ``key``)."""
        record = {
            "source": self.source, "target": self.target, "metric": self.metric,
            "metric_version": self.metric_version, "key": self.key, "score": self.score, "status": self.status,
            "error": self.error, "seconds": self.seconds,
        }
        if self.status == "ok":
            record["flag"] = self.flag
            record.update(self.extra)
        record["cached"] = self.cached
        return record
