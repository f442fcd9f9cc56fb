"""Checks of scalar options (counts, tolerances, seeds, choices), in the style of scikit-learn's
``sklearn.utils.check_scalar``, with two differences: ``bool`` is never accepted where a number is
expected (``True`` is an ``int`` to Python, but ``k=True`` is a mistake, not ``k=1``), and every
failure is an :class:`transfergraph.planner.common.exceptions.InputError` (a ``ValueError``) whose message names the
argument, the function it was passed to, what was expected and what was given, e.g.::

    samples_per_class of make_taskset() must be an int >= 1; got 0 (int).

Array inputs (probabilities, features, labels) are checked by :mod:`transfergraph.planner.common.checks`.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np

from transfergraph.planner.common.exceptions import InputError

__all__ = ["check_scalar", "check_choice", "check_bool", "check_int_sequence"]

_KINDS = {int: ("an int", numbers.Integral), float: ("a float", numbers.Real)}


def _given(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _bounds_text(min_val: Any, max_val: Any, include: str) -> str:
    lo_op = ">=" if include in ("both", "left") else ">"
    hi_op = "<=" if include in ("both", "right") else "<"
    if min_val is not None and max_val is not None:
        lo_br = "[" if lo_op == ">=" else "("
        hi_br = "]" if hi_op == "<=" else ")"
        return f" in {lo_br}{min_val}, {max_val}{hi_br}"
    if min_val is not None:
        return f" {lo_op} {min_val}"
    if max_val is not None:
        return f" {hi_op} {max_val}"
    return ""


def check_scalar(
    value: Any,
    name: str,
    target_type: type,
    *,
    caller: str,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: str = "both",
    allow_none: bool = False,
) -> Any:
    """Return ``value`` as a Python ``int`` or ``float`` after checking its type and range.

    Parameters
    ----------
    value : object
        What the user passed.
    name : str
        The argument's name, as the user spells it (``"max_iter"``).
    target_type : {int, float}
        ``int`` accepts integral numbers (Python or NumPy ints); ``float`` accepts any real number
        (ints included) that is finite. ``bool`` is rejected for both.
    caller : str
        The public function or class the argument was passed to (``"logme"``).
    min_val, max_val : number, optional
        Bounds; ``include_boundaries`` ("both", "left", "right", "neither") says which are allowed.
    allow_none : bool, default False
        Whether ``None`` is accepted (returned as is).

    Returns
    -------
    int or float
        ``int(value)`` or ``float(value)``.

    Raises
    ------
    InputError
        Wrong type (bools and strings included), NaN/inf for a float, or out of range.
    """
    if include_boundaries not in ("both", "left", "right", "neither"):
        raise InputError(
            f"include_boundaries of check_scalar() must be 'both', 'left', 'right' or 'neither'; "
            f"got {include_boundaries!r}."
        )
    if value is None and allow_none:
        return None
    kind, abc = _KINDS[target_type]
    expected = kind + _bounds_text(min_val, max_val, include_boundaries) + (" or None" if allow_none else "")
    where = f"{name} of {caller}()"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, abc):
        raise InputError(f"{where} must be {expected}; got {_given(value)}.")
    out = int(value) if target_type is int else float(value)
    if target_type is float and not math.isfinite(out):
        raise InputError(f"{where} must be {expected} (finite); got {_given(value)}.")
    low_ok = min_val is None or (out >= min_val if include_boundaries in ("both", "left") else out > min_val)
    high_ok = max_val is None or (out <= max_val if include_boundaries in ("both", "right") else out < max_val)
    if not (low_ok and high_ok):
        raise InputError(f"{where} must be {expected}; got {_given(value)}.")
    return out


def check_choice(value: Any, name: str, options: Sequence[Any], *, caller: str) -> Any:
    """Return ``value`` if it is one of ``options`` (compared with ``==``, bools never match)."""
    if not isinstance(value, (bool, np.bool_)) and any(value == o and type(value) is type(o) for o in options):
        return value
    shown = ", ".join(repr(o) for o in options)
    raise InputError(f"{name} of {caller}() must be one of {shown}; got {_given(value)}.")


def check_bool(value: Any, name: str, *, caller: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (NumPy bools included); 0/1 are rejected."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{name} of {caller}() must be True or False; got {_given(value)}.")


def check_int_sequence(
    values: Any, name: str, *, caller: str, min_val: int = 1, max_val: int | None = None
) -> list[int]:
    """Return a non-empty sequence of ints (each checked by :func:`check_scalar`) as a list.

    A bare int is rejected (``ways=3`` where a list is expected is reported, not iterated).
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or isinstance(values, numbers.Number):
        raise InputError(
            f"{name} of {caller}() must be a non-empty sequence of ints"
            f"{_bounds_text(min_val, max_val, 'both')}; got {_given(values)}."
        )
    items = list(values)
    if not items:
        raise InputError(f"{name} of {caller}() must be a non-empty sequence of ints; got an empty {type(values).__name__}.")
    return [
        check_scalar(v, f"{name}[{i}]", int, caller=caller, min_val=min_val, max_val=max_val)
        for i, v in enumerate(items)
    ]
