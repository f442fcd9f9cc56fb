"""``PlanOptions``: every option of :func:`transfergraph.planner.decisions.build_plan`, checked in one place.

The command line (``transfergraph plan``), the job config (``plan:`` section plus the top-level
``seed``) and library callers all build a :class:`PlanOptions`; ``plan.json["settings"]`` records it
(with the defaults actually used), and :meth:`PlanOptions.from_json` reads it back, so a plan can be
recomputed with exactly the options that produced it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Hashable, Mapping

from transfergraph.planner.common.arguments import check_bool, check_choice, check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.decisions.affinity import AFFINITIES, DEFAULT_GROUPING_AFFINITY
from transfergraph.planner.decisions.curriculum import CURRICULUM_OBJECTIVES, DEFAULT_CURRICULUM_OBJECTIVE
from transfergraph.planner.decisions.source_scope import check_sources_from

__all__ = ["PlanOptions", "CURRICULUM_KINDS"]

#: curriculum objectives ``order_curriculum`` knows (see :data:`transfergraph.planner.decisions.CURRICULUM_OBJECTIVES`)
CURRICULUM_KINDS = tuple(CURRICULUM_OBJECTIVES)


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """Options of a plan (keyword-only; every field has the default ``build_plan`` uses).

    Attributes
    ----------
    metric : str
        Metric whose normalized score is the graph's ``weight`` (recorded in ``plan.json``).
    top_k : int
        Sources listed per target (``plan["sources"]``), >= 1.
    budget : int or None
        Size of the source set; None = ceil(sqrt(number of candidate sources)).
    n_groups : int or None
        Most multitask groups; None = ceil(tasks / 3), raised to fit ``max_group_size``.
    max_group_size : int or None
        Most tasks per group; None = no cap.
    start : str or None
        Task the curriculum must start with.
    centered : bool
        Grouping affinity ``w - median`` (True) or raw ``w`` (False).
    grouping_affinity : str
        One of :data:`~transfergraph.planner.decisions.affinity.AFFINITIES`: how task->task transfer scores
        become co-training affinity before centring: ``"transfer"`` (w(u->t) as scored), ``"mutual"``
        (min of both directions), ``"symmetric"`` (their mean); default
        :data:`~transfergraph.planner.decisions.affinity.DEFAULT_GROUPING_AFFINITY`.
    curriculum_objective : str
        One of :data:`CURRICULUM_KINDS`: ``"tree"`` (which model to start each task from), ``"chain"``,
        ``"cumulative"`` (forward transfer), ``"periphery_core"``, ``"max_dissimilar_path"``,
        ``"final_serves_all"``, ``"dissimilar_chain"`` (one model trained task after task; model forgetting). Default
        ``"dissimilar_chain"``, chosen on the project's curriculum benchmark; what stands behind it (and
        where it failed) is :data:`transfergraph.planner.decisions.trust.CURRICULUM_EVIDENCE`.
    time_limit : float
        Seconds each exact solver may run, > 0.
    seed : int
        Seed of the grouping heuristic, >= 0.
    sources_from : str or tuple of str
        Which nodes may be recommended as sources (ranked sources, source set, and the external models
        the curriculum starts a task from; groups and curriculum still use every task->task edge):
        ``"all"``, ``"external"`` (model nodes),
        ``"tasks"`` (task nodes) or node names (:mod:`transfergraph.planner.decisions.source_scope`).

    Raises
    ------
    transfergraph.planner.common.exceptions.InputError
        A field of the wrong type or out of range; the message names the field.
    """

    metric: str = "leep"
    top_k: int = 3
    budget: int | None = None
    n_groups: int | None = None
    max_group_size: int | None = None
    start: Hashable | None = None
    centered: bool = True
    grouping_affinity: str = DEFAULT_GROUPING_AFFINITY
    curriculum_objective: str = DEFAULT_CURRICULUM_OBJECTIVE
    time_limit: float = 60.0
    seed: int = 0
    sources_from: str | tuple[str, ...] = "all"

    def __post_init__(self) -> None:
        caller = "PlanOptions"
        if not isinstance(self.metric, str) or not self.metric:
            raise InputError(f"metric of {caller}() must be a metric name; got {self.metric!r}.")
        check_scalar(self.top_k, "top_k", int, caller=caller, min_val=1)
        for name in ("budget", "n_groups", "max_group_size"):
            if getattr(self, name) is not None:
                check_scalar(getattr(self, name), name, int, caller=caller, min_val=1)
        check_scalar(self.seed, "seed", int, caller=caller, min_val=0)
        check_bool(self.centered, "centered", caller=caller)
        check_choice(self.grouping_affinity, "grouping_affinity", AFFINITIES, caller=caller)
        check_choice(self.curriculum_objective, "curriculum_objective", CURRICULUM_KINDS, caller=caller)
        t = check_scalar(self.time_limit, "time_limit", float, caller=caller, min_val=0.0,
                         include_boundaries="neither")
        object.__setattr__(self, "time_limit", float(t))
        object.__setattr__(self, "sources_from", check_sources_from(self.sources_from, caller=caller))

    def replace(self, **overrides: Any) -> "PlanOptions":
        """A copy with the given fields replaced; a None override keeps the current value.

        This is how the command line applies its flags over a config: an option the user did not
        give is None and changes nothing.
        """
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise InputError(f"PlanOptions has no option {unknown[0]!r}; options: {self.names()}.")
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def names(cls) -> list[str]:
        """The option names, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    def to_json(self) -> dict[str, Any]:
        """The options as a JSON-ready dict (the keys of :meth:`names`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PlanOptions":
        """Options from :meth:`to_json` or from ``plan.json["settings"]`` (other keys are ignored).

        ``settings`` records the budget and group count a plan used even when they were defaults;
        ``budget_default`` / ``n_groups_default`` say so, and such values are read back as None
        (the default is recomputed for the graph at hand).
        """
        if not isinstance(data, Mapping):
            raise InputError(f"data passed to PlanOptions.from_json must be a mapping; got {type(data).__name__}.")
        values = {k: data[k] for k in cls.names() if k in data}
        for key in ("budget", "n_groups"):
            if data.get(f"{key}_default"):
                values[key] = None
        return cls(**values)
