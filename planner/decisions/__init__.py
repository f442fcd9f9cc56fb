"""Decisions on a transferability graph: sources, source sets, task groups, curricula.

Each public decision function is a thin wrapper over a ``solve_*`` function that returns a :class:`Decision`
(solution, objective value, proof of optimality or bound and gap, method, seconds). :func:`build_plan`
runs them all and returns a typed :class:`Plan` (``Plan.to_json()`` is ``plan.json``); ``explain_plan``
and ``plot_*`` render it. ``make_plan`` is its deprecated dict-returning predecessor (not in ``__all__``).
Formulations and solvers: each module's docstring; measured limits: ``benchmarks/RESULTS.md`` (section 3).
"""
from transfergraph.planner.decisions._result import Decision, Status
from transfergraph.planner.decisions.curriculum import CURRICULUM_OBJECTIVES, curriculum_value, order_curriculum, solve_curriculum
from transfergraph.planner.decisions.grouping import affinity_matrix, default_n_groups, group_tasks, solve_grouping
from transfergraph.planner.decisions.options import PlanOptions
from transfergraph.planner.decisions.plan import PLAN_KEYS, build_plan, make_plan
from transfergraph.planner.decisions.plan_types import Plan
from transfergraph.planner.decisions.sources import default_budget, select_source_set, select_sources, solve_source_set

__all__ = [
    "Decision",
    "select_sources",
    "select_source_set",
    "group_tasks",
    "order_curriculum",
    "solve_source_set",
    "solve_grouping",
    "solve_curriculum",
    "curriculum_value",
    "affinity_matrix",
    "default_budget",
    "default_n_groups",
    "CURRICULUM_OBJECTIVES",
    "build_plan",
    "Plan",
    "PlanOptions",
    "Status",
    "PLAN_KEYS",
]
