"""Rendering: ``report.md``, its figures, the decisions section and the validation section.

Nothing here computes a score or a decision; every function renders tables, graphs and plans that
the library already produced. Names load lazily, so ``import transfergraph.planner`` never imports matplotlib.
"""
from __future__ import annotations

from transfergraph.planner._lazy import lazy_attributes

_LAZY = {
    "write_report": "transfergraph.planner.report.outputs",
    "write_figures": "transfergraph.planner.report.outputs",
    "render_report": "transfergraph.planner.report.document",
    "markdown_table": "transfergraph.planner.report.document",
    "read_artifacts": "transfergraph.planner.report.artifacts",
    "read_scores": "transfergraph.planner.report.artifacts",
    "plot_heatmap": "transfergraph.planner.report.scores_figure",
    "score_matrix": "transfergraph.planner.report.scores_figure",
    "plot_graph": "transfergraph.planner.report.graph_figure",
    "explain_plan": "transfergraph.planner.report.explain",
    "plot_groups": "transfergraph.planner.report.decision_figures",
    "plot_curriculum": "transfergraph.planner.report.decision_figures",
    "validation_report": "transfergraph.planner.report.validation",
    "write_validation_outputs": "transfergraph.planner.report.validation_outputs",
    "level_table": "transfergraph.planner.report.validation_figures",
    "plot_levels": "transfergraph.planner.report.validation_figures",
    "plot_scatter": "transfergraph.planner.report.validation_figures",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes("transfergraph.planner.report", _LAZY, globals())
