"""Which characters a task or source name may hold: the ones every output file carries unchanged.

A name becomes a graph node (``graph.graphml``: XML), a field of ``scores.csv``, a key of
``plan.json`` and a line of ``report.md``. Control characters break those files: XML 1.0 cannot
carry U+0000-U+001F (except tab and line ends, which its parsers turn into spaces or ``\\n``), a
carriage return ends a CSV record for many readers, and a line break splits a report line. So a
name may not contain a character of the Unicode categories ``Cc`` (the C0 controls
U+0000-U+001F, DEL U+007F and the C1 controls U+0080-U+009F, which include NEL U+0085), ``Cs``
(lone surrogates, which UTF-8 cannot encode), ``Zl``/``Zp`` (U+2028, U+2029) or the XML
non-characters U+FFFE/U+FFFF. Such names are refused where they enter (``Task``, ``Source``,
the config, a score table read back), never escaped: an escaped name would come back different.

Every other character (spaces, edge spaces, commas, quotes, ``#``, names that look like numbers
such as ``"001"`` or ``"nan"``) round-trips through the files (the readers give names as strings).
"""
from __future__ import annotations

import unicodedata
from typing import Any, Iterable

from transfergraph.planner.common.exceptions import InputError

__all__ = ["name_problem", "check_name_characters", "bad_names"]

_REFUSED_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")
_NONCHARACTERS = ("\ufffe", "\uffff")


def _refused(c: str) -> bool:
    return c in _NONCHARACTERS or unicodedata.category(c) in _REFUSED_CATEGORIES


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be written to the output files, or None when it can.

    Examples
    --------
    >>> name_problem("001") is None and name_problem(" padded ") is None
    True
    >>> name_problem("a\\rb")
    "contains the control character '\\\\r' (U+000D) at position 1"
    """
    for i, c in enumerate(name):
        if _refused(c):
            return f"contains the control character {c!r} (U+{ord(c):04X}) at position {i}"
    return None


_WHY = ("names become graph nodes and CSV fields, which cannot carry control characters (U+0000-U+001F, "
        "U+007F-U+009F), line separators or lone surrogates; rename it")


def check_name_characters(name: Any, argument: str) -> Any:
    """``name`` unchanged when it is not a string or its characters are safe; else :class:`InputError`.

    ``argument`` names where the name came from (``"name of Task"``, ``"task of Source 'm'"``).
    """
    if isinstance(name, str):
        problem = name_problem(name)
        if problem:
            raise InputError(f"{argument} {problem}: got {name!r}; {_WHY}.")
    return name


def bad_names(values: Iterable[Any]) -> list[tuple[int, str, str]]:
    """``(position, name, problem)`` of every string of ``values`` that :func:`name_problem` refuses."""
    out = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            problem = name_problem(v)
            if problem:
                out.append((i, v, problem))
    return out
