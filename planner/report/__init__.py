"""Rendering: ``report.md``, its figures, the decisions section and the validation section.

Nothing here computes a score or a decision; every function renders tables, graphs and plans that
the library already produced. Names load lazily, so ``import planner`` never imports matplotlib.
"""
from __future__ import annotations

from .._lazy import lazy_attributes

_LAZY = {
    "write_report": "planner.report.outputs",
    "write_figures": "planner.report.outputs",
    "render_report": "planner.report.document",
    "markdown_table": "planner.report.document",
    "read_artifacts": "planner.report.artifacts",
    "read_scores": "planner.report.artifacts",
    "plot_heatmap": "planner.report.scores_figure",
    "score_matrix": "planner.report.scores_figure",
    "plot_graph": "planner.report.graph_figure",
    "explain_plan": "planner.report.explain",
    "plot_groups": "planner.report.decision_figures",
    "plot_curriculum": "planner.report.decision_figures",
    "validation_report": "planner.report.validation",
    "level_table": "planner.report.validation_figures",
    "plot_levels": "planner.report.validation_figures",
    "plot_scatter": "planner.report.validation_figures",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes("planner.report", _LAZY, globals())
