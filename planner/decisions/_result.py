"""The record every decision solver returns: solution plus objective value, bound and proof status."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

__all__ = ["Decision", "Status", "relative_gap", "json_float"]


class Status(str, Enum):
    """How far a decision's value is proven.

    - ``OPTIMAL``: proven optimal (an exact algorithm, or the bound met the value).
    - ``TIME_LIMIT``: an exact solver ran and stopped at its time limit; value and bound are its best.
    - ``HEURISTIC``: no exact solver ran (the instance is beyond its documented size); value and bound
      come from the heuristic and its relaxation.
    """

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    HEURISTIC = "heuristic"


def json_float(x: Any) -> float | None:
    """``float(x)``, or ``None`` when ``x`` is None, NaN or infinite (plan.json has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def relative_gap(value: float, bound: float | None) -> float | None:
    r"""Relative optimality gap :math:`(\text{bound} - \text{value}) / \max(|\text{bound}|, 10^{-12})`.

    ``bound`` is an upper bound on the maximum; the gap is clipped at 0 (rounding) and is ``None``
    when no finite bound is known.
    """
    if bound is None or not math.isfinite(bound):
        return None
    return max(0.0, (bound - value) / max(abs(bound), 1e-12))


@dataclass(frozen=True)
class Decision:
    """Outcome of one decision solver.

    Attributes
    ----------
    name : str
        ``"source_set"``, ``"groups"`` or ``"curriculum"``.
    solution : Any
        The decision itself (dict, list of groups, order), in the shape the public decision function returns.
    value : float
        Objective value of ``solution`` recomputed from the graph weights (not the solver's number).
    objective : str
        The maximized objective in words, with its formula.
    optimal : bool
        True only when the value is proven optimal (exact algorithm, or MILP status "optimal").
        Kept in step with ``status`` (``optimal`` is ``status is Status.OPTIMAL``).
    bound : float or None
        Proven upper bound on the optimum (equals ``value`` when optimal; None when unknown).
    gap : float or None
        :func:`relative_gap` of ``value`` against ``bound``.
    method : str
        Algorithm that produced ``solution`` (e.g. ``"milp"``, ``"greedy+swap"``, ``"edmonds"``).
    seconds : float
        Wall time of the solver.
    details : Mapping
        Extra JSON-ready facts (heuristic value, column counts, centering, MILP status ...).
    status : Status
        How far ``value`` is proven. When not given it is ``OPTIMAL`` if ``optimal``, else
        ``TIME_LIMIT`` if an exact solver reported (``details["milp_status"]``), else ``HEURISTIC``.
    """

    name: str
    solution: Any
    value: float
    objective: str
    optimal: bool
    bound: float | None
    gap: float | None
    method: str
    seconds: float
    details: Mapping[str, Any] = field(default_factory=dict)
    status: Status | None = None

    def __post_init__(self) -> None:
        status = self.status
        if status is None:
            status = (Status.OPTIMAL if self.optimal
                      else Status.TIME_LIMIT if "milp_status" in self.details else Status.HEURISTIC)
        object.__setattr__(self, "status", Status(status))
        object.__setattr__(self, "optimal", self.status is Status.OPTIMAL)

    @classmethod
    def from_json(cls, name: str, obj: Mapping[str, Any], solution: Any = None) -> "Decision":
        """Inverse of :meth:`to_json` (``solution`` comes from the plan's own keys)."""
        known = ("value", "objective", "optimal", "bound", "gap", "method", "seconds", "status")
        return cls(
            name=name, solution=solution, value=obj.get("value"), objective=obj.get("objective", ""),
            optimal=bool(obj.get("optimal")), bound=obj.get("bound"), gap=obj.get("gap"),
            method=obj.get("method", ""), seconds=float(obj.get("seconds") or 0.0),
            details={k: v for k, v in obj.items() if k not in known}, status=obj.get("status"),
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary for ``plan.json["objectives"]`` (plain floats, None for unknown)."""
        out: dict[str, Any] = {
            "value": json_float(self.value),
            "objective": self.objective,
            "optimal": bool(self.optimal),
            "status": self.status.value,
            "bound": json_float(self.bound),
            "gap": json_float(self.gap),
            "method": self.method,
            "seconds": round(float(self.seconds), 6),
        }
        for key, val in self.details.items():
            out[key] = json_float(val) if isinstance(val, float) else val
        return out
