"""Incumbent, exact solver, bound: the one rule every decision uses to report how good its answer is.

Each decision first runs a heuristic (an incumbent with a value) and a relaxation (an upper bound on
the maximum). When the bound meets the value the incumbent is proven optimal. Otherwise an exact
solver may run, within the instance size and time limit it is documented for: its solution replaces
the incumbent only when strictly better, its bound tightens ours, and the final :class:`Status` says
whether optimality was proven, the solver stopped at its time limit, or no exact solver ran.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from transfergraph.planner.decisions._result import Status, relative_gap

__all__ = ["Exact", "Settled", "settle", "proven"]

#: relative tolerance for "the bound meets the value" and "strictly better"
TOL = 1e-12


@dataclass(frozen=True)
class Exact:
    """What an exact solver returned: a solution (or None), whether it proved optimality, its bound."""

    solution: Any
    optimal: bool
    bound: float | None
    message: str | None = None  # solver status text, recorded as details["milp_status"]


@dataclass(frozen=True)
class Settled:
    """The decision's final solution, value, bound, relative gap, status and method name."""

    solution: Any
    value: float
    bound: float | None
    gap: float | None
    status: Status
    method: str
    details: dict[str, Any] = field(default_factory=dict)


def proven(value: float, bound: float | None) -> bool:
    """True when ``bound`` (an upper bound on the maximum) meets ``value`` up to :data:`TOL`."""
    return bound is not None and bound - value <= TOL * max(1.0, abs(bound))


def settle(solution: Any, value: float, bound: float | None, *, method: str,
           value_of: Callable[[Any], float], exact: Callable[[], Exact] | None = None,
           exact_name: str = "milp") -> Settled:
    """Combine a heuristic incumbent with an optional exact solver.

    Parameters
    ----------
    solution, value, bound : the heuristic's solution, its objective value and an upper bound
        on the maximum (None when unknown).
    method : name of the heuristic.
    value_of : objective value of any solution (used to compare the exact solver's answer).
    exact : zero-argument callable running the exact solver, or None when the instance is beyond
        its documented size. It is not called when the incumbent is already proven optimal.
    exact_name : solver name, used in the method text (``"ils (proven optimal by dp)"``).

    Returns
    -------
    Settled
        ``status`` is OPTIMAL when proven, TIME_LIMIT when the exact solver ran without proving,
        HEURISTIC when no exact solver ran; an optimal decision's bound equals its value, gap 0.
    """
    details: dict[str, Any] = {}
    if proven(value, bound):
        return Settled(solution, value, value, 0.0, Status.OPTIMAL, method, details)
    if exact is None:
        return Settled(solution, value, bound, relative_gap(value, bound), Status.HEURISTIC, method, details)
    out = exact()
    if out.message is not None:
        details["milp_status"] = out.message
    name = method
    if out.solution is not None:
        candidate = value_of(out.solution)
        if candidate > value + TOL * max(1.0, abs(value)):
            solution, value, name = out.solution, candidate, exact_name
    if out.bound is not None:
        bound = out.bound if bound is None else min(bound, out.bound)
    optimal = out.optimal or proven(value, bound)
    if name == method:
        name += f" (proven optimal by {exact_name})" if optimal else f" ({exact_name} stopped at time limit)"
    if optimal:
        return Settled(solution, value, value, 0.0, Status.OPTIMAL, name, details)
    return Settled(solution, value, bound, relative_gap(value, bound), Status.TIME_LIMIT, name, details)
