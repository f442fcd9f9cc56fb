"""Strict scalar types of the job configuration and the formatting of its validation errors.

pydantic's default (lax) mode turns ``true`` into ``1``, ``"3"`` into ``3`` and ``2.0`` into ``2``,
so a misspelt value in a YAML file would run silently with another meaning. Every integer and
boolean field of the config is therefore strict: an integer field accepts only an integer, a boolean
field only ``true``/``false``, a number field a finite integer or float (never a boolean, a string,
``.inf`` or ``.nan``).
A path field (:data:`ConfigPath`) has a leading ``~`` expanded to the home folder, as a shell would;
other string fields keep pydantic's usual validation.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Union

from pydantic import AfterValidator, AllowInfNan, Strict, ValidationError

__all__ = ["SInt", "SFloat", "SBool", "TaskName", "ModelName", "ConfigPath", "CacheSetting", "format_errors",
           "config_name_problem"]

#: an integer (``true``, ``"3"`` and ``2.0`` rejected)
SInt = Annotated[int, Strict()]
#: a finite number: an integer or a float (``true``, ``"0.1"``, ``.inf`` and ``.nan`` rejected)
SFloat = Annotated[float, Strict(), AllowInfNan(False)]
#: ``true`` or ``false`` (``1`` and ``"yes"`` rejected)
SBool = Annotated[bool, Strict()]


def _expand_home(value: Any) -> Any:
    from transfergraph.planner.common.io import expand_home

    return expand_home(value) if isinstance(value, str) else value


#: a file or folder path: a string whose leading ``~`` (``~user``) becomes the home folder
#: (:func:`transfergraph.planner.common.io.expand_home`), e.g. ``root: ~/data``
ConfigPath = Annotated[str, AfterValidator(_expand_home)]
#: a cache setting: a folder (a :data:`ConfigPath`), ``true`` (the default folder), ``false`` or null (none);
#: the expansion runs after the union, so a wrong type still reads "expected a string or a boolean"
CacheSetting = Annotated[Union[str, SBool, None], AfterValidator(_expand_home)]

_EXPECTED = {"int_type": "an integer", "float_type": "a number", "bool_type": "a boolean (true or false)",
             "string_type": "a string", "finite_number": "a finite number", "literal_error": None}
#: strings that YAML 1.1 would have read as numbers (octal 010, 0o10, 0x1F, 1_000, base-60 1:30)
_YAML11_NUMBER = re.compile(r"^[-+]?(?:0[0-9_]+(?:\.[0-9_]*)?|0[oObBxX][0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
                            r"|[0-9]*_[0-9_]*(?:\.[0-9_]*)?)$")
_UNION_TAGS = {"int": "int_type", "float": "float_type", "bool": "bool_type", "str": "string_type"}


def config_name_problem(name: str) -> str | None:
    """Why a config name (a task's or an external model's) is refused, or None. Besides the characters no
    output file can carry (:func:`transfergraph.planner.common.names.name_problem`), config names become
    file names and comma-joined lists, so ``/``, ``\\``, ``,``, quotes and edge spaces are refused too."""
    from transfergraph.planner.common.names import name_problem

    problem = name_problem(name)
    if problem:
        return f"names may not contain control characters; this one {problem}"
    if any(c in name for c in "/\\,\"") or name.strip() != name:
        return "names may not contain / \\ , quotes, tabs, newlines or edge spaces"
    return None


def _config_name(kind: str) -> Any:
    """The type of a ``kind`` name (a task's or an external model's): a string that
    :func:`config_name_problem` accepts; a refused one fails validation with ``"{kind} {problem}"``."""
    def check(value: str) -> str:
        problem = config_name_problem(value)
        if problem:
            raise ValueError(f"{kind} {problem}")
        return value

    return Annotated[str, AfterValidator(check)]


#: A task's name in the config (checked by :func:`config_name_problem`).
TaskName = _config_name("task")
#: An external model's name in the config (checked by :func:`config_name_problem`).
ModelName = _config_name("model")


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
        if isinstance(tag, str) and (_UNION_TAGS.get(tag) == kind or (tag, kind) == ("float", "finite_number")):
            what = _EXPECTED[kind]
            if out and out[-1][0] == loc[:-1] and out[-1][1] == "union":
                prev = out[-1]
                out[-1] = (prev[0], "union", f"{prev[2]} or {what}", prev[3])
            else:
                out.append((loc[:-1], "union", what, e.get("input")))
            continue
        out.append((loc, kind, e["msg"], e.get("input")))
    return out


#: pydantic's numeric-bound error kinds (their message is "Input should be greater than 0", without the value)
_BOUND_KINDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of")


def format_errors(err: ValidationError, source: str) -> str:
    """One line per invalid key: its dotted path, what was expected and what was given."""
    lines = []
    for loc, kind, msg, given in _merge_unions(err.errors()):
        where = ".".join(str(p) for p in loc).replace("validate_", "validate") or "(top level)"
        if kind in ("union",) or _EXPECTED.get(kind):
            msg = f"expected {_EXPECTED.get(kind) or msg}; got {_given(given)}"
            if kind == "union" and "a string" in msg and isinstance(given, (bool, float)):  # classes: [1e5]
                msg += (f" (YAML reads the unquoted value as a {type(given).__name__}: to give a name, quote it "
                        "exactly as written, e.g. classes: [\"1e5\"])")
            elif kind == "string_type" and isinstance(given, (bool, int, float)):  # e.g. name: 0.50 or name: true
                msg += (f" (YAML reads the unquoted value as a {type(given).__name__}: quote it exactly as you mean "
                        "it, e.g. name: \"0.50\", to keep it as text)")
            elif kind in ("int_type", "float_type", "union") and isinstance(given, str) and _YAML11_NUMBER.match(given):
                msg += (" (a number with leading zeros, a 0o/0x/0b prefix, underscores or colons is read as the text "
                        "it is, not as YAML 1.1 would convert it; write a plain decimal number)")
        elif kind == "extra_forbidden":
            msg = "unknown key (check the spelling; see configs/demo.yaml for every key)"
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = msg.removeprefix("Value error, ")
            # a bound's message names the bound, never the value: "greater than 0" must still say "(got 0)"
            if not isinstance(given, dict) and (kind in _BOUND_KINDS or f"{given!r}" not in msg):
                msg = f"{msg} (got {_given(given)})"
        lines.append(f"  - {where}: {msg}")
    return f"invalid config {source}:\n" + "\n".join(lines)
