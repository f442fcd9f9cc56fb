"""Counts in messages: ``1 seed``, ``2 seeds`` (:func:`count`)."""
from __future__ import annotations

__all__ = ["count"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``"{n} {noun}"`` with the noun in the plural unless ``n`` is 1 (``plural``, default ``noun + "s"``);
    e.g. ``count(1, "seed") == "1 seed"``, ``count(0, "pair network") == "0 pair networks"``."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
