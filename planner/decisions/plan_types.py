"""``Plan``: the typed form of ``plan.json`` (decisions, warnings, settings, evidence).

:func:`transfergraph.planner.decisions.build_plan` returns a :class:`Plan`; :meth:`Plan.to_json` gives exactly the
``plan.json`` dict (keys :data:`PLAN_KEYS`, then ``evidence`` and any extra keys other modules add)
and :meth:`Plan.from_json` reads one back, so report code works on attributes, not string keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.decisions._result import Decision, Status
from transfergraph.planner.decisions.options import PlanOptions

__all__ = ["Plan", "PLAN_KEYS", "DECISION_NAMES"]

#: keys every plan.json has (the documented ones plus "settings")
PLAN_KEYS = ("metric", "sources", "source_models", "source_set", "groups", "curriculum", "objectives", "warnings",
             "settings")
#: the decisions a plan holds, in report order
DECISION_NAMES = ("source_set", "groups", "curriculum")


@dataclass
class Plan:
    """Every decision on one transfer graph.

    Attributes
    ----------
    metric : str
        Metric behind the edge weights.
    sources : dict
        ``{target: [[source, weight], ...]}``, best first (``top_k`` per target).
    source_models : dict
        ``{target: {source node: model}}`` for recommended edges whose node stands for several models.
    source_set : dict
        ``{"chosen": [...], "assignment": {target: source}, "budget": int}``.
    groups : list of list of str
    curriculum : list of str
    decisions : dict of str to Decision
        ``source_set``, ``groups`` and ``curriculum``: objective value, :class:`Status`, bound, gap,
        method, seconds and solver facts (``plan.json["objectives"]``).
    warnings : list of str
        Plain sentences naming the tasks involved.
    settings : dict
        The :class:`PlanOptions` used (defaults filled in) plus graph counts.
    evidence : dict or None
        Facts the warnings rest on, when a module computed them (written only when set).
    extras : dict
        Any other plan.json keys, kept through a round trip.
    """

    metric: str
    sources: dict[str, list[list[Any]]]
    source_models: dict[str, dict[str, str]]
    source_set: dict[str, Any]
    groups: list[list[str]]
    curriculum: list[str]
    decisions: dict[str, Decision]
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def options(self) -> PlanOptions:
        """The options that produced this plan (defaulted budget / group count read back as None)."""
        return PlanOptions.from_json({"metric": self.metric, **self.settings})

    def decision(self, name: str) -> Decision:
        """The :class:`Decision` called ``name`` (``source_set``, ``groups`` or ``curriculum``)."""
        if name not in self.decisions:
            raise InputError(f"name passed to Plan.decision must be one of {sorted(self.decisions)}; got {name!r}.")
        return self.decisions[name]

    def not_proven(self) -> list[Decision]:
        """Decisions whose status is not :attr:`Status.OPTIMAL`."""
        return [d for d in self.decisions.values() if d.status is not Status.OPTIMAL]

    def to_json(self) -> dict[str, Any]:
        """The ``plan.json`` dict: :data:`PLAN_KEYS`, then ``evidence`` (when set), then the extras."""
        out: dict[str, Any] = {
            "metric": self.metric,
            "sources": self.sources,
            "source_models": self.source_models,
            "source_set": self.source_set,
            "groups": self.groups,
            "curriculum": self.curriculum,
            "objectives": {name: d.to_json() for name, d in self.decisions.items()},
            "warnings": list(self.warnings),
            "settings": self.settings,
        }
        if self.evidence is not None:
            out["evidence"] = self.evidence
        out.update({k: v for k, v in self.extras.items() if k not in out})
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Plan":
        """Read a ``plan.json`` dict back (as written by :meth:`to_json`).

        Raises
        ------
        transfergraph.planner.common.exceptions.InputError
            ``data`` is not a mapping or lacks one of :data:`PLAN_KEYS`.
        """
        if isinstance(data, Plan):
            return data
        if not isinstance(data, Mapping):
            raise InputError(f"data passed to Plan.from_json must be a plan.json dict; got {type(data).__name__}.")
        missing = [k for k in PLAN_KEYS if k not in data]
        if missing:
            raise InputError(f"data passed to Plan.from_json lacks the plan.json keys {missing}.")
        solutions = {"source_set": data["source_set"], "groups": data["groups"], "curriculum": data["curriculum"]}
        decisions = {name: Decision.from_json(name, obj, solutions.get(name))
                     for name, obj in data["objectives"].items()}
        known = set(PLAN_KEYS) | {"evidence"}
        return cls(
            metric=data["metric"], sources=data["sources"], source_models=data["source_models"],
            source_set=data["source_set"], groups=data["groups"], curriculum=data["curriculum"],
            decisions=decisions, warnings=list(data["warnings"]), settings=dict(data["settings"]),
            evidence=data.get("evidence"), extras={k: v for k, v in data.items() if k not in known},
        )
