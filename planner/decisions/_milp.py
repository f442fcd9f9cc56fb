"""A thin, deterministic wrapper around ``scipy.optimize.milp`` (HiGHS) for maximization."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["MilpOutcome", "maximize_milp", "MIP_REL_GAP"]

#: relative MIP gap at which HiGHS may stop and call the solution optimal
MIP_REL_GAP = 1e-7


@dataclass(frozen=True)
class MilpOutcome:
    """``x`` (or None), ``optimal`` (HiGHS status 0), ``bound`` (upper bound on the max, or None)."""

    x: np.ndarray | None
    optimal: bool
    bound: float | None
    status: int
    message: str


def maximize_milp(
    c: np.ndarray,
    A,
    lb: np.ndarray,
    ub: np.ndarray,
    integrality: np.ndarray,
    *,
    time_limit: float,
    var_lb: np.ndarray | None = None,
    var_ub: np.ndarray | None = None,
) -> MilpOutcome:
    r"""Maximize :math:`c^\top x` s.t. :math:`lb \le A x \le ub`, :math:`var\_lb \le x \le var\_ub`.

    Parameters
    ----------
    c : (N,) objective; A : (M, N) sparse or dense; lb, ub : (M,); integrality : (N,) 0/1.
    time_limit : float
        Seconds given to HiGHS. Single-threaded HiGHS on the same input is deterministic.
    """
    n = len(c)
    bounds = Bounds(np.zeros(n) if var_lb is None else var_lb, np.ones(n) if var_ub is None else var_ub)
    options = {"time_limit": float(max(time_limit, 1e-3)), "mip_rel_gap": MIP_REL_GAP, "disp": False}
    res = milp(
        -np.asarray(c, dtype=float),
        integrality=integrality,
        bounds=bounds,
        constraints=LinearConstraint(A, lb, ub),
        options=options,
    )
    dual = getattr(res, "mip_dual_bound", None)
    bound = None
    if dual is not None and math.isfinite(float(dual)):
        bound = -float(dual)
    x = None if res.x is None else np.asarray(res.x)
    return MilpOutcome(x=x, optimal=res.status == 0, bound=bound, status=int(res.status), message=str(res.message))
