"""Markdown tables for ``report.md``: one renderer for rows of strings and one for a DataFrame on top of it."""
from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

__all__ = ["markdown_table", "frame_table", "md"]


_MARKDOWN = re.compile(r"([\\`*\[\]<>|#~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md(name: object) -> str:
    """``name`` as literal markdown text: the characters markdown would read as emphasis, code, links,
    HTML or table cells (``\\ ` * [ ] < > | # ~``, and ``_`` except between letters or digits, where
    it never starts emphasis) are backslash-escaped, so a task named ``a|b`` or ``*x*`` reads as itself in
    report.md (outside code spans)."""
    return _MARKDOWN.sub(r"\\\1", str(name))


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table: a header line, a ``|---|`` rule and one line per row
    (cells are written as given)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def frame_table(df: pd.DataFrame, *, floatfmt: str = ".3f") -> str:
    """Render a small DataFrame as a GitHub markdown table (no optional dependency): floats with
    ``floatfmt`` (NaN as an empty cell), anything else with ``str``, ``|`` escaped."""
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else format(v, floatfmt)
        return str(v).replace("|", "\\|")

    return markdown_table([str(c) for c in df.columns], [[fmt(v) for v in row] for row in df.itertuples(index=False)])
