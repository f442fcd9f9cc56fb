"""The record every decision solver returns: solution plus objective value, bound and proof status."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["Decision", "relative_gap", "json_float"]


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
        The decision itself (dict, list of groups, order), in the shape the SPEC function returns.
    value : float
        Objective value of ``solution`` recomputed from the graph weights (not the solver's number).
    objective : str
        The maximized objective in words, with its formula.
    optimal : bool
        True only when the value is proven optimal (exact algorithm, or MILP status "optimal").
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

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary for ``plan.json["objectives"]`` (plain floats, None for unknown)."""
        out: dict[str, Any] = {
            "value": json_float(self.value),
            "objective": self.objective,
            "optimal": bool(self.optimal),
            "bound": json_float(self.bound),
            "gap": json_float(self.gap),
            "method": self.method,
            "seconds": round(float(self.seconds), 6),
        }
        for key, val in self.details.items():
            out[key] = json_float(val) if isinstance(val, float) else val
        return out
