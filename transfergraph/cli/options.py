"""Parsing of the command line's paths and numbers.

* :func:`path_option`: the callback of every path option and argument; a leading ``~`` becomes the home
  folder (:func:`transfergraph.planner.common.io.expand_home`), also where the shell left it (quoted, or
  ``--out=~/x``).
* :func:`number`: the ``parser`` of every numeric option. typer's own range check says only "Input should
  be greater than or equal to 1"; this one names the option, the allowed range and the value given, in
  the format of the command line's other errors (:class:`OptionValueError`)::

      transfergraph: error: Invalid value for '--workers': must be an integer >= 1; got 0.

  (exit code 2, as every usage error).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

import click
import typer

__all__ = ["path_option", "number", "OptionValueError"]


class OptionValueError(typer.BadParameter):
    """A bad option value (exit code 2), printed as the command line's other errors, one line on stderr:
    ``transfergraph: error: Invalid value for '--top-k': must be an integer >= 1; got 0.`` (Click's own
    format adds the usage line and ``Error:``)."""

    def show(self, file=None) -> None:
        click.echo(f"transfergraph: error: {self.format_message()}", file=file, err=file is None)


def path_option(value: Optional[Path]) -> Optional[Path]:
    """A path option's value with a leading ``~`` expanded (``None`` stays ``None``)."""
    from transfergraph.planner.common.io import expand_home

    return expand_home(value)


def _range_text(low: Optional[float], high: Optional[float], low_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}]"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" <= {high:g}"
    return ""


def number(flag: str, kind: type = int, *, low: Optional[float] = None, high: Optional[float] = None,
           low_open: bool = False) -> Callable[[str], float]:
    """A typer ``parser`` reading ``flag``'s text as ``kind`` (``int`` or ``float``) in ``[low, high]``
    (``(low, high]`` with ``low_open``; either bound may be None). Floats must be finite.

    Raises :class:`OptionValueError` (exit 2), which reads ``transfergraph: error: Invalid value for 'FLAG':
    must be an integer >= 1; got 0.``: the option, the range and the text given, for a non-number as for a
    number out of range.
    """
    expected = ("an integer" if kind is int else "a number") + _range_text(low, high, low_open)

    def parse(text: str):
        if isinstance(text, kind) and not isinstance(text, bool):  # a default or a programmatic value
            value = text
        else:
            try:
                value = kind(str(text).strip())
            except ValueError:
                raise OptionValueError(f"must be {expected}; got {str(text)!r}.", param_hint=f"'{flag}'") from None
        below = low is not None and (value <= low if low_open else value < low)
        if (kind is float and not math.isfinite(value)) or below or (high is not None and value > high):
            raise OptionValueError(f"must be {expected}; got {text}.", param_hint=f"'{flag}'")
        return value

    return parse
