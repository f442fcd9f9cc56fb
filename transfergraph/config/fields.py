"""Strict scalar types of the job configuration and the formatting of its validation errors.

pydantic's default (lax) mode turns ``true`` into ``1``, ``"3"`` into ``3`` and ``2.0`` into ``2``,
so a misspelt value in a YAML file would run silently with another meaning. Every integer and
boolean field of the config is therefore strict: an integer field accepts only an integer, a boolean
field only ``true``/``false``, a number field an integer or a float (never a boolean or a string).
Other fields (strings, paths) keep pydantic's usual validation.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Strict, ValidationError

__all__ = ["SInt", "SFloat", "SBool", "format_errors"]

#: an integer (``true``, ``"3"`` and ``2.0`` rejected)
SInt = Annotated[int, Strict()]
#: a number: an integer or a float (``true`` and ``"0.1"`` rejected)
SFloat = Annotated[float, Strict()]
#: ``true`` or ``false`` (``1`` and ``"yes"`` rejected)
SBool = Annotated[bool, Strict()]

_EXPECTED = {"int_type": "an integer", "float_type": "a number", "bool_type": "a boolean (true or false)",
             "string_type": "a string", "literal_error": None}
_UNION_TAGS = {"int": "int_type", "float": "float_type", "bool": "bool_type", "str": "string_type"}


def _given(value: Any) -> str:
    """``bool True``, ``str '3'``, ``float 2.0``, ``null``: the YAML value and its type."""
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r:.80}"


def _merge_unions(errors: list[dict]) -> list[tuple[tuple, str, str, Any]]:
    """(loc, type, message, input) per error; the per-member errors of one union value become one."""
    out: list[tuple[tuple, str, str, Any]] = []
    for e in errors:
        loc, kind = tuple(e["loc"]), e["type"]
        tag = loc[-1] if loc else None
        if isinstance(tag, str) and _UNION_TAGS.get(tag) == kind:
            what = _EXPECTED[kind]
            if out and out[-1][0] == loc[:-1] and out[-1][1] == "union":
                prev = out[-1]
                out[-1] = (prev[0], "union", f"{prev[2]} or {what}", prev[3])
            else:
                out.append((loc[:-1], "union", what, e.get("input")))
            continue
        out.append((loc, kind, e["msg"], e.get("input")))
    return out


def format_errors(err: ValidationError, source: str) -> str:
    """One line per invalid key: its dotted path, what was expected and what was given."""
    lines = []
    for loc, kind, msg, given in _merge_unions(err.errors()):
        where = ".".join(str(p) for p in loc).replace("validate_", "validate") or "(top level)"
        if kind in ("union",) or _EXPECTED.get(kind):
            msg = f"expected {_EXPECTED.get(kind) or msg}; got {_given(given)}"
        elif kind == "extra_forbidden":
            msg = "unknown key (check the spelling; see configs/demo.yaml for every key)"
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = msg.removeprefix("Value error, ")
            if not isinstance(given, dict) and f"{given!r}" not in msg:
                msg = f"{msg} (got {_given(given)})"
        lines.append(f"  - {where}: {msg}")
    return f"invalid config {source}:\n" + "\n".join(lines)
