"""Matplotlib through its object API only: a ``Figure`` of its own, saved atomically.

No pyplot and no ``matplotlib.use``: the caller's backend (a notebook's inline backend, a GUI) is
never switched, and figures are never registered in pyplot's global figure list.
"""
from __future__ import annotations

import os
from pathlib import Path

from transfergraph.planner.common.io import atomic_write_with

__all__ = ["new_figure", "save_png", "DPI"]

#: resolution of every PNG the report writes
DPI = 110


def new_figure(width: float, height: float):  # noqa: ANN201 - matplotlib is imported lazily
    """A ``matplotlib.figure.Figure`` of ``width`` x ``height`` inches with constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(float(width), float(height)), dpi=DPI, layout="constrained")


def save_png(fig, path: str | os.PathLike) -> Path:  # noqa: ANN001
    """Write ``fig`` to ``path`` as PNG (atomically: readers never see a half-written file)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    path = Path(path)
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))
    return path
